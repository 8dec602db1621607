/**
 * What a test run leaves behind, found and stopped. Every process a run starts inherits the
 * run's marker (CLEANUP_TEST_RUN=<id> in its environment), including those started detached or
 * in a session of their own (dockerd, a registry under setsid): so the run can stop exactly its
 * own processes, even after a test failed half-way, and never another run's. sshd overwrites its
 * environment with its process title, so the run's process group (uvu's) is searched as well.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { stopAllDockerd, waitForExit } from '../../sandbox/fixtures/dockerd.ts';

export const runMarker = 'CLEANUP_TEST_RUN';

export interface LeftProcess {
  pid: number;
  command: string;
}

/** Processes whose environment carries this run's marker, or in one of `groups` (root reads every /proc/<pid>). */
export function processesOfRun(id: string, except = new Set([process.pid]), groups: number[] = []): LeftProcess[] {
  const found: LeftProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!pid || except.has(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z /.test(stat)) continue; // a zombie waits for its parent, it runs nothing
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!environ.includes(`${runMarker}=${id}`) && !groups.includes(group)) continue;
      found.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

/**
 * Stops the run's engines under `dockerRoot` (containers first, then dockerd, waiting for it),
 * then every other process of the run (sshd, registries, shims), politely first. Returns what was
 * still running after all that: nothing, unless something refused to die.
 */
export async function tearDownRun(
  id: string,
  dockerRoot: string,
  say: (text: string) => void,
  options: { spare?: number[]; groups?: number[] } = {},
): Promise<LeftProcess[]> {
  const except = new Set([process.pid, ...(options.spare ?? [])]);
  const engines = await stopAllDockerd(dockerRoot);
  if (engines.length) say(`stopped Docker engines ${engines.join(', ')} (containers first)`);
  const left = processesOfRun(id, except, options.groups);
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await Promise.all(left.map(({ pid }) => waitForExit(pid, 15_000)));
  if (left.length)
    say(
      `stopped ${left.length} leftover process${left.length === 1 ? '' : 'es'}: ${left.map((p) => p.command.split(' ')[0]).join(', ')}`,
    );
  return processesOfRun(id, except, options.groups);
}
