/** The end of a run: results and checks printed, the report written (and on stdout with --json), the exit code. */
import type { ParsedOptions } from '../cli.ts';
import { messageOf, UsageError } from '../errors.ts';
import { redact } from '../redact.ts';
import { runReport, taskReport, writeReport, type ReportsKept, type RunReport, type TaskReport } from '../report.ts';
import { say } from './steps.ts';
import { signalExitCode } from './signals.ts';
import type { Mode, RunItem } from './steps.ts';

export interface PipelineResult {
  exitCode: number;
  report?: RunReport;
  reportPath?: string;
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
  for (const check of report.checks)
    say(
      `   ${check.passed ? 'PASS' : 'FAIL'}  ${check.name}: ${check.figure}${check.detail && !check.passed ? `\n         ${check.detail}` : ''}`,
    );
}

export function finishRun(run: {
  name: string;
  mode: Mode;
  startedAt: Date;
  items: RunItem[];
  options: ParsedOptions;
  reports: { dir: string; keep: ReportsKept };
  stoppedBy?: NodeJS.Signals;
}): PipelineResult {
  const { name, mode, startedAt, items, options, reports, stoppedBy } = run;
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
  const path = writeReport(reports.dir, single ?? report, reports.keep);
  if (options.json)
    process.stdout.write(JSON.stringify(JSON.parse(redact(JSON.stringify(single ?? report))), null, 2) + '\n');
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
  return { exitCode, report, reportPath: path };
}
