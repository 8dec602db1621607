/**
 * A registry left stopped by a run killed during its garbage collection (gc.ts's marker names
 * it). Planning only looks: it reads the marker and asks the registry once whether it answers.
 * When it does not, "start the registry left stopped by run X at T" is the plan's first item,
 * and apply carries it out first, under the registry lock: start it, wait until it serves,
 * drop the marker. A dry run or --check shows the item and touches nothing.
 */
import { commandLine, type Command } from '../command.ts';
import type { Change } from '../plan.ts';
import { runnerFor, type SshDefaults } from '../runner.ts';
import { ping, waitUntilServing } from './api.ts';
import type { RegistryClient } from './client.ts';
import { readGcMarker, type GcMarker } from './gc.ts';

export interface StartRegistryOp {
  kind: 'start-registry';
  host: string;
  ssh: SshDefaults;
  start: Command;
  markerPath: string;
  /** The marker as planned: apply does nothing when another run has since started the registry and dropped it. */
  marker: GcMarker;
}

/** Whether the registry answers GET /v2/ now, asked once (a client without retries). */
export async function answers(client: RegistryClient): Promise<boolean> {
  try {
    await ping(client);
    return true;
  } catch {
    return false;
  }
}

export function leftStoppedBy(marker: GcMarker): string {
  return `left stopped by run ${marker.run} at ${marker.since}`;
}

/** The plan's first item: start the registry a killed run left stopped. */
export function startRegistryItem(
  registry: string,
  marker: GcMarker,
  where: { host: string; ssh: SshDefaults; markerPath: string; start: Command },
): Change<StartRegistryOp> {
  return {
    action: 'start registry',
    target: `${registry} on ${where.host} (REGISTRY_HOST)`,
    reason:
      `start the registry ${leftStoppedBy(marker)} for garbage collection: it does not answer, ` +
      `and its collection marker ${where.markerPath} is still there. Applied first: runs ` +
      `\`${commandLine(where.start)}\`, waits until it serves, removes the marker`,
    bytes: 0,
    host: where.host,
    first: true,
    op: { kind: 'start-registry', ...where, marker },
  };
}

/**
 * Starts the registry, waits until it serves, drops the marker. Returns what happened; when the
 * marker is gone or names another run, the run that stopped it (or another) has started it since.
 */
export async function applyStartRegistry(op: StartRegistryOp, client: RegistryClient): Promise<string> {
  const runner = runnerFor(op.host, op.ssh, 'REGISTRY_HOST');
  // Its own client: the pings failing while the registry starts must not count against the run's.
  const serving = client.sibling({ connections: 1 });
  try {
    const now = await readGcMarker(runner, op.markerPath);
    if (!now || now.run !== op.marker.run || now.since !== op.marker.since)
      return `the marker of ${op.marker.run} is gone: the registry was started since the plan, nothing to do`;
    await runner.run(op.start);
    await waitUntilServing(serving);
    await runner.$`rm -f ${op.markerPath}`;
    return `started the registry ${leftStoppedBy(op.marker)}; it serves`;
  } finally {
    await serving.close();
    await runner.close();
  }
}
