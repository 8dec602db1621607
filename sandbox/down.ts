/**
 * `npm run sandbox:down`: stops what the sandbox started and removes its folders. The engine's
 * containers are stopped before the engine, so that no containerd shim outlives it; each process
 * is waited for.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stopDockerd, waitForExit } from './fixtures/dockerd.ts';
import { sandbox } from './config.ts';

const say = (text: string) => process.stderr.write(`sandbox: ${text}\n`);

async function stop(name: string, pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  say(`${(await waitForExit(pid, 10_000)) ? 'stopped' : 'killed'} ${name} (pid ${pid})`);
}

const folders = [sandbox.dir, sandbox.shared].filter((dir) => existsSync(dir));
if (!folders.length) {
  say(`nothing to stop: neither ${sandbox.dir} nor ${sandbox.shared} exists`);
} else {
  // Sandboxes brought up before the shared folder existed kept sshd and the engine in `dir`.
  for (const base of [sandbox.shared, sandbox.dir]) await stop('sshd', join(base, 'ssh', 'sshd.pid'));
  await stop('registry', join(sandbox.dir, 'registry', 'registry.pid'));
  for (const base of [sandbox.shared, sandbox.dir]) if (await stopDockerd(join(base, 'docker', 'engine'))) say('stopped the Docker engine (its containers first)');
  for (const dir of folders) {
    try {
      execFileSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: 'ignore' });
    } catch {
      // nothing mounted
    }
    rmSync(dir, { recursive: true, force: true });
    say(`removed ${dir}`);
  }
}
