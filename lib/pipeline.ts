/**
 * One way every task runs, alone or chained: read the world and plan, show the plan, ask, apply,
 * check, report. Listr2 renders the steps (live on a terminal, plain lines elsewhere), always on
 * stderr so that `--json` leaves stdout to the report.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import { formatBytes } from './bytes.ts';
import { canAsk, confirm } from './confirm.ts';
import { parseFlags, usage, type ParsedOptions } from './cli.ts';
import { exitCodeOf, messageOf, TaskError, UsageError } from './errors.ts';
import { renderPlan, totalBytes, type Plan } from './plan.ts';
import { redact } from './redact.ts';
import { runReport, taskReport, writeReport, type RunReport, type TaskReport } from './report.ts';
import { loadEnvironment, readSettings, setting, settingsError, type SettingProblem, type SettingsSpec } from './settings.ts';
import type { ApplyOutcome, Check, CleanupTask, TaskContext, TaskOption } from './task.ts';

/** Settings every run reads, whatever the task. */
export const pipelineSettings = {
  REPORTS_DIR: setting.string('folder where every run writes its JSON report', 'reports'),
};

// Tasks are heterogeneous in their settings and ops; the pipeline only passes them through.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTask = CleanupTask<any, any>;

interface RunItem {
  task: AnyTask;
  ctx: TaskContext;
  startedAt: Date;
  plan?: Plan;
  outcome?: ApplyOutcome;
  checks?: Check[];
  error?: unknown;
  skipped?: string;
}

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
    rendererOptions: { logger: new ListrLogger({ useIcons: true, processOutput: stderrOutput() }), collapseSubtasks: false },
    fallbackRendererOptions: { logger: new ListrLogger({ useIcons: false, processOutput: stderrOutput() }) },
  };
}

function say(text: string): void {
  process.stderr.write(redact(text) + '\n');
}

function makeContext(settings: Record<string, unknown>, options: ParsedOptions, closers: (() => Promise<void> | void)[], memos: Map<string, unknown>, signal: AbortSignal): TaskContext {
  let wrapper: ListrTaskWrapper<unknown, never, never> | undefined;
  let lastPlain = 0;
  const live = Boolean(process.stderr.isTTY) && !process.env.CI;
  const ctx: TaskContext & { attach(w: ListrTaskWrapper<unknown, never, never> | undefined): void } = {
    settings,
    options,
    signal,
    progress(message) {
      if (!wrapper) return;
      // Plain output prints every line; keep CI logs readable by printing at most one a second.
      const now = Date.now();
      if (!live && now - lastPlain < 1000) return;
      lastPlain = now;
      wrapper.output = redact(message);
    },
    onClose(close) {
      closers.push(close);
    },
    memo<T>(key: string, make: () => T): T {
      if (!memos.has(key)) memos.set(key, make());
      return memos.get(key) as T;
    },
    attach(w) {
      wrapper = w;
    },
  };
  return ctx;
}

async function runStep(items: RunItem[], title: (item: RunItem) => string, step: (item: RunItem) => Promise<string | void>, eligible: (item: RunItem) => boolean): Promise<void> {
  const chosen = items.filter((item) => eligible(item) && !item.ctx.signal.aborted);
  if (chosen.length === 0) return;
  const list = new Listr(
    chosen.map((item) => ({
      title: title(item),
      task: async (_: unknown, wrapper: ListrTaskWrapper<unknown, never, never>) => {
        (item.ctx as unknown as { attach(w: unknown): void }).attach(wrapper);
        try {
          const done = await step(item);
          if (done) wrapper.title = done;
        } catch (error) {
          item.error = error;
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

function changeSummary(plan: Plan): string {
  const n = plan.changes.length;
  return n === 0 ? 'nothing to change' : `${n} change${n === 1 ? '' : 's'}, frees ${formatBytes(totalBytes(plan.changes))}`;
}

/** Names of failed tasks, including those that failed because a dependency did. */
function blockedBy(item: RunItem, items: RunItem[]): string | undefined {
  for (const name of item.task.dependsOn ?? []) {
    const dependency = items.find((other) => other.task.name === name);
    if (dependency && (dependency.error || dependency.skipped || dependency.outcome?.failed.length)) return name;
  }
  return undefined;
}

function usageText(name: string, tasks: AnyTask[]): string {
  const extra: Record<string, TaskOption> = Object.assign({}, ...tasks.map((t) => t.options ?? {}));
  return `Usage: npm run ${name} -- [options]\n${tasks.map((t) => `  ${t.title}`).join('\n')}\n\n${usage(extra)}`;
}

export interface PipelineResult {
  exitCode: number;
  report?: RunReport;
}

/** Runs `tasks` in order as one pipeline: one plan for all, one confirmation, then apply. */
export async function runPipeline(name: string, tasks: AnyTask[], argv: string[]): Promise<PipelineResult> {
  const startedAt = new Date();
  let options: ParsedOptions;
  const problems: SettingProblem[] = [];
  const settingsByTask = new Map<AnyTask, Record<string, unknown>>();
  let reportsDir: string;
  try {
    options = parseFlags(argv, Object.assign({}, ...tasks.map((t) => t.options ?? {})));
    if (options.help) {
      process.stdout.write(usageText(name, tasks) + '\n');
      return { exitCode: 0 };
    }
    const env = loadEnvironment(options.envFile);
    reportsDir = readSettings(pipelineSettings, env, problems).REPORTS_DIR;
    for (const task of tasks) settingsByTask.set(task, readSettings(task.settings as SettingsSpec, env, problems));
    if (problems.length) throw settingsError(dedupe(problems));
  } catch (error) {
    say(messageOf(error));
    return { exitCode: exitCodeOf(error) };
  }

  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve().then(close).catch(() => undefined);
  };
  const memos = new Map<string, unknown>();
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) {
      say(`${signal} again: stopping now.`);
      void closeAll().finally(() => process.exit(130));
      return;
    }
    say(`\n${signal}: finishing the step under way, then stopping (press Ctrl-C again to stop at once).`);
    interrupt.abort(new TaskError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const items: RunItem[] = tasks.map((task) => ({ task, startedAt, ctx: makeContext(settingsByTask.get(task)!, options, closers, memos, interrupt.signal) }));
  let mode: 'plan' | 'apply' = 'plan';
  try {
    await runStep(
      items,
      (item) => `Plan: ${item.task.title}`,
      async (item) => {
        item.plan = await item.task.plan(item.ctx);
        return `Planned ${item.task.title}: ${changeSummary(item.plan)}`;
      },
      () => true,
    );

    say('');
    for (const item of items) if (item.plan) say(renderPlan(item.plan) + '\n');
    const planned = items.filter((item) => item.plan);
    const pending = planned.reduce((n, item) => n + item.plan!.changes.length, 0);
    const hasApplyWork = pending > 0 || items.some((item) => item.plan && item.task.check);

    const unplanned = items.filter((item) => item.error).map((item) => item.task.name);
    if (unplanned.length) say(`Planning failed for ${unplanned.join(', ')}: nothing was changed there.`);
    if (options.dryRun) {
      say('Dry run: nothing was changed.');
    } else if (pending === 0) {
      if (unplanned.length < items.length) {
        mode = 'apply';
        say('Nothing to change.');
      }
    } else if (options.yes) {
      mode = 'apply';
    } else if (canAsk()) {
      mode = (await confirm(`Apply these ${pending} change${pending === 1 ? '' : 's'}?`)) ? 'apply' : 'plan';
      if (mode === 'plan') say('Not applied: nothing was changed.');
    } else {
      say(`No terminal to confirm on, so nothing was changed. To apply this plan, run again with --yes (npm run ${name} -- --yes).`);
    }

    if (mode === 'apply' && hasApplyWork) {
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
          const failed = item.outcome.failed.length;
          if (failed) throw new Error(`${failed} of ${item.plan!.changes.length} changes failed: ${item.outcome.failed.map((f) => `${f.target}: ${f.error}`).join('; ')}`);
          return `Applied ${item.task.title}: ${item.outcome.done.length} done`;
        },
        (item) => Boolean(item.plan && item.plan.changes.length > 0),
      );
    }

    await runStep(
      items,
      (item) => `Check: ${item.task.title}`,
      async (item) => {
        const blocker = blockedBy(item, items);
        if (blocker) {
          item.skipped = `skipped: ${blocker} failed, and this task depends on it`;
          return `Skipped checks of ${item.task.title} (${blocker} failed)`;
        }
        item.checks = await item.task.check!(item.ctx, mode);
        const failed = item.checks.filter((c) => !c.passed);
        if (failed.length) throw new Error(`${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => `${c.name} (${c.figure})`).join('; ')}`);
        return `Checked ${item.task.title}: ${item.checks.length} passed`;
      },
      (item) => Boolean(item.task.check && item.plan && !item.error && !item.outcome?.failed.length),
    );
  } catch (error) {
    // A failure outside any one task (the confirmation prompt, the renderer) is still reported.
    items.find((item) => !item.error)!.error ??= error;
  } finally {
    await closeAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (interrupt.signal.aborted) {
    for (const item of items) if (!item.error && !item.outcome && !item.checks) item.skipped ??= 'interrupted before this task was applied';
  }

  const reports: TaskReport[] = items.map((item) =>
    taskReport({
      task: item.task.name,
      title: item.task.title,
      mode,
      startedAt: item.startedAt,
      plan: item.plan,
      outcome: item.outcome,
      checks: item.checks,
      error: item.error ? redact(messageOf(item.error)) : undefined,
      skipped: item.skipped,
    }),
  );
  const report = runReport(name, mode, startedAt, reports);
  for (const item of items) printOutcome(item);
  for (const taskReportItem of reports) printChecks(taskReportItem);
  const single = reports.length === 1 ? reports[0] : undefined;
  const path = writeReport(reportsDir!, single ?? report);
  if (options.json) process.stdout.write(JSON.stringify(JSON.parse(redact(JSON.stringify(single ?? report))), null, 2) + '\n');
  say(`Report: ${path}`);

  const errors = items.map((item) => item.error).filter(Boolean);
  const exitCode = interrupt.signal.aborted ? 130 : errors.some((e) => e instanceof UsageError) ? 2 : reports.some((r) => r.status === 'failed') ? 1 : 0;
  return { exitCode, report };
}

/** What apply measured (freed bytes, storage before and after) and noted, per task. */
function printOutcome(item: RunItem): void {
  const outcome = item.outcome;
  if (!outcome || (!outcome.figures.length && !outcome.notes.length)) return;
  say(`── ${item.task.name}: results`);
  for (const figure of outcome.figures) say(`   ${figure.label}: ${figure.value}`);
  for (const note of outcome.notes) say(`   ${note}`);
}

function printChecks(report: TaskReport): void {
  if (!report.checks.length) return;
  say(`── ${report.task}: checks`);
  for (const check of report.checks) say(`   ${check.passed ? 'PASS' : 'FAIL'}  ${check.name}: ${check.figure}${check.detail && !check.passed ? `\n         ${check.detail}` : ''}`);
}

function dedupe(problems: SettingProblem[]): SettingProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.key) && seen.add(p.key));
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
