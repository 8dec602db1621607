/** `npm run sandbox:down`: stops what the sandbox started (by pid) and removes its folder. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      say(`stopped ${name} (pid ${pid})`);
      return;
    }
  }
  process.kill(pid, 'SIGKILL');
  say(`killed ${name} (pid ${pid})`);
}

if (!existsSync(sandbox.dir)) {
  say(`nothing to stop: ${sandbox.dir} does not exist`);
} else {
  await stop('sshd', join(sandbox.dir, 'ssh', 'sshd.pid'));
  await stop('registry', join(sandbox.dir, 'registry', 'registry.pid'));
  await stop('dockerd', join(sandbox.dir, 'docker', 'engine', 'dockerd.pid'));
  try {
    execFileSync('sh', ['-c', `grep -o ' ${sandbox.dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: 'ignore' });
  } catch {
    // nothing mounted
  }
  rmSync(sandbox.dir, { recursive: true, force: true });
  say(`removed ${sandbox.dir}`);
}
