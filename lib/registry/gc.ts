/**
 * Garbage collection, the only step that gives disk space back. It runs on the registry host
 * through the commands the settings give (run by the one runner, locally or over ssh): the
 * registry is stopped (or made read-only) first, since GC during a push corrupts images, and it
 * is always started again afterwards, also when GC fails, since its in-memory blob cache
 * otherwise claims deleted blobs still exist. `--delete-untagged` is never added: on 2.8 it
 * deletes the children of multi-arch indexes.
 */
import type { Command } from '../command.ts';
import { TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';

export interface GcCommands {
  stop?: Command;
  collect: Command;
  start?: Command;
  /** Measured with `du -sb` before and after, when set. */
  storagePath?: string;
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
  if (!Number.isFinite(bytes)) throw new TaskError(`${runner.name}: could not read the size of ${path} from du: ${stdout.trim()}`);
  return bytes;
}

export async function garbageCollect(runner: Runner, commands: GcCommands, waitUntilServing: () => Promise<void>): Promise<GcResult> {
  if (commands.collect.some((word) => word === '--delete-untagged' || word.startsWith('--delete-untagged='))) {
    throw new TaskError('REGISTRY_GC_COMMAND must not use --delete-untagged: on distribution 2.8 it deletes the children of multi-arch images. Remove it.');
  }
  const before = await measure(runner, commands.storagePath);
  let output = '';
  const stoppedAt = Date.now();
  let downtimeMs = 0;
  if (commands.stop) await runner.run(commands.stop);
  try {
    output = (await runner.run(commands.collect, { timeoutMs: 60 * 60_000 })).stdout;
  } finally {
    if (commands.start) await runner.run(commands.start);
    await waitUntilServing();
    downtimeMs = Date.now() - stoppedAt;
  }
  const after = await measure(runner, commands.storagePath);
  return { before, after, output, downtimeMs };
}
