/**
 * Applies one host's plan by ID, in the order that keeps every step valid: stop, remove
 * containers, then images, volumes, build cache. A failed item is recorded and the rest go on;
 * then the disk is measured again, so the report states what was really freed.
 */
import type { Command } from '../command.ts';
import { messageOf } from '../errors.ts';
import type { Change } from '../plan.ts';
import type { Runner } from '../runner.ts';
import type { Failure } from '../task.ts';
import { docker } from './commands.ts';
import type { ServerOp } from './policy.ts';

const order: ServerOp['kind'][] = ['stop-container', 'remove-container', 'remove-image', 'remove-volume', 'prune-build-cache', 'shrink-build-cache'];

export function commandFor(op: ServerOp): Command {
  switch (op.kind) {
    case 'stop-container':
      return docker.stopContainer(op.id);
    case 'remove-container':
      return docker.removeContainer(op.id);
    case 'remove-image':
      return docker.removeImage(op.refs);
    case 'remove-volume':
      return docker.removeVolume(op.name);
    case 'prune-build-cache':
      return docker.pruneBuildCache(op.olderThanHours);
    case 'shrink-build-cache':
      return docker.shrinkBuildCache(op.keepBytes);
  }
}

export async function applyHostChanges(runner: Runner, changes: Change<ServerOp>[], signal?: AbortSignal, progress?: (m: string) => void): Promise<{ done: Change<ServerOp>[]; failed: Failure[] }> {
  const done: Change<ServerOp>[] = [];
  const failed: Failure[] = [];
  const sorted = [...changes].sort((a, b) => order.indexOf(a.op.kind) - order.indexOf(b.op.kind));
  for (const [i, change] of sorted.entries()) {
    if (signal?.aborted) break;
    progress?.(`${runner.name}: ${change.action}: ${change.target} (${i + 1} of ${sorted.length})`);
    try {
      await runner.run(commandFor(change.op), { timeoutMs: 5 * 60_000 });
      done.push(change);
    } catch (error) {
      failed.push({ action: change.action, target: change.target, host: runner.name, error: messageOf(error) });
    }
  }
  return { done, failed };
}
