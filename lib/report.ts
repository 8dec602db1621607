/**
 * The JSON report of a run: what was planned, what was applied, what failed, what was checked.
 * Written for every run (plan or apply) into the reports folder, and printed with --json.
 * Secrets are redacted before anything is written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicChange, totalBytes, type Change, type Figure, type Kept, type Plan, type Refusal } from './plan.ts';
import { redactValue } from './redact.ts';
import type { ApplyOutcome, Check, Failure } from './task.ts';

export type TaskStatus = 'planned' | 'nothing to do' | 'applied' | 'failed' | 'skipped';

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
  figures: Figure[];
  notes: string[];
  applied: Omit<Change, 'op'>[];
  failed: Failure[];
  checks: Check[];
  /** What `--restore` needs to undo this run, when the task keeps it. */
  undo?: unknown[];
  error?: string;
  summary: { changes: number; bytes: number; applied: number; failed: number; checksFailed: number };
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
}): TaskReport {
  const plan = input.plan;
  const outcome = input.outcome;
  const checks = input.checks ?? [];
  const changes = (plan?.changes ?? []).map(publicChange);
  const failed = outcome?.failed ?? [];
  const checksFailed = checks.filter((c) => !c.passed).length;
  const status: TaskStatus = input.skipped
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
    figures: [...(plan?.figures ?? []), ...(outcome?.figures ?? [])],
    notes: [...(plan?.notes ?? []), ...(outcome?.notes ?? []), ...(input.skipped ? [input.skipped] : [])],
    applied: (outcome?.done ?? []).map(publicChange),
    failed,
    checks,
    ...(outcome?.undo?.length ? { undo: outcome.undo } : {}),
    ...(input.error ? { error: input.error } : {}),
    summary: { changes: changes.length, bytes: totalBytes(changes), applied: outcome?.done.length ?? 0, failed: failed.length, checksFailed },
  };
}

export interface RunReport {
  task: string;
  mode: 'plan' | 'apply';
  startedAt: string;
  finishedAt: string;
  tasks: TaskReport[];
  summary: { changes: number; bytes: number; applied: number; failed: number; checksFailed: number; tasksFailed: string[] };
}

export function runReport(name: string, mode: 'plan' | 'apply', startedAt: Date, tasks: TaskReport[]): RunReport {
  const sum = (key: 'changes' | 'bytes' | 'applied' | 'failed' | 'checksFailed') => tasks.reduce((total, t) => total + t.summary[key], 0);
  return {
    task: name,
    mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    tasks,
    summary: {
      changes: sum('changes'),
      bytes: sum('bytes'),
      applied: sum('applied'),
      failed: sum('failed'),
      checksFailed: sum('checksFailed'),
      tasksFailed: tasks.filter((t) => t.status === 'failed').map((t) => t.task),
    },
  };
}

/** Writes the report as `<dir>/<timestamp>-<name>.json` and returns the path. */
export function writeReport(dir: string, report: TaskReport | RunReport): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const path = join(dir, `${stamp}-${report.task}.json`);
  writeFileSync(path, JSON.stringify(redactValue(report), null, 2) + '\n');
  return path;
}
