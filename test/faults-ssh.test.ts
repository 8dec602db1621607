/**
 * ssh faults against a real sshd: a command that hangs is stopped at its timeout with the host
 * and command named; an unknown host key is trusted only when SSH_ACCEPT_NEW_HOST_KEYS says so;
 * a host whose key changed is refused with the `ssh-keygen -R '[host]:port'` line to run; a host
 * without bash or base64 is named with what to install, and nothing runs there.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandTimedOut, localRunner, sshRunner } from '../lib/runner.ts';
import { sshCommand, type SshTarget } from '../lib/ssh.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';

let dir: string;
let sshd: Sshd | undefined;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-faults-ssh-'));
});
test.after(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function failure(target: SshTarget, command: string[]): Promise<Error> {
  const runner = sshRunner(target);
  try {
    await runner.run(command);
  } catch (error) {
    return error as Error;
  } finally {
    await runner.close();
  }
  throw new Error(`\`${command.join(' ')}\` on ${target.host}:${target.port} should have failed`);
}

test('the ssh options: accept-new only when asked, and every connection bounded in time', () => {
  const target = { host: 'prod-1', port: 2222 };
  assert.ok(sshCommand(target, '/c', 'true').includes('StrictHostKeyChecking=yes'));
  assert.ok(
    sshCommand({ ...target, acceptNewHostKeys: true }, '/c', 'true').includes('StrictHostKeyChecking=accept-new'),
  );
  const line = sshCommand({ ...target, connectTimeoutSeconds: 7 }, '/c', 'true').join(' ');
  assert.match(line, /ConnectTimeout=7/);
  assert.match(line, /ServerAliveInterval=15/);
});

test('a local command that hangs is stopped at its timeout, named with its host', async () => {
  const started = Date.now();
  try {
    await localRunner().run(['sleep', '30'], { timeoutMs: 1_500 });
    assert.unreachable('should have timed out');
  } catch (error) {
    assert.instance(error, CommandTimedOut, String(error));
    assert.match((error as Error).message, /^local: `sleep 30` did not finish within 2 s/);
  }
  assert.ok(Date.now() - started < 20_000, 'stopped long before the command would end');
});

test('a remote command that hangs is stopped at the host timeout, named with host and command', async () => {
  sshd = await startSshd();
  const started = Date.now();
  const error = await failure({ ...sshd.target, commandTimeoutMs: 3_000 }, ['sleep', '60']);
  assert.instance(error, CommandTimedOut);
  assert.match(
    error.message,
    new RegExp(`^cleanup-ops@127\\.0\\.0\\.1:${sshd.target.port}: \`sleep 60\` did not finish within 3 s`),
  );
  assert.match(error.message, /SSH_COMMAND_TIMEOUT_SECONDS/);
  assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
});

test('an unknown key is trusted on first use only when asked; a changed key is refused with the ssh-keygen -R line', async () => {
  const first = sshd!;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, '');
  const target = { ...first.target, knownHostsFile: knownHosts };
  assert.match((await failure(target, ['true'])).message, /host key is not known/);

  const runner = sshRunner({ ...target, acceptNewHostKeys: true });
  try {
    assert.is((await runner.run(['echo', 'trusted'])).stdout.trim(), 'trusted');
  } finally {
    await runner.close();
  }
  // Recorded (Debian's ssh_config hashes host names, so ask ssh-keygen to find it).
  assert.match(
    execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${target.port}`, '-f', knownHosts], { encoding: 'utf8' }),
    /ssh-ed25519/,
  );

  // The same host and port come back with a new host key (a reinstall, or someone in between).
  const clientKey = join(dir, 'client_ed25519');
  copyFileSync(first.target.identityFile!, clientKey);
  copyFileSync(`${first.target.identityFile!}.pub`, `${clientKey}.pub`);
  await first.stop();
  sshd = await startSshd({ port: target.port, clientKey });
  for (const accept of [false, true]) {
    const changed = await failure({ ...target, identityFile: clientKey, acceptNewHostKeys: accept }, ['true']);
    assert.match(changed.message, /host key has CHANGED/);
    assert.match(changed.message, `ssh-keygen -R '[127.0.0.1]:${target.port}' -f ${knownHosts}`);
  }
});

test('a host without bash or base64 is named with what to install; nothing runs there, never an empty line that exits 0', async () => {
  // The host's PATH holds only the tools each case leaves: its login shell is found by its full path.
  const shared = mkdtempSync(join(tmpdir(), 'cleanup-host-path-'));
  chmodSync(shared, 0o777); // the ssh user lists it and writes its marker there
  const bin = join(shared, 'bin');
  const tools = (names: string[]) => {
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    for (const name of names)
      symlinkSync(execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim(), join(bin, name));
  };
  const host = await startSshd({ env: { PATH: bin } });
  const marker = join(shared, 'ran');
  const touch = ['sh', '-c', `echo ran > ${marker}`];
  try {
    tools(['base64', 'sh']);
    assert.match(
      (await failure(host.target, touch)).message,
      new RegExp(
        `^cleanup-ops@127\\.0\\.0\\.1:${host.target.port} has no bash: .*apt-get install bash.*Nothing was run there\\.$`,
      ),
    );
    tools(['bash', 'sh']);
    assert.match((await failure(host.target, touch)).message, /has no base64: .*apt-get install coreutils/);
    assert.not.ok(existsSync(marker), 'the command never ran');
    tools(['bash', 'base64', 'sh']);
    const runner = sshRunner(host.target);
    try {
      await runner.run(touch);
    } finally {
      await runner.close();
    }
    assert.ok(existsSync(marker), 'with both, the same command runs');
  } finally {
    await host.stop();
    rmSync(shared, { recursive: true, force: true });
  }
});

test.run();
