/**
 * `npm test` and `npm run test:quick`: runs the test files side by side, one uvu process per file
 * (a file's state is its own, as when it runs alone), prints each file's output whole when it
 * ends, then one summary; then stops everything the run started, on success and on failure alike:
 * the Docker engines (containers first, then dockerd), registries and ssh servers. Ends with 0
 * when every file passed and nothing was left running, else 1.
 *
 *   node --import tsx scripts/test.ts [--quick] [--jobs N] [dir] [pattern] [uvu flags]
 *   (defaults: test "\.test\.ts$"; --quick: only the files that need no engine, registry or sshd)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, relative } from 'node:path';
import { releaseDeadClaims } from '../sandbox/fixtures/ports.ts';
import { quickRunVariable } from '../sandbox/fixtures/quick-run.ts';
import { runMarker, tearDownRun, processesOfRun } from '../test/support/teardown.ts';
import { needsRealParts, splitSummary, testFiles, type FileCounts } from '../test/support/test-run.ts';

const say = (text: string) => process.stderr.write(`test run: ${text}\n`);
const args = process.argv.slice(2);
/** Takes `name` (and its value, when it has one) out of the arguments; undefined when absent. */
const option = (name: string, hasValue: boolean) => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : (args.splice(at, hasValue ? 2 : 1)[1] ?? '');
};
const quick = option('--quick', false) !== undefined;
// The files wait on engines, sshd and health checks more than they compute: more at a time than
// cores.
const jobs = Number(option('--jobs', true) ?? process.env.CLEANUP_TEST_JOBS ?? availableParallelism() + 2);
if (!Number.isInteger(jobs) || jobs < 1) {
  say(`--jobs (or CLEANUP_TEST_JOBS) must be a whole number, 1 or more (1 runs the files one after another)`);
  process.exit(2);
}
const [dir = 'test', pattern = '\\.test\\.ts$', ...flags] = args;
const id = randomUUID();
const dockerRoot = process.env.CLEANUP_TEST_DOCKER_DIR ?? '/tmp/cleanup-test-docker';
const started = Date.now();
releaseDeadClaims();

// Each file's last duration, so that the longest start first and the run ends when the last
// short one does, not when a long one started last does.
const timesFile = 'node_modules/.cache/cleanup-test-times.json';
const readTimes = (): Record<string, number> => {
  try {
    return JSON.parse(readFileSync(timesFile, 'utf8'));
  } catch {
    return {};
  }
};
const times = readTimes();
// Not timed yet (a fresh clone, CI): the files on real parts are the long ones, the larger first.
const rank = (file: string) => times[file] ?? (needsRealParts(file) ? Infinity : 0);
const files = testFiles(dir, new RegExp(pattern))
  .filter((file) => !quick || !needsRealParts(file))
  .sort((a, b) => rank(b) - rank(a) || statSync(b).size - statSync(a).size);
if (!files.length) {
  say(`no test file under ${dir} matches ${pattern}${quick ? ' and needs no engine, registry or sshd' : ''}`);
  process.exit(1);
}
say(
  `${files.length} file${files.length === 1 ? '' : 's'}${quick ? ' that need no engine, registry or sshd' : ''}, ${jobs} at a time`,
);

const running = new Set<ChildProcess>();
let stopping = false;
// Each file's uvu is in a group of its own, so it does not get the terminal's Ctrl-C: pass signals on.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    stopping = true;
    for (const child of running) child.kill(signal);
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const totals: FileCounts = { total: 0, passed: 0, skipped: 0 };
const failedFiles: string[] = [];
const groups: number[] = [];

/** Runs one file's uvu; resolves with its exit code once it has exited (or been stopped). */
async function runFile(file: string): Promise<void> {
  const name = relative(dir, file);
  const fileStarted = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/support/open-handles.ts',
      'node_modules/uvu/bin.js',
      dir,
      `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
      ...flags,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [runMarker]: id, ...(quick ? { [quickRunVariable]: '1' } : {}) },
      // A group of its own, so that what the file starts beside uvu can be found by group too.
      detached: true,
    },
  );
  running.add(child);
  groups.push(child.pid!);
  let output = '';
  // uvu's summary ends with "Duration:". A test that failed before its clean-up can leave a child
  // (an sshd) that keeps uvu from exiting; stopping what the file started is what lets it end.
  let summaryAt = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk;
    if (!summaryAt && output.includes('Duration:')) summaryAt = Date.now();
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<number>((resolve) =>
    child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal === 'SIGINT' ? 130 : 143))),
  );
  const stuck = (async () => {
    while (!summaryAt || Date.now() - summaryAt < 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      await sleep(500);
    }
    return undefined;
  })();
  let code = await Promise.race([exited, stuck]);
  if (code === undefined && child.exitCode === null && child.signalCode === null) {
    output += `\n${name}: uvu printed its summary 30 s ago but has not exited: something a test started still runs; what holds it, then stopping it\n`;
    child.kill('SIGUSR2'); // test/support/open-handles.ts prints every open handle with where it was created
    await sleep(2_000);
    // Only this file's group: the engines (each in a session of its own) stay for the run's tear-down.
    for (const { pid } of processesOfRun(randomUUID(), new Set([process.pid, child.pid!]), [child.pid!]))
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    code = await Promise.race([exited, sleep(30_000).then(() => undefined)]);
    if (code === undefined) child.kill('SIGKILL');
    code = (code || 1) as number;
  }
  code ??= await exited;
  running.delete(child);
  // Its group is searched at the tear-down only while something of it still runs: a group id is reused.
  if (!processesOfRun(randomUUID(), new Set([process.pid]), [child.pid!]).length)
    groups.splice(groups.indexOf(child.pid!), 1);
  const seconds = (Date.now() - fileStarted) / 1000;
  times[file] = Date.now() - fileStarted;
  const { counts, body } = splitSummary(output);
  if (counts) for (const key of ['total', 'passed', 'skipped'] as const) totals[key] += counts[key];
  // uvu swallows an error thrown by a before or after hook: its tests never ran, and it exits 0.
  const unrun = counts ? counts.total - counts.passed - counts.skipped : 0;
  if (code !== 0 || !counts || unrun > 0) failedFiles.push(name);
  process.stdout.write(
    `\n── ${name} ──\n${body}\n── ${name}: ${
      counts ? `${counts.passed} of ${counts.total} passed, ${counts.skipped} skipped` : 'no summary'
    }, exit ${code}, ${seconds.toFixed(1)} s${
      code === 0 && unrun > 0
        ? ` (FAILED: ${unrun} neither passed nor failed: a before or after hook threw, which uvu does not print)`
        : ''
    }\n`,
  );
}

const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(jobs, files.length) }, async () => {
    for (let file = queue.shift(); file && !stopping; file = queue.shift()) await runFile(file);
  }),
);
try {
  mkdirSync(dirname(timesFile), { recursive: true });
  writeFileSync(timesFile, `${JSON.stringify(times, null, 2)}\n`);
} catch {
  // a read-only checkout: the next run orders by file size
}

// The one summary of the run: .ci/run sums the "Total:/Passed:/Skipped:" lines it finds.
process.stdout.write(
  [
    '',
    `  Total:     ${totals.total}`,
    `  Passed:    ${totals.passed}`,
    `  Skipped:   ${totals.skipped}`,
    `  Duration:  ${((Date.now() - started) / 1000).toFixed(1)}s (${files.length} files, ${jobs} at a time)`,
    ...(failedFiles.length ? [`  Failed files: ${failedFiles.join(', ')}`] : []),
    '',
    '',
  ].join('\n'),
);

let exitCode = failedFiles.length || stopping ? 1 : 0;
try {
  const left = await tearDownRun(id, dockerRoot, say, { groups });
  if (left.length) {
    say(`still running after the tear-down:\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`);
    exitCode = 1;
  } else {
    say('nothing left running');
  }
} catch (error) {
  say(`tear-down failed: ${(error as Error).stack}`);
  exitCode = 1;
}
process.exit(exitCode);
