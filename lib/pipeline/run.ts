/**
 * One way every task runs, alone or chained: read the settings, plan, show the plan, ask, apply,
 * check, report; this file puts the steps in order. The entry of every task file and of the
 * chain is its last line: `if (isEntryPoint(import.meta.url)) await main('clean:mytask', [myTask])`.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { messageOf } from '../errors.ts';
import { afterRun, auditRun } from '../operations/after-run.ts';
import { runFacts } from '../operations/facts.ts';
import { runPreHooks } from '../operations/hooks.ts';
import { decideMode } from './confirmation.ts';
import { makeContext } from './context.ts';
import { finishRun, type PipelineResult } from './reports.ts';
import { startRun } from './settings.ts';
import { listenForSignals, markInterrupted } from './signals.ts';
import { movedSince, stalePlanError, writeSavedPlan } from './saved-plan.ts';
import { applyAll, checkAll, planAll, say, showPlans, type AnyTask, type Mode, type RunItem } from './steps.ts';

export type { PipelineResult };
export { pipelineSettings } from './settings.ts';

/** Runs `tasks` in order as one pipeline: one plan for all, one confirmation, then apply. */
export async function runPipeline(name: string, tasks: AnyTask[], argv: string[]): Promise<PipelineResult> {
  const startedAt = new Date();
  const start = startRun(name, tasks, argv);
  if ('exitCode' in start) return start;
  const { options, settingsByTask, reports, saved, operations } = start;
  const facts = runFacts(name);
  const settingsOf = (task: AnyTask) => settingsByTask.get(task)!;
  const decidedAt = saved ? Date.parse(saved.decidedAt) : startedAt.getTime();

  const control = listenForSignals();
  const items: RunItem[] = tasks.map((task) => ({
    task,
    startedAt,
    ctx: makeContext(settingsByTask.get(task)!, options, control.closers, control.signal, decidedAt),
  }));
  let mode: Mode = 'plan';
  try {
    await planAll(items);
    const pending = showPlans(items, options.verbose);
    const hasApplyWork = pending > 0 || items.some((item) => item.plan && item.task.check);
    const moved = saved ? movedSince(saved, items, settingsOf) : new Map();
    for (const [item, lines] of moved) item.error ??= stalePlanError(options.plan as string, lines);
    for (const item of moved.keys()) say(`${item.task.title}: ${messageOf(item.error)}`);
    if (moved.size) say('The saved plan is stale: nothing was applied.');
    mode = moved.size ? 'plan' : await decideMode(name, items, pending, options, control.signal.aborted);
    if (typeof options.out === 'string')
      say(writeSavedPlan(options.out, { run: name, decidedAt, items, options, settingsOf }));
    if (mode === 'apply' && hasApplyWork) {
      const planned = items.map((item) => ({ name: item.task.name, changes: item.plan?.changes.length ?? 0 }));
      await runPreHooks(
        operations.HOOKS_DIR,
        facts,
        planned.filter((task) => task.changes > 0),
        say,
      );
      await applyAll(items);
    }
    // --check runs the checks too (read-only in plan mode, as in a dry run): `verify -- --check`
    // must not mean "check nothing", and a monitoring job needs its failures.
    await checkAll(items, mode);
  } catch (error) {
    // A failure outside any one task (the confirmation prompt, the renderer) is still reported.
    (items.find((item) => !item.error) ?? items[0]).error ??= error;
  }
  let result: PipelineResult;
  let finished: Parameters<typeof afterRun>[0];
  try {
    const stoppedBy = control.stoppedBy;
    if (stoppedBy) markInterrupted(items, mode);
    result = finishRun({ name, mode, startedAt, items, options, reports, stoppedBy });
    const applied = mode === 'apply' && items.some((item) => item.outcome);
    finished = { ...result, facts, items, reportsDir: reports.dir, applied, settings: operations, say };
    // The audit goes over the tasks' own connections, before the clean-up hooks close them.
    await auditRun(finished);
  } finally {
    await control.finish();
  }
  return { ...result, exitCode: await afterRun(finished) };
}

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === moduleUrl;
  } catch {
    return false;
  }
}

/** The standalone entry of a task file or of the chain: runs, then sets the exit code. */
export async function main(name: string, tasks: AnyTask[]): Promise<void> {
  const result = await runPipeline(name, tasks, process.argv.slice(2));
  process.exitCode = result.exitCode;
}
