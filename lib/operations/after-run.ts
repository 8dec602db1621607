/** What follows a finished run: the post-hooks, then the notification (then the audit log). */
import { basename } from 'node:path';
import type { Plan } from '../plan.ts';
import type { RunReport, TaskReport } from '../report.ts';
import { resultOf, totalsOf, type RunFacts, type RunOutcome } from './facts.ts';
import { runPostHooks } from './hooks.ts';
import { notificationText, sendNotification, shouldNotify } from './notify.ts';

export interface FinishedRun {
  facts: RunFacts;
  exitCode: number;
  report?: RunReport;
  reportPath?: string;
  plans: Plan[];
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

/** Runs the post-hooks and sends the notification; returns the run's exit code (1 when a post-hook failed). */
export async function afterRun(run: FinishedRun): Promise<number> {
  const { facts, report, settings, say } = run;
  let exitCode = run.exitCode;
  const reportName = run.reportPath ? basename(run.reportPath).replace(/\.json$/, '.md') : undefined;
  if (report && run.applied) {
    const tasks = report.tasks
      .filter((task) => task.summary.changes > 0)
      .map((task) => ({
        name: task.task,
        changes: task.summary.changes,
        outcome: outcomeOf(
          [task],
          totalsOf(run.plans.filter((plan) => plan.task === task.task)),
          exitCode,
          task.status,
          reportName,
        ),
      }));
    const warnings = await runPostHooks(settings.HOOKS_DIR, facts, tasks, say);
    for (const warning of warnings) say(warning);
    if (warnings.length && exitCode === 0) exitCode = 1;
  }
  const outcome = outcomeOf(
    report ? [report] : [],
    totalsOf(run.plans),
    exitCode,
    report?.status ?? 'failed',
    reportName,
  );
  if (settings.NOTIFY_URL && shouldNotify(outcome)) {
    const warning = await sendNotification(settings.NOTIFY_URL, notificationText(facts, outcome));
    if (warning) say(warning);
  }
  return exitCode;
}
