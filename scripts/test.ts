/**
 * `npm test`: runs uvu, then stops everything the run started, on success and on failure alike:
 * the Docker engines (containers first, then dockerd), registries and ssh servers. Ends with
 * uvu's exit code, or 1 when something could not be stopped.
 *
 *   node --import tsx scripts/test.ts [dir] [pattern] [uvu flags]   (defaults: test "\.test\.ts$")
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { runMarker, tearDownRun } from '../test/support/teardown.ts';

const say = (text: string) => process.stderr.write(`test run: ${text}\n`);
const [dir = 'test', pattern = '\\.test\\.ts$', ...flags] = process.argv.slice(2);
const id = randomUUID();
const dockerRoot = process.env.CLEANUP_TEST_DOCKER_DIR ?? '/tmp/cleanup-test-docker';

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--import', './test/support/open-handles.ts', 'node_modules/uvu/bin.js', dir, pattern, ...flags],
  {
    stdio: ['inherit', 'pipe', 'inherit'],
    env: { ...process.env, [runMarker]: id },
    // A group of its own, so that what the tests start beside uvu can be found by group too.
    detached: true,
  },
);
// In its own group, uvu does not get the terminal's Ctrl-C: pass signals on.
process.on('SIGINT', (signal) => child.kill(signal));
process.on('SIGTERM', (signal) => child.kill(signal));
const exited = new Promise<number>((resolve) =>
  child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal === 'SIGINT' ? 130 : 143))),
);
// uvu's summary ends with "Duration:". A test that failed before its clean-up can leave a child
// (an sshd) that keeps uvu from exiting; then the tear-down below is what lets it end.
let summaryAt = 0;
child.stdout!.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (!summaryAt && chunk.toString().includes('Duration:')) summaryAt = Date.now();
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stuck = (async () => {
  while (!summaryAt || Date.now() - summaryAt < 30_000) await sleep(500);
  return undefined;
})();
const code = await Promise.race([exited, stuck]);
if (code === undefined) {
  say(
    'uvu printed its summary 30 s ago but has not exited: something a test started still runs; what holds it, then stopping it',
  );
  child.kill('SIGUSR2'); // test/support/open-handles.ts prints every open handle with where it was created
  await sleep(2_000);
}

let exitCode = code ?? 1;
try {
  // uvu itself is spared: once what it waits for is stopped, it ends with its own exit code.
  const left = await tearDownRun(id, dockerRoot, say, {
    spare: code === undefined ? [child.pid!] : [],
    groups: [child.pid!],
  });
  if (code === undefined) {
    const late = await Promise.race([exited, sleep(30_000).then(() => undefined)]);
    if (late === undefined) child.kill('SIGKILL');
    exitCode = late || 1;
  }
  if (left.length) {
    say(`still running after the tear-down:\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`);
    exitCode ||= 1;
  } else {
    say('nothing left running');
  }
} catch (error) {
  say(`tear-down failed: ${(error as Error).stack}`);
  exitCode ||= 1;
}
process.exit(exitCode);
