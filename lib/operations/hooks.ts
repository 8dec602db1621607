/**
 * Hooks like Kamal's: an executable HOOKS_DIR/pre-<task> runs before that task applies anything
 * (a failure stops the run with nothing changed), HOOKS_DIR/post-<task> after the run, with the
 * run's facts in its environment. A hook is run as an argv (`env K=V … hook`) by the one runner.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { messageOf, TaskError, UsageError } from '../errors.ts';
import { localRunner } from '../runner.ts';
import type { RunFacts, RunOutcome } from './facts.ts';

export type HookStage = 'pre' | 'post';

/** What a hook sees, as CLEANUP_* variables: names and counts, never a setting's value. */
export function hookEnvironment(
  facts: RunFacts,
  task: string,
  changes: number,
  outcome?: RunOutcome,
): Record<string, string> {
  return {
    CLEANUP_RUN_ID: facts.runId,
    CLEANUP_RUN: facts.run,
    CLEANUP_TASK: task,
    CLEANUP_USER: facts.user,
    CLEANUP_MACHINE: facts.machine,
    CLEANUP_CHANGES: String(changes),
    ...(outcome
      ? {
          CLEANUP_RESULT: outcome.result,
          CLEANUP_TOTALS: outcome.totals,
          CLEANUP_APPLIED: String(outcome.applied),
          CLEANUP_FAILED: String(outcome.failed),
          CLEANUP_REPORT: outcome.report ?? '',
        }
      : {}),
  };
}

export function hookCommand(path: string, environment: Record<string, string>): Command {
  return ['env', ...Object.entries(environment).map(([key, value]) => `${key}=${value}`), path];
}

/** The hook's path when there is one; a file there that cannot be run is bad input (exit 2). */
export function findHook(dir: string, stage: HookStage, task: string): string | undefined {
  const path = resolve(join(dir, `${stage}-${task}`));
  if (!existsSync(path) || !statSync(path).isFile()) return undefined;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new UsageError(
      `${path} is not executable, so the ${stage}-${task} hook cannot run; make it executable ` +
        `(chmod +x ${path}) or move it out of HOOKS_DIR. Nothing was changed.`,
    );
  }
  return path;
}

/** Runs one hook; its output is shown. Throws TaskError when it fails, naming it and its exit code. */
export async function runHook(path: string, environment: Record<string, string>, say: (text: string) => void) {
  const name = path.split('/').at(-1)!;
  const result = await localRunner().run(hookCommand(path, environment), { allowFailure: true });
  const output = (result.stdout + result.stderr).trim();
  say(`hook ${name}: exit ${result.exitCode}${output ? `\n   ${output.split('\n').join('\n   ')}` : ''}`);
  if (result.exitCode !== 0) throw new TaskError(`hook ${path} exited with ${result.exitCode}`);
}

/** Every pre-hook of the tasks about to apply, in order; the first failure stops the run before any change. */
export async function runPreHooks(
  dir: string,
  facts: RunFacts,
  tasks: { name: string; changes: number }[],
  say: (text: string) => void,
): Promise<void> {
  // The pipeline puts an error outside any task into the report only: say it here too.
  const stop = (error: Error) => {
    say(error.message);
    return error;
  };
  let found;
  try {
    found = tasks.map((task) => ({ ...task, path: findHook(dir, 'pre', task.name) }));
  } catch (error) {
    throw stop(error as Error);
  }
  for (const task of found) {
    if (!task.path) continue;
    try {
      await runHook(task.path, hookEnvironment(facts, task.name, task.changes), say);
    } catch (error) {
      throw stop(new TaskError(`${messageOf(error)}: the run stops before applying anything; nothing was changed.`));
    }
  }
}

/** Every post-hook, after the report is written; returns the warnings of those that failed (the changes stand). */
export async function runPostHooks(
  dir: string,
  facts: RunFacts,
  tasks: { name: string; changes: number; outcome: RunOutcome }[],
  say: (text: string) => void,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const task of tasks) {
    try {
      const path = findHook(dir, 'post', task.name);
      if (path) await runHook(path, hookEnvironment(facts, task.name, task.changes, task.outcome), say);
    } catch (error) {
      warnings.push(`warning: ${messageOf(error)} after the run; what was applied stands, the run exits 1.`);
    }
  }
  return warnings;
}
