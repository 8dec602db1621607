/**
 * Applies one host's plan by ID, in the order that keeps every step valid: stop, remove
 * containers, then images, volumes, build cache. A failed item is recorded and the rest go on;
 * then the disk is measured again, so the report states what was really freed.
 *
 * A step that hangs (stopped at SSH_COMMAND_TIMEOUT_SECONDS) stops this host: every later step
 * would wait out the same timeout. The hung item is reported failed with the host and its step,
 * the rest of the host's items are left not started, and a rerun plans them again from what the
 * host then holds (each item is one Docker call that either happened or did not).
 */
import type { Command } from '../command.ts';
import { messageOf } from '../errors.ts';
import type { Change } from '../plan.ts';
import { CommandTimedOut, type Runner } from '../runner.ts';
import type { Failure } from '../task.ts';
import { docker } from '../host/commands.ts';
import { confirmRemoved } from './build-cache.ts';
import type { ServerOp } from './policy.ts';

const order: ServerOp['kind'][] = [
  'stop-container',
  'remove-container',
  'remove-image',
  'remove-volume',
  'remove-build-cache',
];

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
    case 'remove-build-cache':
      return docker.removeBuildCache(op.id);
  }
}

export interface HostApplyResult {
  done: Change<ServerOp>[];
  failed: Failure[];
  /** Set when a hung step stopped this host: what hung, for the report's notes. */
  hung?: string;
}

export async function applyHostChanges(
  runner: Runner,
  changes: Change<ServerOp>[],
  signal?: AbortSignal,
  progress?: (m: string) => void,
): Promise<HostApplyResult> {
  const done: Change<ServerOp>[] = [];
  const failed: Failure[] = [];
  const sorted = [...changes].sort((a, b) => order.indexOf(a.op.kind) - order.indexOf(b.op.kind));
  for (const [i, change] of sorted.entries()) {
    if (signal?.aborted) break;
    progress?.(`${runner.name}: ${change.action}: ${change.target} (${i + 1} of ${sorted.length})`);
    try {
      const { stdout } = await runner.run(commandFor(change.op));
      if (change.op.kind === 'remove-build-cache') confirmRemoved(change.op.id, stdout);
      done.push(change);
    } catch (error) {
      const step = `step ${i + 1} of ${sorted.length}, ${change.action}`;
      failed.push({
        action: change.action,
        target: change.target,
        host: runner.name,
        error: `${step}: ${messageOf(error)}`,
      });
      if (error instanceof CommandTimedOut)
        return {
          done,
          failed,
          hung:
            `${runner.name} hung at ${step} ${change.target}; its ${sorted.length - i - 1} later ` +
            `steps were not started (a rerun plans them again from what the host holds then).`,
        };
    }
  }
  return { done, failed };
}
