import { spawnSync } from 'node:child_process';

export interface TaskRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The --json report, when stdout held one. */
  report?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Runs a task file as a user would (a subprocess, no terminal), with only the given settings. */
export function runTask(file: string, args: string[], env: Record<string, string>, timeoutMs = 300_000): TaskRun {
  const result = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CLEANUP_ENV_FILE: '/nonexistent/.env', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
    maxBuffer: 256 << 20,
  });
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    report = undefined;
  }
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, report };
}
