/** What follows a finished run: the audit log, the post-hooks, then the notification. */
import { basename } from 'node:path';
import type { Plan } from '../plan.ts';
import type { RunReport, TaskReport } from '../report.ts';
import type { ApplyOutcome, CleanupTask, TaskContext } from '../task.ts';
import { appendAtPlaces, appendLocal, auditLine } from './audit.ts';
import { resultOf, totalsOf, type RunFacts, type RunOutcome } from './facts.ts';
import { runPostHooks } from './hooks.ts';
import { notificationText, sendNotification, shouldNotify } from './notify.ts';

/** A task of the run as the audit needs it (the pipeline's RunItem fits). */
export interface FinishedItem {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  task: Pick<CleanupTask<any, any>, 'name' | 'auditPlaces'>;
  plan?: Plan;
  outcome?: ApplyOutcome;
  ctx: TaskContext;
}

export interface FinishedRun {
  facts: RunFacts;
  exitCode: number;
  report?: RunReport;
  reportPath?: string;
  items: FinishedItem[];
  reportsDir: string;
  /** Whether apply ran: post-hooks follow only a run that applied (or tried to). */
  applied: boolean;
  settings: { NOTIFY_URL?: string; HOOKS_DIR: string };
  say: (text: string) => void;
}

function outcomeOf(
  reports: (TaskReport | RunReport)[],
  totals: string,
  exitCode: number,
  status: string,
  report?: string,
): RunOutcome {
  const applied = reports.reduce((n, r) => n + r.summary.applied, 0);
  const failed = reports.reduce((n, r) => n + r.summary.failed, 0);
  return { totals, applied, failed, result: resultOf(exitCode, applied, status), report };
}

const audited = new Set(['applied', 'failed', 'interrupted']);

/** One line per task that applied (or tried to): locally, and on each host the task says it changed. */
async function writeAudit(run: FinishedRun, report: RunReport, reportName: string | undefined): Promise<string[]> {
  const warnings: string[] = [];
  for (const task of report.tasks.filter((t) => t.summary.changes > 0 && audited.has(t.status))) {
    const item = run.items.find((i) => i.task.name === task.task);
    const places =
      item?.plan && item.outcome && item.task.auditPlaces
        ? item.task.auditPlaces(item.plan, item.outcome, item.ctx)
        : [];
    const line = auditLine({
      time: task.finishedAt,
      user: run.facts.user,
      machine: run.facts.machine,
      run: run.facts.run,
      task: task.task,
      runId: run.facts.runId,
      applied: task.summary.applied,
      failed: task.summary.failed,
      result: task.status,
      report: reportName,
      hosts: places.map(({ host, path }) => ({ host, path })),
    });
    try {
      appendLocal(run.reportsDir, line);
    } catch (error) {
      warnings.push(
        `warning: the local audit log in ${run.reportsDir} could not be written (${(error as Error).message}).`,
      );
    }
    warnings.push(...(await appendAtPlaces(places, line)));
  }
  return warnings;
}

const reportNameOf = (run: FinishedRun) =>
  run.reportPath ? basename(run.reportPath).replace(/\.json$/, '.md') : undefined;

/**
 * Writes the audit log of a run that applied: called before the run's clean-up hooks close its
 * ssh connections, so each host's line goes over the connection the task used.
 */
export async function auditRun(run: FinishedRun): Promise<void> {
  if (run.report?.mode !== 'apply') return;
  for (const warning of await writeAudit(run, run.report, reportNameOf(run))) run.say(warning);
}

/** Runs the post-hooks and sends the notification; returns the run's exit code (1 when a post-hook failed). */
export async function afterRun(run: FinishedRun): Promise<number> {
  const { facts, report, settings, say } = run;
  let exitCode = run.exitCode;
  const reportName = reportNameOf(run);
  const plans = run.items.flatMap((item) => (item.plan ? [item.plan] : []));
  if (report && run.applied) {
    const tasks = report.tasks
      .filter((task) => task.summary.changes > 0)
      .map((task) => ({
        name: task.task,
        changes: task.summary.changes,
        outcome: outcomeOf(
          [task],
          totalsOf(plans.filter((plan) => plan.task === task.task)),
          exitCode,
          task.status,
          reportName,
        ),
      }));
    const warnings = await runPostHooks(settings.HOOKS_DIR, facts, tasks, say);
    for (const warning of warnings) say(warning);
    if (warnings.length && exitCode === 0) exitCode = 1;
  }
  const outcome = outcomeOf(report ? [report] : [], totalsOf(plans), exitCode, report?.status ?? 'failed', reportName);
  if (settings.NOTIFY_URL && shouldNotify(outcome)) {
    const warning = await sendNotification(settings.NOTIFY_URL, notificationText(facts, outcome));
    if (warning) say(warning);
  }
  return exitCode;
}
