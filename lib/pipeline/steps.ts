/**
 * The steps of a run over its tasks, rendered by listr2 (live on a terminal, plain lines elsewhere,
 * always on stderr): plan (every task reads the world and decides, in the chain's order, each
 * handed what the plans before it hand on), apply (each carries out its plan; a task whose
 * dependency failed is skipped) and check (each task's pass/fail lines).
 */
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import { messageOf } from '../errors.ts';
import { renderPlan, totalBytes, totalLine, type Plan } from '../plan.ts';
import { redact } from '../redact.ts';
import type { ApplyOutcome, Check, CleanupTask, Handoffs, TaskContext } from '../task.ts';
import { formatBytes } from '../units.ts';

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
function blockedBy(item: RunItem, items: RunItem[]): string | undefined {
  for (const name of item.task.dependsOn ?? []) {
    const dependency = items.find((other) => other.task.name === name);
    if (dependency && (dependency.error || dependency.skipped || dependency.outcome?.failed.length)) return name;
  }
  return undefined;
}

/** Every line of a run goes to stderr, redacted, so that `--json` leaves stdout to the report. */
export function say(text: string): void {
  process.stderr.write(redact(text) + '\n');
}

function changeSummary(plan: Plan): string {
  const n = plan.changes.length;
  return n === 0
    ? 'nothing to change'
    : `${n} change${n === 1 ? '' : 's'}, frees ${formatBytes(totalBytes(plan.changes))}`;
}

/** Lines of a group shown before counting the rest: about a screen, all of them with --verbose. */
function planLimit(verbose: boolean): number {
  if (verbose) return Number.POSITIVE_INFINITY;
  const rows = process.stderr.isTTY && process.stderr.rows ? process.stderr.rows : 40;
  return Math.max(5, rows - 10);
}

/** Plans each task in the chain's order, handing each what the plans before it hand on. */
export async function planAll(items: RunItem[]): Promise<void> {
  const earlier: Handoffs = {};
  await runStep(
    items,
    (item) => `Plan: ${item.task.title}`,
    async (item) => {
      const plan = await item.task.plan(item.ctx, { ...earlier });
      item.plan = plan;
      Object.assign(earlier, item.task.handsOn?.(plan));
      return `Planned ${item.task.title}: ${changeSummary(plan)}`;
    },
    () => true,
  );
}

/** Shows every plan (and the total of a chain); returns the changes pending. */
export function showPlans(items: RunItem[], verbose: boolean): number {
  say('');
  const limit = planLimit(verbose);
  for (const item of items) if (item.plan) say(renderPlan(item.plan, { limit }) + '\n');
  const planned = items.filter((item) => item.plan);
  if (planned.length > 1) say(`All tasks: ${totalLine(planned.map((item) => item.plan!))}\n`);
  return planned.reduce((n, item) => n + item.plan!.changes.length, 0);
}

/** Marks the item skipped when a task it depends on failed (or was skipped); returns that task's name. */
function skipIfBlocked(item: RunItem, items: RunItem[]): string | undefined {
  const blocker = blockedBy(item, items);
  if (blocker) item.skipped = `skipped: ${blocker} failed, and this task depends on it`;
  return blocker;
}

export async function applyAll(items: RunItem[]): Promise<void> {
  await runStep(
    items,
    (item) => `Apply: ${item.task.title}`,
    async (item) => {
      const blocker = skipIfBlocked(item, items);
      if (blocker) return `Skipped ${item.task.title} (${blocker} failed)`;
      item.outcome = await item.task.apply(item.plan!, item.ctx);
      const total = item.plan!.changes.length;
      const done = item.outcome.done.length;
      const failed = item.outcome.failed.length;
      if (item.ctx.signal.aborted && done + failed < total) {
        item.interrupted = true;
        throw new Interrupted(
          `Interrupted ${item.task.title}: ${done} of ${total} changes done, ` +
            `${total - done - failed} not started${failed ? `, ${failed} failed` : ''}; a rerun finishes the rest`,
        );
      }
      if (failed)
        throw new Error(
          `${failed} of ${total} changes failed: ${item.outcome.failed.map((f) => `${f.target}: ${f.error}`).join('; ')}`,
        );
      return `Applied ${item.task.title}: ${done} done`;
    },
    (item) => Boolean(item.plan && item.plan.changes.length > 0),
  );
}

export async function checkAll(items: RunItem[], mode: Mode): Promise<void> {
  await runStep(
    items,
    (item) => `Check: ${item.task.title}`,
    async (item) => {
      const blocker = skipIfBlocked(item, items);
      if (blocker) return `Skipped checks of ${item.task.title} (${blocker} failed)`;
      item.checks = [...(item.outcome?.checks ?? []), ...((await item.task.check?.(item.ctx, mode, item.plan!)) ?? [])];
      const failed = item.checks.filter((c) => !c.passed);
      if (failed.length)
        throw new Error(
          `${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => `${c.name} (${c.figure})`).join('; ')}`,
        );
      return `Checked ${item.task.title}: ${item.checks.length} passed`;
    },
    (item) =>
      Boolean(
        (item.task.check || item.outcome?.checks) &&
        item.plan &&
        !item.error &&
        !item.interrupted &&
        !item.outcome?.failed.length,
      ),
  );
}
