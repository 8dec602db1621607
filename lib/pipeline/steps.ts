/**
 * One step (plan, apply or check) over the tasks of a run, rendered by listr2: live on a
 * terminal, plain lines elsewhere, always on stderr.
 */
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import { messageOf } from '../errors.ts';
import type { Plan } from '../plan.ts';
import { redact } from '../redact.ts';
import type { ApplyOutcome, Check, CleanupTask, TaskContext } from '../task.ts';

// Tasks are heterogeneous in their settings and plans; the pipeline only passes them through.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = CleanupTask<any, any>;

/** One task in a run, and what each step made of it. */
export interface RunItem {
  task: AnyTask;
  ctx: TaskContext;
  startedAt: Date;
  plan?: Plan;
  outcome?: ApplyOutcome;
  checks?: Check[];
  error?: unknown;
  skipped?: string;
  /** A signal stopped the run before this task finished what it planned. */
  interrupted?: boolean;
}

export type Mode = 'plan' | 'apply';

const stderrOutput = () => new ProcessOutput(process.stderr, process.stderr);

function listrOptions() {
  const live = Boolean(process.stderr.isTTY) && !process.env.CI;
  return {
    concurrent: false,
    exitOnError: false,
    renderer: live ? ('default' as const) : ('simple' as const),
    // The pipeline handles signals itself, so that locks are released before exiting.
    registerSignalListeners: false,
    fallbackRenderer: 'simple' as const,
    rendererOptions: {
      logger: new ListrLogger({ useIcons: true, processOutput: stderrOutput() }),
      collapseSubtasks: false,
    },
    fallbackRendererOptions: { logger: new ListrLogger({ useIcons: false, processOutput: stderrOutput() }) },
  };
}

/** Thrown by a step that stopped early for a signal: shown as not done (✖), but not a failure. */
export class Interrupted extends Error {}

export async function runStep(
  items: RunItem[],
  title: (item: RunItem) => string,
  step: (item: RunItem) => Promise<string | void>,
  eligible: (item: RunItem) => boolean,
): Promise<void> {
  const chosen = items.filter((item) => eligible(item) && !item.ctx.signal.aborted);
  if (chosen.length === 0) return;
  const list = new Listr(
    chosen.map((item) => ({
      title: title(item),
      task: async (_: unknown, wrapper: ListrTaskWrapper<unknown, never, never>) => {
        // Nothing new starts after a signal: the tasks after the one under way are not begun.
        if (item.ctx.signal.aborted) {
          item.interrupted = true;
          wrapper.skip(`Not started: ${title(item)} (interrupted)`);
          return;
        }
        (item.ctx as unknown as { attach(w: unknown): void }).attach(wrapper);
        try {
          const done = await step(item);
          if (done) wrapper.title = done;
        } catch (error) {
          if (item.ctx.signal.aborted) item.interrupted = true;
          if (!(error instanceof Interrupted)) item.error ??= error;
          throw new Error(redact(messageOf(error)));
        } finally {
          (item.ctx as unknown as { attach(w: unknown): void }).attach(undefined);
        }
      },
    })),
    listrOptions() as never,
  );
  await list.run();
}

/** The name of a dependency that failed (or was skipped), so this task must not go on. */
export function blockedBy(item: RunItem, items: RunItem[]): string | undefined {
  for (const name of item.task.dependsOn ?? []) {
    const dependency = items.find((other) => other.task.name === name);
    if (dependency && (dependency.error || dependency.skipped || dependency.outcome?.failed.length)) return name;
  }
  return undefined;
}
