import { spawn, type ChildProcess } from 'node:child_process';

export interface TaskRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The --json report, when stdout held one. */
  report?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The --json report a run printed on stdout, if it printed one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function reportOf(stdout: string): any {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

/**
 * The whole environment of a task the tests start: no settings file, only the given settings, and
 * CLEANUP_TEST_RUN, which marks what this test run starts so that scripts/test.ts can stop it
 * (test/support/teardown.ts).
 */
export function taskEnvironment(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    CLEANUP_ENV_FILE: '/nonexistent/.env',
    ...(process.env.CLEANUP_TEST_RUN ? { CLEANUP_TEST_RUN: process.env.CLEANUP_TEST_RUN } : {}),
    ...env,
  };
}

/** A task started as a process of its own (no terminal), for a test to watch, signal or kill. */
export interface StartedTask {
  child: ChildProcess;
  /** Once it has exited: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

/** Starts a task file as a user would, with only the given settings; its output kept. */
export function startTask(file: string, args: string[], env: Record<string, string>): StartedTask {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    env: taskEnvironment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/**
 * Runs a task file as a user would (a subprocess, no terminal), with only the given settings.
 * Asynchronous, so that servers living in the test process (a token issuer) keep answering.
 */
export async function runTask(
  file: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 300_000,
): Promise<TaskRun> {
  const task = startTask(file, args, env);
  let killed = '';
  const timer = setTimeout(() => {
    killed = `\n[test] killed: still running after ${timeoutMs / 1000} s\n`;
    task.child.kill('SIGKILL');
  }, timeoutMs);
  // 'close', not 'exit': the output is read to its end.
  const code = await new Promise<number | null>((resolve) => task.child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout: task.stdout(), stderr: task.stderr() + killed, report: reportOf(task.stdout()) };
}

/**
 * A failed run's assertion message: how it ended, then the end of its output, where the error is
 * (a plan printed first can fill a page; CI shows the start of a long message only).
 */
export function howItEnded(run: { code: number | null; signal?: NodeJS.Signals | null; stderr: string }): string {
  const lines = run.stderr.trimEnd().split('\n');
  const shown = lines.slice(-30);
  const cut = lines.length > shown.length ? `(the last ${shown.length} of ${lines.length} lines)` : '(whole)';
  return `exit ${run.code}${run.signal ? ` (${run.signal})` : ''}; its stderr ${cut}:\n${shown.join('\n')}`;
}
