/** The check step: each task's pass/fail lines, after apply (or on the state as it is, in plan mode). */
import { blockedBy, runStep, type Mode, type RunItem } from './steps.ts';

export async function checkAll(items: RunItem[], mode: Mode): Promise<void> {
  await runStep(
    items,
    (item) => `Check: ${item.task.title}`,
    async (item) => {
      const blocker = blockedBy(item, items);
      if (blocker) {
        item.skipped = `skipped: ${blocker} failed, and this task depends on it`;
        return `Skipped checks of ${item.task.title} (${blocker} failed)`;
      }
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
