/**
 * One way every task runs, alone or chained: read the world and plan, show the plan, ask, apply,
 * check, report. Listr2 renders the steps (live on a terminal, plain lines elsewhere), always on
 * stderr so that `--json` leaves stdout to the report.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import { formatBytes } from './bytes.ts';
import { canAsk, confirm } from './confirm.ts';
import { parseFlags, usage, type ParsedOptions } from './cli.ts';
import { exitCodeOf, exitCodes, messageOf, TaskError, UsageError } from './errors.ts';
import { renderPlan, totalBytes, totalLine, type Plan } from './plan.ts';
import { redact } from './redact.ts';
import { runReport, taskReport, writeReport, type RunReport, type TaskReport } from './report.ts';
import { readSettings, readSettingsFile, setting, settingsError, unknownSettings, type SettingProblem, type SettingsSpec } from './settings.ts';
import type { ApplyOutcome, Check, CleanupTask, TaskContext, TaskOption } from './task.ts';

/** Settings every run reads, whatever the task. */
export const pipelineSettings = {
  REPORTS_DIR: setting.string('folder where every run writes its JSON and Markdown report', 'reports'),
  REPORTS_KEEP: setting.int('reports kept in REPORTS_DIR; older ones are removed, oldest first', 50, { min: 1 }),
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
  /** A signal stopped the run before this task finished what it planned. */
  interrupted?: boolean;
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

/** Thrown by a step that stopped early for a signal: shown as not done (✖), but not a failure. */
class Interrupted extends Error {}

async function runStep(items: RunItem[], title: (item: RunItem) => string, step: (item: RunItem) => Promise<string | void>, eligible: (item: RunItem) => boolean): Promise<void> {
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

/** Settings keys any task of this project reads: .env.example lists them all. */
function documentedKeys(): string[] {
  const example = new URL('../.env.example', import.meta.url);
  if (!existsSync(example)) return [];
  return [...readFileSync(example, 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
}

function settingsHelp(specs: SettingsSpec[]): string {
  const rows = new Map<string, string>();
  for (const spec of specs) {
    for (const [key, definition] of Object.entries(spec)) {
      if (rows.has(key)) continue;
      const fallback = definition.parse(undefined);
      const shown = 'problem' in fallback ? 'required' : fallback.value === undefined || fallback.value === '' || (Array.isArray(fallback.value) && !fallback.value.length) ? 'optional' : `default ${Array.isArray(fallback.value) ? fallback.value.join(',') : fallback.value instanceof RegExp ? fallback.value.source : String(fallback.value)}`;
      rows.set(key, `  ${key.padEnd(34)}${definition.help} (${shown}${definition.secret ? ', secret' : ''})`);
    }
  }
  return [...rows.values()].join('\n');
}

/** The flags of these tasks; a chain leaves out those meant for a task run by itself. */
function taskFlags(tasks: AnyTask[]): Record<string, TaskOption> {
  const chain = tasks.length > 1;
  return Object.fromEntries(tasks.flatMap((t) => Object.entries(t.options ?? {})).filter(([, flag]) => !(chain && flag.alone)));
}

function usageText(name: string, tasks: AnyTask[]): string {
  const extra = taskFlags(tasks);
  return [
    `Usage: npm run ${name} -- [options]`,
    '',
    ...tasks.map((t) => `  ${t.title}`),
    '',
    'Flags go after --, or npm takes them for itself.',
    usage(extra),
    '',
    'Settings it reads (from .env, --env-file, or the environment, which wins):',
    settingsHelp([pipelineSettings, ...tasks.map((t) => t.settings as SettingsSpec)]),
    '',
    'Examples:',
    `  npm run ${name}                                  plan, show it, ask before applying`,
    `  npm run ${name} -- --dry-run                     plan only, change nothing`,
    `  npm run ${name} -- --yes --env-file prod.env     apply without asking, settings from prod.env`,
    `  npm run ${name} -- --check                       for cron or CI: exit 3 when something is to clean`,
    `  npm run ${name} -- --dry-run --json > plan.json  the report as JSON on stdout`,
    '',
    'Exit codes:',
    ...Object.entries(exitCodes).map(([code, meaning]) => `  ${code.padEnd(5)}${meaning}`),
  ].join('\n');
}

export interface PipelineResult {
  exitCode: number;
  report?: RunReport;
}

/** Lines of a group shown before counting the rest: about a screen, all of them with --verbose. */
function planLimit(verbose: boolean): number {
  if (verbose) return Number.POSITIVE_INFINITY;
  const rows = process.stderr.isTTY && process.stderr.rows ? process.stderr.rows : 40;
  return Math.max(5, rows - 10);
}

const signalExitCode = (signal: NodeJS.Signals) => (signal === 'SIGTERM' ? 143 : 130);

/** Runs `tasks` in order as one pipeline: one plan for all, one confirmation, then apply. */
export async function runPipeline(name: string, tasks: AnyTask[], argv: string[]): Promise<PipelineResult> {
  const startedAt = new Date();
  let options: ParsedOptions;
  const problems: SettingProblem[] = [];
  const settingsByTask = new Map<AnyTask, Record<string, unknown>>();
  let reports: { dir: string; keep: number };
  try {
    // The script the user typed (deploy:rollback and deploy:clean share a file).
    const script = process.env.npm_lifecycle_event || name;
    options = parseFlags(argv, taskFlags(tasks), process.env, script);
    if (options.help) {
      process.stdout.write(usageText(script, tasks) + '\n');
      return { exitCode: 0 };
    }
    const file = readSettingsFile(options.envFile);
    const env = { ...file.values, ...process.env };
    const pipeline = readSettings(pipelineSettings, env, problems);
    reports = { dir: pipeline.REPORTS_DIR, keep: pipeline.REPORTS_KEEP };
    for (const task of tasks) settingsByTask.set(task, readSettings(task.settings as SettingsSpec, env, problems));
    const known = new Set([...documentedKeys(), ...Object.keys(pipelineSettings), ...tasks.flatMap((t) => Object.keys(t.settings))]);
    for (const unknown of unknownSettings(Object.keys(file.values), known)) {
      say(`warning: ${file.path} sets ${unknown.key}, which no task reads${unknown.nearest ? `; did you mean ${unknown.nearest}?` : '.'}`);
    }
    if (problems.length) throw settingsError(dedupe(problems));
    if (options.notice) say(options.notice);
  } catch (error) {
    say(messageOf(error));
    return { exitCode: exitCodeOf(error) };
  }

  const closers: (() => Promise<void> | void)[] = [];
  // Once, however many times it is asked for: a second signal waits for the closes under way
  // (a registry being started again) instead of running none.
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      for (const close of closers.splice(0).reverse()) await Promise.resolve().then(close).catch((error) => say(`clean-up failed: ${messageOf(error)}`));
    })());
  const memos = new Map<string, unknown>();
  const interrupt = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy) {
      say(`${signal} again: stopping now (after the clean-up hooks).`);
      void closeAll().finally(() => process.exit(signalExitCode(stoppedBy!)));
      return;
    }
    stoppedBy = signal;
    say(`\n${signal}: nothing new starts; finishing the step under way, then stopping (press Ctrl-C again to stop at once).`);
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
    const limit = planLimit(options.verbose);
    for (const item of items) if (item.plan) say(renderPlan(item.plan, { limit }) + '\n');
    const planned = items.filter((item) => item.plan);
    if (planned.length > 1) say(`All tasks: ${totalLine(planned.map((item) => item.plan!))}\n`);
    const pending = planned.reduce((n, item) => n + item.plan!.changes.length, 0);
    const hasApplyWork = pending > 0 || items.some((item) => item.plan && item.task.check);

    const unplanned = items.filter((item) => item.error).map((item) => item.task.name);
    if (unplanned.length) say(`Planning failed for ${unplanned.join(', ')}: nothing was changed there.`);
    if (interrupt.signal.aborted) {
      say(`Interrupted while planning: nothing was changed.`);
    } else if (options.check) {
      say(pending ? `Check: ${pending} change${pending === 1 ? '' : 's'} pending (exit 3); nothing was changed.` : 'Check: nothing to do.');
    } else if (options.dryRun) {
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
          const total = item.plan!.changes.length;
          const done = item.outcome.done.length;
          const failed = item.outcome.failed.length;
          if (item.ctx.signal.aborted && done + failed < total) {
            item.interrupted = true;
            throw new Interrupted(`Interrupted ${item.task.title}: ${done} of ${total} changes done, ${total - done - failed} not started${failed ? `, ${failed} failed` : ''}; a rerun finishes the rest`);
          }
          if (failed) throw new Error(`${failed} of ${total} changes failed: ${item.outcome.failed.map((f) => `${f.target}: ${f.error}`).join('; ')}`);
          return `Applied ${item.task.title}: ${done} done`;
        },
        (item) => Boolean(item.plan && item.plan.changes.length > 0),
      );
    }

    if (!options.check) {
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
        (item) => Boolean(item.task.check && item.plan && !item.error && !item.interrupted && !item.outcome?.failed.length),
      );
    }
  } catch (error) {
    // A failure outside any one task (the confirmation prompt, the renderer) is still reported.
    (items.find((item) => !item.error) ?? items[0]).error ??= error;
  } finally {
    await closeAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (stoppedBy) {
    for (const item of items) {
      const unfinished = !item.plan || (mode === 'apply' && item.plan.changes.length > 0 && !item.outcome);
      if (!item.error && !item.skipped && unfinished) item.interrupted = true;
      if (item.interrupted) item.skipped = undefined;
    }
  }

  const taskReports: TaskReport[] = items.map((item) =>
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
      interruptedBy: item.interrupted ? stoppedBy : undefined,
    }),
  );
  const report = runReport(name, mode, startedAt, taskReports);
  for (const item of items) printOutcome(item);
  for (const taskReportItem of taskReports) printChecks(taskReportItem);
  const single = taskReports.length === 1 ? taskReports[0] : undefined;
  const path = writeReport(reports!.dir, single ?? report, reports!.keep);
  if (options.json) process.stdout.write(JSON.stringify(JSON.parse(redact(JSON.stringify(single ?? report))), null, 2) + '\n');
  say(`Report: ${path} (and ${path.replace(/\.json$/, '.md')})`);

  const errors = items.map((item) => item.error).filter(Boolean);
  const pending = items.reduce((n, item) => n + (item.plan?.changes.length ?? 0), 0);
  const exitCode = stoppedBy
    ? signalExitCode(stoppedBy)
    : errors.some((e) => e instanceof UsageError)
      ? 2
      : taskReports.some((r) => r.status === 'failed')
        ? 1
        : options.check && pending > 0
          ? 3
          : 0;
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
