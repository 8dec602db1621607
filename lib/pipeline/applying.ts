/** The apply step: each task carries out its plan, in order; a task whose dependency failed is skipped. */
import { blockedBy, Interrupted, runStep, type RunItem } from './steps.ts';

export async function applyAll(items: RunItem[]): Promise<void> {
  await runStep(
    items,
    (item) => `Apply: ${item.task.title}`,
    async (item) => {
      const blocker = blockedBy(item, items);
      if (blocker) {
        item.skipped = `skipped: ${blocker} failed, and this task depends on it`;
        return `Skipped ${item.task.title} (${blocker} failed)`;
      }
      item.outcome = await item.task.apply(item.plan!, item.ctx);
      const total = item.plan!.changes.length;
      const done = item.outcome.done.length;
      const failed = item.outcome.failed.length;
      if (item.ctx.signal.aborted && done + failed < total) {
        item.interrupted = true;
        throw new Interrupted(
          `Interrupted ${item.task.title}: ${done} of ${total} changes done, ${total - done - failed} not started${failed ? `, ${failed} failed` : ''}; a rerun finishes the rest`,
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
