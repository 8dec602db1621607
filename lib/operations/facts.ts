/**
 * The facts of one run that hooks, the notification and the audit log pass on: names, counts
 * and the result, never a setting's value, so no secret can travel with them.
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { totalLine, type Plan } from '../plan.ts';

export interface RunFacts {
  /** Short and unique: ties a run's hooks, notification, audit lines and report together. */
  runId: string;
  /** The script: clean:registry, clean:all. */
  run: string;
  user: string;
  machine: string;
}

export interface RunOutcome {
  totals: string;
  applied: number;
  failed: number;
  /** applied, failed, interrupted, changes pending, nothing to do, planned. */
  result: string;
  /** The Markdown report's file name. */
  report?: string;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers): the variable, or the number.
    return process.env.USER || String(process.getuid?.() ?? 'unknown');
  }
}

export function runFacts(run: string): RunFacts {
  return { runId: randomUUID().slice(0, 8), run, user: currentUser(), machine: hostname() };
}

export function totalsOf(plans: Plan[]): string {
  return plans.length ? totalLine(plans) : 'nothing planned';
}

/** The run's result in one word or two, from its exit code and what apply did. */
export function resultOf(exitCode: number, applied: number, status: string): string {
  if (exitCode === 3) return 'changes pending';
  if (exitCode >= 128) return 'interrupted';
  if (exitCode !== 0) return 'failed';
  return applied > 0 ? 'applied' : status;
}
