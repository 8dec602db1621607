/** The plan step: every task reads the world and plans; then the plans are shown, in full. */
import { formatBytes } from '../bytes.ts';
import { renderPlan, totalBytes, totalLine, type Plan } from '../plan.ts';
import type { Handoffs } from '../task.ts';
import { say } from './say.ts';
import { runStep, type RunItem } from './steps.ts';

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
