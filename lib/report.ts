/**
 * The report of a run: what was planned, what was applied, what failed, what was checked.
 * Written for every run (plan or apply) into the reports folder as JSON (numbers as numbers,
 * times as ISO strings) and as Markdown with the same tables (to paste into a ticket), and
 * printed with --json. Secrets are redacted before anything is written.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable } from 'markdown-table';
import { parseBytes } from './units.ts';
import { chartsMarkdown, mergeCharts, type Chart } from './charts.ts';
import { publicChange, totalBytes, type Change, type Figure, type Kept, type Plan, type Refusal } from './plan.ts';
import { redact, redactValue } from './redact.ts';
import type { ApplyOutcome, Check, Failure } from './task.ts';

export type TaskStatus = 'planned' | 'nothing to do' | 'applied' | 'failed' | 'skipped' | 'interrupted';

/** A figure as shown, plus its number when it is one: bytes as an integer, a percentage, a count. */
export type ReportFigure = Figure & { bytes?: number; percent?: number; count?: number };

export interface TaskReport {
  task: string;
  title: string;
  mode: 'plan' | 'apply';
  status: TaskStatus;
  startedAt: string;
  finishedAt: string;
  changes: Omit<Change, 'op'>[];
  kept: Kept[];
  refused: Refusal[];
  figures: ReportFigure[];
  notes: string[];
  applied: Omit<Change, 'op'>[];
  failed: Failure[];
  /** In an applying run: the planned changes neither done nor failed (interrupted, or stopped by a failure). */
  notStarted: Omit<Change, 'op'>[];
  checks: Check[];
  /** What `--restore` needs to undo this run, when the task keeps it. */
  undo?: unknown[];
  /** Drawn in the Markdown report (lib/charts.ts): the plan's "before" and apply's "after" joined. */
  charts?: Chart[];
  error?: string;
  summary: {
    changes: number;
    bytes: number;
    applied: number;
    failed: number;
    notStarted: number;
    checksFailed: number;
  };
}

/** "41.3 MB" → bytes 41300000; "62.5%" → percent 62.5; "1,204" → count 1204. */
export function numericFigure(figure: Figure): ReportFigure {
  const text = figure.value.trim();
  const percent = /^(-?[0-9]+(?:\.[0-9]+)?)\s*%$/.exec(text);
  if (percent) return { ...figure, percent: Number(percent[1]) };
  if (/^-?[0-9][0-9,]*$/.test(text)) return { ...figure, count: Number(text.replace(/,/g, '')) };
  const negative = text.startsWith('-');
  const bytes = /^-?[0-9.]+\s*[kMGT]?i?B$/.test(text) ? parseBytes(text.replace(/^-/, '')) : undefined;
  return bytes === undefined ? figure : { ...figure, bytes: negative ? -bytes : bytes };
}

export function taskReport(input: {
  task: string;
  title: string;
  mode: 'plan' | 'apply';
  startedAt: Date;
  plan?: Plan;
  outcome?: ApplyOutcome;
  checks?: Check[];
  error?: string;
  skipped?: string;
  /** The signal that stopped this task before it finished what it planned. */
  interruptedBy?: string;
}): TaskReport {
  const plan = input.plan;
  const outcome = input.outcome;
  const checks = input.checks ?? [];
  const changes = (plan?.changes ?? []).map(publicChange);
  const failed = outcome?.failed ?? [];
  const checksFailed = checks.filter((c) => !c.passed).length;
  const same = (a: Pick<Change, 'action' | 'target' | 'host'>, b: Pick<Failure, 'action' | 'target' | 'host'>) =>
    a.action === b.action && a.target === b.target && (a.host ?? '') === (b.host ?? '');
  const applied = (outcome?.done ?? []).map(publicChange);
  const notStarted =
    input.mode === 'apply'
      ? changes.filter((c) => !applied.some((d) => same(d, c)) && !failed.some((f) => same(c, f)))
      : [];
  const status: TaskStatus = input.interruptedBy
    ? 'interrupted'
    : input.skipped
      ? 'skipped'
      : input.error || failed.length || checksFailed
        ? 'failed'
        : changes.length === 0
          ? 'nothing to do'
          : input.mode === 'apply'
            ? 'applied'
            : 'planned';
  return {
    task: input.task,
    title: input.title,
    mode: input.mode,
    status,
    startedAt: input.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    changes,
    kept: plan?.kept ?? [],
    refused: plan?.refused ?? [],
    figures: [...(plan?.figures ?? []), ...(outcome?.figures ?? [])].map(numericFigure),
    notes: [
      ...(plan?.notes ?? []),
      ...(outcome?.notes ?? []),
      ...(input.skipped ? [input.skipped] : []),
      ...(input.interruptedBy
        ? [`interrupted by ${input.interruptedBy}: a rerun plans again and finishes the rest`]
        : []),
    ],
    applied,
    failed,
    notStarted,
    checks,
    ...(outcome?.undo?.length ? { undo: outcome.undo } : {}),
    ...(plan?.charts?.length || outcome?.charts?.length
      ? { charts: mergeCharts([...(plan?.charts ?? []), ...(outcome?.charts ?? [])]) }
      : {}),
    ...(input.error ? { error: input.error } : {}),
    summary: {
      changes: changes.length,
      bytes: totalBytes(changes),
      applied: applied.length,
      failed: failed.length,
      notStarted: notStarted.length,
      checksFailed,
    },
  };
}

export interface RunReport {
  task: string;
  mode: 'plan' | 'apply';
  startedAt: string;
  finishedAt: string;
  /** interrupted when a signal stopped the run; otherwise failed when any task failed; else done. */
  status: 'done' | 'failed' | 'interrupted';
  tasks: TaskReport[];
  summary: {
    changes: number;
    bytes: number;
    applied: number;
    failed: number;
    notStarted: number;
    checksFailed: number;
    tasksFailed: string[];
  };
}

export function runReport(name: string, mode: 'plan' | 'apply', startedAt: Date, tasks: TaskReport[]): RunReport {
  const sum = (key: 'changes' | 'bytes' | 'applied' | 'failed' | 'notStarted' | 'checksFailed') =>
    tasks.reduce((total, t) => total + t.summary[key], 0);
  return {
    task: name,
    mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    status: tasks.some((t) => t.status === 'interrupted')
      ? 'interrupted'
      : tasks.some((t) => t.status === 'failed')
        ? 'failed'
        : 'done',
    tasks,
    summary: {
      changes: sum('changes'),
      bytes: sum('bytes'),
      applied: sum('applied'),
      failed: sum('failed'),
      notStarted: sum('notStarted'),
      checksFailed: sum('checksFailed'),
      tasksFailed: tasks.filter((t) => t.status === 'failed').map((t) => t.task),
    },
  };
}

/** A file name without colons (they break copying to Windows and some tools): clean:all → clean-all. */
export function reportBaseName(report: TaskReport | RunReport): string {
  return `${report.startedAt.replace(/[:.]/g, '-')}-${report.task.replace(/[^A-Za-z0-9._-]+/g, '-')}`;
}

/** How many reports of each kind a folder keeps (see pruneReports). */
export interface ReportsKept {
  /** Runs that changed nothing (plans, --check, --dry-run, nothing to do): REPORTS_KEEP. */
  planOnly: number;
  /** Runs that changed something (an item applied or failed while applying): REPORTS_KEEP_CHANGED. */
  changed: number;
}

/** A report of a run that changed nothing is named `….plan.json`, so pruning tells the kinds apart by name alone. */
const PLAN_ONLY = '.plan';

/** Whether the run changed something: an item applied, or one that failed while applying (it may have changed part). */
export function changedSomething(report: TaskReport | RunReport): boolean {
  return report.mode === 'apply' && report.summary.applied + report.summary.failed > 0;
}

/**
 * Writes `<dir>/<timestamp>-<name>.json` (`….plan.json` for a run that changed nothing) and `.md`
 * beside it, removes the oldest reports of each kind beyond what `keep` says (a report is its
 * pair of files), and returns the JSON path.
 */
export function writeReport(
  dir: string,
  report: TaskReport | RunReport,
  keep: ReportsKept = { planOnly: Infinity, changed: Infinity },
): string {
  mkdirSync(dir, { recursive: true });
  const base = `${reportBaseName(report)}${changedSomething(report) ? '' : PLAN_ONLY}`;
  const path = join(dir, `${base}.json`);
  const clean = redactValue(report) as TaskReport | RunReport;
  writeFileSync(path, JSON.stringify(clean, null, 2) + '\n');
  writeFileSync(join(dir, `${base}.md`), redact(markdownReport(clean)));
  pruneReports(dir, keep);
  return path;
}

/**
 * Keeps the newest reports of each kind: `planOnly` of the runs that changed nothing, `changed`
 * of the runs that changed something, counted apart, so a daily --check never pushes out the
 * record of a real clean-up. Names start with the time, so they sort by age.
 */
export function pruneReports(dir: string, keep: ReportsKept): string[] {
  const isReport = (name: string) => /^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*\.(json|md)$/.test(name);
  const bases = [
    ...new Set(
      readdirSync(dir)
        .filter(isReport)
        .map((name) => name.replace(/\.(json|md)$/, '')),
    ),
  ].sort();
  const oldest = (list: string[], count: number) => list.slice(0, Math.max(0, list.length - count));
  const old = [
    ...oldest(
      bases.filter((b) => b.endsWith(PLAN_ONLY)),
      keep.planOnly,
    ),
    ...oldest(
      bases.filter((b) => !b.endsWith(PLAN_ONLY)),
      keep.changed,
    ),
  ];
  for (const base of old) for (const ext of ['json', 'md']) rmSync(join(dir, `${base}.${ext}`), { force: true });
  return old;
}

/**
 * One Markdown table (markdown-table, GFM): a header row, then a row per entry, each value
 * written on one line with its | escaped, so a reason or a path never breaks the table. The
 * columns are not padded: a report's reasons would widen every row to the longest.
 */
export function markdownRows(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (value: unknown) =>
    String(value ?? '')
      .replace(/\|/g, '\\|')
      .replace(/\n/g, ' ');
  return markdownTable([headers.map(cell), ...rows.map((row) => row.map(cell))], { alignDelimiters: false });
}

function table(headers: string[], rows: unknown[][]): string[] {
  return rows.length ? [markdownRows(headers, rows), ''] : [];
}

function markdownTask(t: TaskReport, level: string): string[] {
  const changeRows = (list: Omit<Change, 'op'>[]) =>
    list.map((c) => [c.action, c.host ?? '', c.target, c.bytes, c.reason]);
  const section = (title: string, lines: string[]) => (lines.length ? [`${level}# ${title}`, '', ...lines] : []);
  return [
    `${level} ${t.title} (${t.task})`,
    '',
    `Status: **${t.status}** (${t.mode}), ${t.startedAt} – ${t.finishedAt}. ` +
      `${t.summary.changes} changes, ${t.summary.bytes} bytes; ${t.summary.applied} applied, ` +
      `${t.summary.failed} failed, ${t.summary.notStarted} not started.`,
    '',
    ...(t.error ? [`Error: ${t.error}`, ''] : []),
    ...section('Changes', table(['action', 'host', 'target', 'bytes', 'reason'], changeRows(t.changes))),
    ...section('Applied', table(['action', 'host', 'target', 'bytes', 'reason'], changeRows(t.applied))),
    ...section(
      'Failed',
      table(
        ['action', 'host', 'target', 'error'],
        t.failed.map((f) => [f.action, f.host ?? '', f.target, f.error]),
      ),
    ),
    ...section('Not started', table(['action', 'host', 'target', 'bytes', 'reason'], changeRows(t.notStarted))),
    ...section(
      'Refused',
      table(
        ['target', 'reason', 'remedy'],
        t.refused.map((r) => [r.target, r.reason, r.remedy ?? '']),
      ),
    ),
    ...section(
      'Kept',
      table(
        ['host', 'target', 'reason'],
        t.kept.map((k) => [k.host ?? '', k.target, k.reason]),
      ),
    ),
    ...section(
      'Figures',
      table(
        ['figure', 'value'],
        t.figures.map((f) => [f.label, f.value]),
      ),
    ),
    ...section('Charts', chartsMarkdown(t.charts ?? [], `${level}##`)),
    ...section(
      'Checks',
      table(
        ['check', 'result', 'figure'],
        t.checks.map((c) => [c.name, c.passed ? 'PASS' : 'FAIL', c.figure]),
      ),
    ),
    ...section('Notes', t.notes.map((n) => `- ${n}`).concat(t.notes.length ? [''] : [])),
  ];
}

/** The same tables as the JSON, in Markdown. */
export function markdownReport(report: TaskReport | RunReport): string {
  if ('tasks' in report) {
    const s = report.summary;
    return [
      `# Clean-up report: ${report.task}`,
      '',
      `Status: **${report.status}** (${report.mode}), ${report.startedAt} – ` +
        `${report.finishedAt}. ${s.changes} changes, ${s.bytes} bytes; ${s.applied} applied, ` +
        `${s.failed} failed, ${s.notStarted} not started.`,
      '',
      ...table(
        ['task', 'status', 'changes', 'bytes', 'applied', 'failed', 'not started'],
        report.tasks.map((t) => [
          t.task,
          t.status,
          t.summary.changes,
          t.summary.bytes,
          t.summary.applied,
          t.summary.failed,
          t.summary.notStarted,
        ]),
      ),
      ...report.tasks.flatMap((t) => markdownTask(t, '##')),
    ].join('\n');
  }
  return [`# Clean-up report`, '', ...markdownTask(report, '##')].join('\n');
}
