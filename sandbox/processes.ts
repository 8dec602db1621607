/**
 * The sandbox's processes, stopped by their pid files: the sshd and the Docker engine of each host
 * (the engine's containers first, so that no containerd shim outlives it). `npm run sandbox:stop`
 * and the demo stop them and keep the sandbox's state; `npm run sandbox:down` stops them and removes it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engine as engineAt, stopDockerd, waitForExit } from './fixtures/dockerd.ts';
import { sandbox } from './config.ts';

export const say = (text: string) => process.stderr.write(`sandbox: ${text}\n`);

/** The registry host's sshd and engine folders (sandbox/registry-host.ts starts them). */
export const registryHostProcesses = {
  sshDir: join(sandbox.shared, 'registry-host', 'ssh'),
  sshdPidFile: join(sandbox.shared, 'registry-host', 'ssh', 'sshd.pid'),
  engineDir: join(sandbox.shared, 'docker', 'registry-host'),
};

/** Whether the process of the pid file runs. */
export function alive(pidFile: string): boolean {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

/** Where the ids of the containers that ran when the sandbox was stopped are kept, to start them again. */
export const runningAtStop = join(sandbox.dir, 'running-at-stop');

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

/**
 * Stops every process of the sandbox. With `remember`, the containers running now are written
 * down first, so that `npm run sandbox` starts them again, as a host's restart policy would.
 */
export async function stopSandboxProcesses(options: { remember: boolean }): Promise<void> {
  // Sandboxes brought up before the shared folder existed kept sshd and the engine in `dir`.
  for (const base of [sandbox.shared, sandbox.dir]) await stop('sshd', join(base, 'ssh', 'sshd.pid'));
  // Sandboxes brought up before the registry host ran the registry as a process of their own.
  await stop('registry', join(sandbox.dir, 'registry', 'registry.pid'));
  await stop('sshd of the registry host', registryHostProcesses.sshdPidFile);
  // Its containers need no list: the sandbox starts the registry and the database again.
  if (await stopDockerd(registryHostProcesses.engineDir))
    say("stopped the registry host's Docker engine (its containers first)");
  for (const base of [sandbox.shared, sandbox.dir]) {
    const dir = join(base, 'docker', 'engine');
    if (options.remember && existsSync(join(dir, 'dockerd.pid'))) {
      try {
        writeFileSync(runningAtStop, engineAt('engine', join(base, 'docker')).docker(['ps', '--quiet']));
      } catch {
        // the engine does not answer: nothing runs on it to remember
      }
    }
    if (await stopDockerd(dir)) say('stopped the Docker engine (its containers first)');
  }
}
