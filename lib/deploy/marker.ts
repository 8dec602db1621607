/**
 * The marker of a deploy under way: written on the deploy host just before the step that changes
 * what serves (ship, or set image for a rollback), removed once the new release passed its health
 * gate or what ran before was brought back. A run killed in between leaves it: the next deploy or
 * rollback finds it, plans "bring back" as its first step after the lock, and carries that out
 * before anything else. The marker names the run, since when, the release to bring back and how.
 */
import { join } from 'node:path';
import type { Runner } from '../runner.ts';
import { host } from './commands.ts';
import type { Recovery } from './recovery-steps.ts';

export const MARKER_FILE = '.deploy-under-way.json';

export interface DeployMarker {
  /** Which run left it: "deploy:clean pid 123 on build-box". */
  run: string;
  /** ISO time it was written. */
  since: string;
  /** The release that served before (its image), or undefined on a first deploy. */
  release?: string;
  /** What brings that back: the files saved before and an up, or a down of what was started. */
  recovery: Recovery;
}

export const markerPath = (dir: string) => join(dir, MARKER_FILE);

export async function readMarker(runner: Runner, dir: string): Promise<DeployMarker | undefined> {
  const { stdout, exitCode } = await runner.run(host.read(markerPath(dir)), { allowFailure: true });
  if (exitCode !== 0 || !stdout.trim()) return undefined;
  try {
    return JSON.parse(stdout) as DeployMarker;
  } catch {
    // A run killed while writing it: the files were not touched yet (the marker goes first).
    return undefined;
  }
}

export async function writeMarker(runner: Runner, dir: string, marker: DeployMarker): Promise<void> {
  await runner.run(host.write(markerPath(dir)), { input: JSON.stringify(marker, null, 2) + '\n' });
}

export async function clearMarker(runner: Runner, dir: string): Promise<void> {
  await runner.run(host.remove(markerPath(dir)));
}

export function describeMarker(m: DeployMarker): string {
  return `${m.run} was interrupted (under way since ${m.since})`;
}
