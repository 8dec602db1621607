/**
 * `npm run sandbox:down`: stops what the sandbox started and removes its folders, the registry's CA
 * from Docker's certs.d and root's login to it. Each engine's containers are stopped before the
 * engine, so that no containerd shim outlives it; each process is waited for.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { sandbox } from './config.ts';
import { say, stopSandboxProcesses } from './processes.ts';
import { forgetRegistry } from './registry-host.ts';

const folders = [sandbox.dir, sandbox.shared].filter((dir) => existsSync(dir));
if (!folders.length) {
  say(`nothing to stop: neither ${sandbox.dir} nor ${sandbox.shared} exists`);
  forgetRegistry();
} else {
  await stopSandboxProcesses({ remember: false });
  forgetRegistry();
  for (const dir of folders) {
    try {
      execFileSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`], {
        stdio: 'ignore',
      });
    } catch {
      // nothing mounted
    }
    rmSync(dir, { recursive: true, force: true });
    say(`removed ${dir}`);
  }
}
