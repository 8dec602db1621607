import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commandLine, quotePosix } from '../lib/command.ts';
import { localRunner, parseSshTarget, sshCommand, sshRunner, CommandFailed } from '../lib/runner.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';

const awkward = ["it's", 'a b', '$HOME', '', '`id`', '*', 'a\nb', '\\', '"q"', '--', ';rm -rf /'];

test('quotePosix leaves plain words alone and single-quotes the rest', () => {
  assert.is(quotePosix('docker'), 'docker');
  assert.is(quotePosix('--format={{json .}}'), `'--format={{json .}}'`);
  assert.is(quotePosix("it's"), `'it'\\''s'`);
  assert.is(quotePosix(''), "''");
  assert.is(commandLine(['docker', 'rm', 'a b']), `docker rm 'a b'`);
});

test('a local command receives every argument exactly', async () => {
  const { stdout } = await localRunner().run(['printf', '%s\\0', ...awkward]);
  assert.equal(stdout.split('\0').slice(0, -1), awkward);
});

test('a failing command names the host, the command and its stderr', async () => {
  try {
    await localRunner().run(['sh', '-c', 'echo boom >&2; exit 7']);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, CommandFailed);
    assert.match((error as Error).message, /local: `sh -c 'echo boom >&2; exit 7'` exited with 7:\s+boom/);
  }
});

test('parseSshTarget reads user, host and port', () => {
  assert.equal(parseSshTarget('aisha@prod-1'), { user: 'aisha', host: 'prod-1' });
  assert.equal(parseSshTarget('aisha@prod-1:2222'), { user: 'aisha', host: 'prod-1', port: 2222 });
  assert.equal(parseSshTarget('[::1]:22'), { host: '::1', port: 22 });
  assert.is(parseSshTarget('a@b@c'), undefined);
  assert.is(parseSshTarget('host:99999'), undefined);
});

test('sshCommand keeps host key checking on and reuses one connection', () => {
  const argv = sshCommand({ user: 'aisha', host: 'prod-1', port: 2222, knownHostsFile: '/k' }, '/tmp/cm/%C', ['docker', 'ps', '--format', '{{json .}}']);
  const text = argv.join(' ');
  assert.ok(text.includes('StrictHostKeyChecking=yes'));
  assert.ok(text.includes('UserKnownHostsFile=/k'));
  assert.ok(text.includes('ControlMaster=auto'));
  assert.ok(text.includes('ControlPath=/tmp/cm/%C'));
  assert.equal(argv.slice(-3), ['prod-1', '--', `docker ps --format '{{json .}}'`]);
  assert.equal(argv.slice(argv.indexOf('-p'), argv.indexOf('-p') + 4), ['-p', '2222', '-l', 'aisha']);
});

let sshd: Sshd;
test.before(async () => {
  sshd = await startSshd();
});
test.after(async () => {
  await sshd?.stop();
});

test('over ssh, arguments survive the remote POSIX shell exactly', async () => {
  const runner = sshRunner(sshd.target);
  try {
    const { stdout } = await runner.run(['printf', '%s\\0', ...awkward]);
    assert.equal(stdout.split('\0').slice(0, -1), awkward);
    const { stdout: input } = await runner.run(['cat'], { input: 'through stdin\n' });
    assert.is(input, 'through stdin\n');
  } finally {
    await runner.close();
  }
});

test('over ssh, one connection is reused for every command', async () => {
  const runner = sshRunner(sshd.target);
  try {
    // Each command's parent is the session's sshd; with a reused master, all report one sshd
    // connection process, whose own parent stays the same across commands.
    const first = await runner.run(['sh', '-c', 'ps -o ppid= -p $PPID']);
    const second = await runner.run(['sh', '-c', 'ps -o ppid= -p $PPID']);
    assert.is(first.stdout.trim(), second.stdout.trim());
  } finally {
    await runner.close();
  }
});

test('an unknown host key is refused with how to trust it', async () => {
  const runner = sshRunner({ ...sshd.target, knownHostsFile: sshd.emptyKnownHostsFile });
  try {
    await runner.run(['true']);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.match((error as Error).message, /host key is not known/);
    assert.match((error as Error).message, /ssh-keyscan -p \d+ 127\.0\.0\.1 >> /);
  } finally {
    await runner.close();
  }
});

test('an unreachable host is named with a clear message', async () => {
  const runner = sshRunner({ ...sshd.target, port: await freePort() });
  try {
    await runner.run(['true']);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.match((error as Error).message, /127\.0\.0\.1:\d+: the host is unreachable/);
  } finally {
    await runner.close();
  }
});

test.run();
