/**
 * Runs tasks inside the test's own process, as `node --import tsx tasks/x.ts ARGS` would with only
 * the given settings: the same `runPipeline` a task file's entry calls, with the environment and
 * the output swapped for the call. A task process costs about a second of CPU to start (Node,
 * tsx, the task's modules); a quick run of the suite starts none where the test is about the
 * task itself. What npm, scripts/task.sh or the process do (flags npm takes, --env-file, exit
 * codes and signals through npm) stays tested through `npm run` (test/support/npm-run.ts).
 */
import { runPipeline } from '../../lib/pipeline/run.ts';
import type { AnyTask } from '../../lib/pipeline/steps.ts';
import { demoTask } from '../fixtures/demo-task.ts';
import { reportOf, taskEnvironment, type TaskRun } from './run-task.ts';

let busy = false;

/**
 * `name` is the script the entry passes to `main` ('clean:inventory'); `args` are what follows `--`.
 * One run at a time: the environment and the output are the process's own.
 */
export async function runInProcess(
  name: string,
  tasks: AnyTask[],
  args: string[],
  env: Record<string, string>,
): Promise<TaskRun> {
  if (busy) throw new Error('runInProcess: one run at a time (it swaps process.env and the output)');
  busy = true;
  // In place, not a new object: zx and others keep a reference to process.env.
  const saved = { ...process.env };
  const setEnv = (values: Record<string, string | undefined>) => {
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, values);
  };
  let stdout = '';
  let stderr = '';
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const capture =
    (append: (text: string) => void) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    };
  // A subprocess with piped output has no terminal: plain output, no prompt, whatever runs the test.
  const ttys = [process.stdin, process.stdout, process.stderr].map((stream) =>
    Object.getOwnPropertyDescriptor(stream, 'isTTY'),
  );
  for (const stream of [process.stdin, process.stdout, process.stderr])
    Object.defineProperty(stream, 'isTTY', { value: undefined, configurable: true, writable: true });
  // The pipeline takes SIGINT and SIGTERM while it runs: one meant for the test process (the
  // runner passing on Ctrl-C) is raised again once the run is over, so that the process still ends.
  let signalled: NodeJS.Signals | undefined;
  const note = (signal: NodeJS.Signals) => (signalled ??= signal);
  process.on('SIGINT', note).on('SIGTERM', note);
  setEnv(taskEnvironment(env));
  process.stdout.write = capture((text) => (stdout += text)) as typeof process.stdout.write;
  process.stderr.write = capture((text) => (stderr += text)) as typeof process.stderr.write;
  try {
    const { exitCode } = await runPipeline(name, tasks, args);
    return { code: exitCode, stdout, stderr, report: reportOf(stdout) };
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    setEnv(saved);
    [process.stdin, process.stdout, process.stderr].forEach((stream, i) => {
      const descriptor = ttys[i];
      if (descriptor) Object.defineProperty(stream, 'isTTY', descriptor);
      else delete (stream as { isTTY?: boolean }).isTTY;
    });
    process.off('SIGINT', note).off('SIGTERM', note);
    busy = false;
    if (signalled) process.kill(process.pid, signalled);
  }
}

/** The demo task (test/fixtures/demo-task.ts) as `npm run demo -- ARGS` runs it, in this process. */
export const runDemo = (args: string[], env: Record<string, string>) => runInProcess('demo', [demoTask], args, env);
