/**
 * The shape every task in tasks/ has. A task reads the world and returns a typed Plan; `apply`
 * carries out exactly that Plan; `check` verifies the outcome. The pipeline (lib/pipeline/)
 * owns everything around these three: flags, settings, rendering, confirmation, reports, exit codes.
 */
import type { Change, Figure, Plan } from './plan.ts';
import type { Chart } from './charts.ts';
import type { Runner } from './runner.ts';
import type { SettingsOf, SettingsSpec } from './settings.ts';

export interface CommonOptions {
  dryRun: boolean;
  yes: boolean;
  json: boolean;
  force: boolean;
}

export interface TaskOption {
  type: 'boolean' | 'string';
  help: string;
  /** Only when the task runs by itself: a chain (clean:all) refuses it, since it names one task's own things (a run to undo, one host). */
  alone?: boolean;
}

export interface TaskContext<S extends SettingsSpec = SettingsSpec> {
  settings: SettingsOf<S>;
  options: CommonOptions & Record<string, string | boolean | undefined>;
  /**
   * The time the plan is decided at (ms): the run's start, or under --plan the saved plan's, so that
   * ages and grace periods judge as they did when the plan was approved.
   */
  now: number;
  /** Shows a live progress line under the task (a TTY renders it in place; plain output prints it). */
  progress(message: string): void;
  /** Registers a clean-up (close connections, release locks) run on every exit path. */
  onClose(close: () => Promise<void> | void): void;
  /** One instance per task and key for the run, shared by its plan, apply and check (clients, ssh runners). */
  memo<T>(key: string, make: () => T): T;
  /**
   * Aborted on the first Ctrl-C (SIGINT) or SIGTERM. Long steps stop starting new work when it
   * fires and return what they finished; the pipeline then skips the remaining steps, runs every
   * onClose (locks are released) and exits 130. A second signal exits at once, after onClose.
   */
  signal: AbortSignal;
}

export interface Failure {
  action: string;
  target: string;
  host?: string;
  error: string;
}

export interface ApplyOutcome {
  done: Change[];
  failed: Failure[];
  figures: Figure[];
  notes: string[];
  /** What a later run needs to undo this one (the registry's journal of deleted manifests). */
  undo?: unknown[];
  /** Checks measured at the end of apply, before a later task of the chain changes what they look at. */
  checks?: Check[];
  /** The "after" of the report's charts (lib/charts.ts), joined to the plan's charts of the same id. */
  charts?: Chart[];
}

export interface Check {
  name: string;
  passed: boolean;
  /** The figure the verdict rests on: "3.2 GB of 5 GB", "62% of 80%". */
  figure: string;
  detail?: string;
}

/**
 * What a task's plan hands to the tasks after it in a chain (clean:all), typed, so that a later
 * plan can say what an earlier one changes first. Empty when a task runs alone.
 */
export interface Handoffs {
  /** The inventory commits in BACKEND_DIR before the deploy builds: the task that makes that commit. */
  backendCommitBy?: string;
  /** The containers the server task removes, by host: the deploy's clean-up does not repeat them. */
  removedContainers?: { host: string; id: string }[];
}

/** A host an apply changed, and where its audit line goes there (lib/operations/audit.ts). */
export interface AuditPlace {
  /** The host as the settings name it. */
  host: string;
  /** The log's path on that host; relative paths start at the ssh login's home. */
  path: string;
  /** A fresh runner for that host: the run's own connections are closed by the time the line is written. */
  runner(): Runner;
}

export interface CleanupTask<S extends SettingsSpec = SettingsSpec, P extends Plan = Plan> {
  name: string;
  title: string;
  settings: S;
  /** Flags of this task beyond the common ones. */
  options?: Record<string, TaskOption>;
  /** Tasks whose failure in the chain means this one must not run. */
  dependsOn?: string[];
  /** Reads the world and decides; `earlier` is what the tasks before it in the chain hand on. */
  plan(ctx: TaskContext<S>, earlier: Handoffs): Promise<P>;
  /** Carries out the plan it is given, and needs nothing else of planning. */
  apply(plan: P, ctx: TaskContext<S>): Promise<ApplyOutcome>;
  /** Runs after apply (or after planning, in plan mode); a failed check fails the run. */
  check?(ctx: TaskContext<S>, mode: 'plan' | 'apply', plan: P): Promise<Check[]>;
  /** What this task's plan hands to the tasks after it in a chain. */
  handsOn?(plan: P): Handoffs;
  /** The hosts this apply changed, beyond this machine, each with its audit log; none: the local log only. */
  auditPlaces?(plan: P, outcome: ApplyOutcome, ctx: TaskContext<S>): AuditPlace[];
}

export function defineTask<S extends SettingsSpec, P extends Plan>(task: CleanupTask<S, P>): CleanupTask<S, P> {
  return task;
}

export function emptyOutcome(): ApplyOutcome {
  return { done: [], failed: [], figures: [], notes: [] };
}
