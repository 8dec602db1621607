/**
 * Garbage collection, the only step that gives disk space back. It runs on the registry host
 * through the commands the settings give (run by the one runner, locally or over ssh): the
 * registry is stopped (or made read-only) first, since GC during a push corrupts images, and it
 * is always started again afterwards, also when GC fails, since its in-memory blob cache
 * otherwise claims deleted blobs still exist. `--delete-untagged` is never added: on 2.8 it
 * deletes the children of multi-arch indexes.
 *
 * A run killed while the registry is stopped cannot start it again itself, so before stopping it
 * a marker is written on the registry host (which run, since when, how to start it again). A
 * later run that finds the marker and a registry that does not answer plans starting it as its
 * first item (recovery.ts); the collection itself is then planned again from the record of
 * pending deletions (collection.ts). A run that is merely interrupted (Ctrl-C, twice included) starts the
 * registry again through the restart `onStopped` hands to the run's clean-ups.
 */
import { commandLine, type Command } from '../command.ts';
import { TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';

export interface GcCommands {
  stop?: Command;
  collect: Command;
  start?: Command;
  /** Measured with `du -sb` before and after, when set. */
  storagePath?: string;
  /** Or the named volume holding it, measured by `docker system df -v`. */
  storageVolume?: string;
}

export interface GcResult {
  before?: number;
  after?: number;
  output: string;
  /** From stopping the registry until it serves again (the collection alone when nothing stops it). */
  downtimeMs: number;
}

export function duCommand(path: string): Command {
  return ['du', '-sb', path];
}

async function measure(runner: Runner, path: string | undefined): Promise<number | undefined> {
  if (!path) return undefined;
  const { stdout } = await runner.run(duCommand(path));
  const bytes = Number(stdout.trim().split(/\s+/)[0]);
  if (!Number.isFinite(bytes))
    throw new TaskError(`${runner.name}: could not read the size of ${path} from du: ${stdout.trim()}`);
  return bytes;
}

export interface GcMarker {
  /** The run that stopped the registry: its task and process. */
  run: string;
  since: string;
  /** The command that starts the registry again, as that run had it. */
  start?: string;
}

export interface GcHooks {
  /** Where the marker lives on the registry host. */
  markerPath: string;
  run: string;
  /** Called once the registry is about to stop, with the restart every exit path must call. */
  onStopped?: (restart: () => Promise<void>) => void;
}

/** The lock and the GC marker of one registry, in a folder of its host, named after its URL so registries apart never wait on each other. */
export function registryHostPaths(dir: string, url: URL): { lock: string; marker: string } {
  const base = `${dir.replace(/\/+$/, '')}/aisha-cleanup-registry-${url.host.replace(/[^A-Za-z0-9.-]/g, '_')}`;
  return { lock: `${base}.lock`, marker: `${base}.gc-pending.json` };
}

export async function readGcMarker(runner: Runner, path: string): Promise<GcMarker | undefined> {
  const { stdout, exitCode } = await runner.$({ allowFailure: true })`cat ${path}`;
  if (exitCode !== 0) return undefined;
  try {
    return JSON.parse(stdout) as GcMarker;
  } catch {
    return { run: 'unknown (unreadable marker)', since: 'unknown' };
  }
}

export async function garbageCollect(
  runner: Runner,
  commands: GcCommands,
  waitUntilServing: () => Promise<void>,
  hooks?: GcHooks,
): Promise<GcResult> {
  if (commands.collect.some((word) => word === '--delete-untagged' || word.startsWith('--delete-untagged='))) {
    throw new TaskError(
      'REGISTRY_GC_COMMAND must not use --delete-untagged: on distribution 2.8 it deletes the children of multi-arch images. Remove it.',
    );
  }
  const before = await measure(runner, commands.storagePath);
  let output = '';
  const stoppedAt = Date.now();
  let downtimeMs = 0;
  // Started again exactly once: by the finally below, or by a clean-up of an interrupted run;
  // the marker goes with the restart, since the registry is no longer stopped.
  let stopped = false;
  const restart = async () => {
    if (!stopped) return;
    stopped = false;
    if (commands.start) await runner.run(commands.start);
    if (hooks) await runner.$`rm -f ${hooks.markerPath}`;
  };
  if (commands.stop) {
    if (hooks) {
      const marker: GcMarker = {
        run: hooks.run,
        since: new Date().toISOString(),
        ...(commands.start ? { start: commandLine(commands.start) } : {}),
      };
      await runner.$({ input: JSON.stringify(marker) })`cat > ${hooks.markerPath}`;
    }
    stopped = true;
    hooks?.onStopped?.(restart);
    await runner.run(commands.stop);
  }
  try {
    output = (await runner.run(commands.collect, { timeoutMs: 60 * 60_000 })).stdout;
  } finally {
    if (commands.stop) await restart();
    else if (commands.start) await runner.run(commands.start);
    await waitUntilServing();
    downtimeMs = Date.now() - stoppedAt;
  }
  const after = await measure(runner, commands.storagePath);
  return { before, after, output, downtimeMs };
}
