/** Runs a script through `npm run`, exactly as a user types it (shared by the CLI and operations tests). */
import { spawn } from 'node:child_process';
import { taskEnvironment } from './run-task.ts';

export interface Run {
  code: number | null;
  /** The signal npm ended with: on a signal to the whole group, npm re-raises it on itself, so a shell's $? is 128 + its number. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: no npm_config_* of the test's own `npm test` may leak into the run. */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return taskEnvironment({ CI: 'true', ...env });
}

/**
 * `npm run <script> <args>` in `cwd`, in a process group of its own so that a signal reaches npm,
 * the shell and node together, as Ctrl-C on a terminal does.
 */
export function npmRun(
  cwd: string,
  args: string[],
  env: Record<string, string>,
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', ...args], {
    cwd,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
    onStderr?.(stderr, child);
  });
  const timer = setTimeout(() => {
    stderr += '\n[test] killed: still running after 120 s\n';
    process.kill(-child.pid!, 'SIGKILL');
  }, 120_000);
  return new Promise((done) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    }),
  );
}
