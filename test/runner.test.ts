/**
 * The one executor: zx's `$` bound to a host. Every awkward value — quotes of both kinds, `$(…)`,
 * backticks, newlines, spaces, globs, leading dashes, an empty word — reaches the command as one
 * word and is never run by a shell, here (bash) and over a real sshd whose login shell is dash.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { $ } from 'zx';
import { CommandFailed, localRunner, sshRunner, type Runner } from '../lib/runner.ts';
import { parseSshTarget, remoteShellLine, sshCommand } from '../lib/ssh.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';

// A folder every user may write to (the ssh test user is not root), so that an injected
// `touch` would leave a trace there whichever side ran it.
const traces = mkdtempSync(join(tmpdir(), 'cleanup-injection-'));
chmodSync(traces, 0o1777);
const trace = (name: string) => join(traces, name);

/** Names a user could give, each of which a shell pasting strings would run or split. */
function awkwardNames(): string[] {
  return [
    "it's",
    'say "hi"',
    `$(touch ${trace('dollar')})`,
    `\`touch ${trace('backtick')}\``,
    `a; touch ${trace('semicolon')}`,
    `x' ; touch ${trace('single')} ; '`,
    `x" ; touch ${trace('double')} ; "`,
    'line one\nline two',
    'a b\tc',
    '*',
    '/etc/*',
    '-rf',
    '--',
    '$HOME',
    '\\',
    '',
    'ünï',
  ];
}

const nulSeparated = (stdout: string) => stdout.split('\0').slice(0, -1);

/** Runs every injection form against one host and asserts each name arrived whole. */
async function assertNamesArriveWhole(host: Runner): Promise<void> {
  const names = awkwardNames();
  // An array is quoted word by word.
  assert.equal(nulSeparated((await host.$`printf '%s\\0' ${names}`).stdout), names);
  // A single value is one word wherever it stands, also before a literal part of the line.
  for (const name of names)
    assert.equal(nulSeparated((await host.$`printf '%s\\0' ${name} end`).stdout), [name, 'end'], JSON.stringify(name));
  // A command built as a value runs through the same executor.
  assert.equal(nulSeparated((await host.run(['printf', '%s\\0', ...names])).stdout), names);
  assert.equal(readdirSync(traces), [], 'no injected command ran');
}

test('parseSshTarget reads user, host and port', () => {
  assert.equal(parseSshTarget('aisha@prod-1'), { user: 'aisha', host: 'prod-1' });
  assert.equal(parseSshTarget('aisha@prod-1:2222'), { user: 'aisha', host: 'prod-1', port: 2222 });
  assert.equal(parseSshTarget('[::1]:22'), { host: '::1', port: 22 });
  assert.is(parseSshTarget('a@b@c'), undefined);
  assert.is(parseSshTarget('host:99999'), undefined);
});

test('sshCommand keeps host key checking on, reuses one connection, and hands the shell only base64', () => {
  const argv = sshCommand(
    { user: 'aisha', host: 'prod-1', port: 2222, knownHostsFile: '/k' },
    '/tmp/cm/%C',
    `docker ps --format $'{{json .}}'`,
  );
  const text = argv.join(' ');
  assert.ok(text.includes('StrictHostKeyChecking=yes'));
  assert.ok(text.includes('UserKnownHostsFile=/k'));
  assert.ok(text.includes('ControlMaster=auto'));
  assert.ok(text.includes('ControlPath=/tmp/cm/%C'));
  assert.equal(argv.slice(argv.indexOf('-p'), argv.indexOf('-p') + 4), ['-p', '2222', '-l', 'aisha']);
  assert.equal(argv.slice(-3, -1), ['prod-1', '--']);
  const encoded = /^line="\$\(echo ([A-Za-z0-9+/=]+) \| base64 -d\)" && exec bash --norc -c "\$line"$/.exec(
    argv.at(-1)!,
  );
  assert.ok(encoded, argv.at(-1));
  assert.is(Buffer.from(encoded[1], 'base64').toString(), `docker ps --format $'{{json .}}'`);
});

test('the remote line survives dash, which cannot read zx quoting itself', async () => {
  const names = awkwardNames();
  const line = $({ halt: true })`printf '%s\\0' ${names}`.cmd;
  const { stdout } = await localRunner().run(['dash', '-c', remoteShellLine(line)]);
  assert.equal(nulSeparated(stdout), names);
  assert.equal(readdirSync(traces), [], 'no injected command ran');
});

test('locally, every awkward name reaches the command as one word and nothing in it runs', async () => {
  await assertNamesArriveWhole(localRunner());
});

test('local options: stdin, an allowed failure, and a failure naming host, line and stderr', async () => {
  const host = localRunner();
  assert.is((await host.$({ input: 'through stdin\n' })`cat`).stdout, 'through stdin\n');
  assert.is((await host.$({ allowFailure: true })`sh -c ${'exit 3'}`).exitCode, 3);
  try {
    await host.$`sh -c ${'echo boom >&2; exit 7'}`;
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, CommandFailed);
    assert.match((error as Error).message, /^local: `sh -c \$'echo boom >&2; exit 7'` exited with 7:\s+boom/);
  }
});

test('input to a command that exits without reading it: its exit code counts, the closed pipe (EPIPE) does not crash the run', async () => {
  const host = localRunner();
  const unread = 'x'.repeat(5_000_000); // more than a pipe holds: the write is still going when `true` exits
  for (let i = 0; i < 3; i++) assert.is((await host.$({ input: unread })`true`).exitCode, 0);
  assert.is((await host.$({ input: unread, allowFailure: true })`sh -c ${'exit 4'}`).exitCode, 4);
});

test("bash reads no startup file: a user's ~/.bashrc that prints does not reach the output", async () => {
  const home = mkdtempSync(join(tmpdir(), 'cleanup-home-'));
  writeFileSync(join(home, '.bashrc'), 'echo FROM-BASHRC\n');
  const saved = { HOME: process.env.HOME, SHLVL: process.env.SHLVL };
  process.env.HOME = home;
  delete process.env.SHLVL; // as under npm run, where sh starts node without it
  try {
    assert.is((await localRunner().$`echo ${'hi'}`).stdout, 'hi\n');
  } finally {
    for (const [key, value] of Object.entries(saved))
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    rmSync(home, { recursive: true, force: true });
  }
});

let sshd: Sshd;
test.before(async () => {
  sshd = await startSshd();
});
test.after(async () => {
  await sshd?.stop();
  rmSync(traces, { recursive: true, force: true });
});

test('over ssh, every awkward name reaches the command as one word and nothing in it runs', async () => {
  const host = sshRunner(sshd.target);
  try {
    assert.match(
      (await host.$`echo $BASH_VERSION`).stdout,
      /^\d+\./,
      'the line runs in bash, not in the login shell (dash)',
    );
    await assertNamesArriveWhole(host);
    assert.is((await host.$({ input: 'through stdin\n' })`cat`).stdout, 'through stdin\n');
    assert.is((await host.$({ allowFailure: true })`sh -c ${'exit 3'}`).exitCode, 3);
    const failure = await host.$`sh -c ${'echo boom >&2; exit 7'}`.catch((error: unknown) => error);
    assert.instance(failure, CommandFailed);
    assert.match(
      (failure as Error).message,
      /^cleanup-ops@127\.0\.0\.1:\d+: `sh -c \$'echo boom >&2; exit 7'` exited with 7:\s+boom/,
    );
  } finally {
    await host.close();
  }
});

test('over ssh, one connection is reused for every command', async () => {
  const runner = sshRunner(sshd.target);
  try {
    // Each command's parent is the session's sshd; with a reused master, all report one sshd
    // connection process, whose own parent stays the same across commands.
    const first = await runner.$`sh -c ${'ps -o ppid= -p $PPID'}`;
    const second = await runner.$`sh -c ${'ps -o ppid= -p $PPID'}`;
    assert.is(first.stdout.trim(), second.stdout.trim());
  } finally {
    await runner.close();
  }
});

test('runners of one host share its connection, which closes with the last of them', async () => {
  // SSH_CONNECTION names the client's port: one TCP connection, one port.
  const port = async (runner: Runner) => (await runner.$`echo $SSH_CONNECTION`).stdout.split(' ')[1];
  const task = sshRunner(sshd.target);
  const audit = sshRunner(sshd.target);
  const shared = await port(task);
  assert.is(await port(audit), shared, 'the second runner goes over the first one’s connection');
  await audit.close();
  assert.is(await port(task), shared, 'closing one runner leaves the connection to the other');
  await task.close();
  const later = sshRunner(sshd.target);
  try {
    assert.is.not(await port(later), shared, 'once the last runner closed, a new one connects anew');
  } finally {
    await later.close();
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
