/**
 * Concurrency and kills around garbage collection, against a real registry stopped and started
 * by its control script: two runs at once never overlap (the second waits, then names the
 * holder); a run SIGKILLed while the registry is stopped for collection leaves a marker, and the
 * rerun (taking over the dead run's lock without --force: same machine, same boot, pid gone)
 * starts the registry as its plan's first item, finishes the collection from the record of
 * pending deletions and keeps every kept tag; a dry run and --check before it change nothing.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../sandbox/fixtures/ports.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { blobPresent, pushImage, resolves, tagsOf } from '../sandbox/fixtures/registry-seed.ts';
import { runTask, howItEnded, taskEnvironment } from './support/run-task.ts';

let registry: TestRegistry;
let dir: string;

test.before(async () => {
  registry = await startRegistry();
  dir = mkdtempSync(join(tmpdir(), 'cleanup-faults-gc-'));
});
test.after(async () => {
  // A test that failed before stopping its collection command: stopped here, not by the run's tear-down.
  for (const gcPid of collections) stopCollection(gcPid);
  await registry?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const serving = async () => (await fetch(`${registry.url}/v2/`).catch(() => undefined))?.status === 200;

function env(extra: Record<string, string>): Record<string, string> {
  return {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: join(dir, 'reports'),
    REGISTRY_LOCK_DIR: dir,
    REGISTRY_STATE_DIR: join(dir, 'state'),
    REGISTRY_GC_STOP_COMMAND: registry.stopCommand,
    REGISTRY_GC_START_COMMAND: registry.startCommand,
    REGISTRY_GC_COMMAND: `docker-registry garbage-collect ${registry.config}`,
    ...extra,
  };
}

async function seed(prefix: string) {
  const to = { url: registry.url };
  await pushImage(to, 'webhook-api', ['final'], { layers: ['final'] });
  const doomed = [];
  for (let i = 0; i < 4; i++)
    doomed.push(await pushImage(to, 'webhook-api', [`${prefix}-temp-${i}`], { layers: [`${prefix}-${i}`] }));
  return doomed;
}

test('two runs at once: the second waits for the lock, then stops naming who holds it; collections never overlap', async () => {
  await seed('a');
  const pidBefore = readFileSync(join(registry.dir, 'registry.pid'), 'utf8');
  const stopping = join(dir, 'stopping');
  const release = join(dir, 'release');
  // The first run signals when it is about to stop the registry, and holds there (and so holds
  // the lock) until the second has given up waiting for it.
  const first = runTask(
    'tasks/registry.ts',
    ['--yes'],
    env({
      REGISTRY_GC_STOP_COMMAND: `sh -c 'touch ${stopping}; while [ ! -e ${release} ]; do sleep 0.1; done; ${registry.stopCommand}'`,
    }),
  );
  await waitFor('the first run to reach garbage collection', async () => existsSync(stopping), 120_000);
  const second = await runTask('tasks/registry.ts', ['--yes'], env({ REGISTRY_LOCK_WAIT_SECONDS: '3' }));
  writeFileSync(release, '');
  assert.is(second.code, 1, howItEnded(second));
  assert.match(
    second.stderr,
    /the registry at http:\/\/127\.0\.0\.1:\d+ is locked by \S+@\S+ \(pid \d+, clean:registry: deleting and collecting\) since \d{4}-\d\d-\d\dT[\d:.]+Z \(.*\.lock on local\); waited 3 s/,
  );
  const done = await first;
  assert.is(done.code, 0, howItEnded(done));
  assert.ok(await serving(), 'the registry serves');
  assert.is.not(
    readFileSync(join(registry.dir, 'registry.pid'), 'utf8'),
    pidBefore,
    'restarted once, by the first run',
  );
  assert.equal(await tagsOf({ url: registry.url }, 'webhook-api'), ['final']);
  assert.not.ok(existsSync(join(dir, `aisha-cleanup-registry-127.0.0.1_${registry.port}.lock`)), 'lock released');
});

/** The pid files of the hanging collection commands started, so that each is stopped. */
const collections: string[] = [];

/**
 * Stops the collection command a run left behind (its run was killed, or stopped at once): it
 * writes its pid, then `exec`s its sleep, so that pid is the sleep itself, not a shell whose
 * child would outlive it.
 */
function stopCollection(gcPid: string) {
  if (!existsSync(gcPid)) return;
  try {
    process.kill(Number(readFileSync(gcPid, 'utf8')), 'SIGKILL');
  } catch {
    // gone already
  }
}

/** clean:registry in a process of its own whose collection marks that it started, then hangs. */
function startCollecting(name: string, stdio: StdioOptions) {
  const collecting = join(dir, `collecting-${name}`);
  const gcPid = join(dir, `gc-${name}.pid`);
  collections.push(gcPid);
  const child = spawn(process.execPath, ['--import', 'tsx', 'tasks/registry.ts', '--yes'], {
    env: taskEnvironment(
      env({ REGISTRY_GC_COMMAND: `sh -c 'echo $$ > ${gcPid}; touch ${collecting}; exec sleep 120'` }),
    ),
    stdio,
  });
  return { collecting, gcPid, child };
}

test('SIGKILL while the registry is stopped for collection: the rerun starts it, says so, finishes the collection', async () => {
  const doomed = await seed('b');
  const { collecting, gcPid, child } = startCollecting('a', 'ignore');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitFor('the run to be collecting', async () => existsSync(collecting), 120_000);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  stopCollection(gcPid); // the orphaned collection command
  assert.not.ok(await serving(), 'the killed run left the registry stopped');
  const marker = join(dir, `aisha-cleanup-registry-127.0.0.1_${registry.port}.gc-pending.json`);
  assert.match(readFileSync(marker, 'utf8'), `"run":"clean:registry pid ${child.pid} on`);

  const lock = join(dir, `aisha-cleanup-registry-127.0.0.1_${registry.port}.lock`);
  const ownerBefore = readFileSync(join(lock, 'owner.json'), 'utf8');

  // A dry run and --check show the outage as the first item and change nothing: no lock taken,
  // REGISTRY_GC_START_COMMAND not run, the marker left.
  for (const flag of ['--dry-run', '--check']) {
    const looked = await runTask('tasks/registry.ts', [flag, '--json'], env({}));
    assert.is(looked.code, flag === '--check' ? 3 : 0, looked.stderr);
    assert.equal(
      looked.report.changes.map((c: { action: string }) => c.action),
      ['start registry', 'collect garbage'],
    );
    assert.match(
      looked.report.changes[0].reason,
      `start the registry left stopped by run clean:registry pid ${child.pid} on`,
    );
    assert.match(looked.stderr, /── registry: 2 changes.*\n {3}start registry on host local \(1\):/);
    assert.match(looked.stderr, /\(this machine, same boot\) is gone: this run takes it over without --force/);
    assert.not.ok(await serving(), `${flag}: the registry was not started`);
    assert.ok(existsSync(marker), `${flag}: the marker stays`);
    assert.is(readFileSync(join(lock, 'owner.json'), 'utf8'), ownerBefore, `${flag}: the lock was not taken`);
  }

  // A holder that may be alive (its record names another machine) refuses the run; the refusal
  // says the registry is down and how to start it.
  writeFileSync(join(lock, 'owner.json'), JSON.stringify({ ...JSON.parse(ownerBefore), host: 'another-machine' }));
  const refused = await runTask('tasks/registry.ts', ['--yes'], env({ REGISTRY_LOCK_WAIT_SECONDS: '1' }));
  assert.is(refused.code, 1, howItEnded(refused));
  assert.match(refused.stderr, /locked by \S+@another-machine/);
  assert.match(refused.stderr, `is DOWN: it was left stopped by run clean:registry pid ${child.pid}`);
  assert.match(refused.stderr, `Start it with: ${registry.startCommand}`);
  assert.not.ok(await serving(), 'refused: nothing was started');
  writeFileSync(join(lock, 'owner.json'), ownerBefore);

  // The rerun, without --force: the dead run's lock is taken over (same machine, same boot, pid
  // gone), the registry started first, then the collection finished.
  const forced = await runTask('tasks/registry.ts', ['--yes', '--json'], env({}));
  assert.is(forced.code, 0, howItEnded(forced));
  assert.match(forced.stderr, new RegExp(`Took over the lock on the registry .*pid ${child.pid}`));
  assert.equal(
    forced.report.changes.map((c: { action: string }) => c.action),
    ['start registry', 'collect garbage'],
  );
  assert.equal(
    forced.report.applied.map((c: { action: string }) => c.action),
    ['start registry', 'collect garbage'],
  );
  assert.match(forced.report.changes[1].reason, /deletions by clean:registry since .* are not collected yet/);
  assert.ok(await serving(), 'serving again');
  assert.not.ok(existsSync(marker), 'the marker is gone once the collection finished');
  assert.equal(await tagsOf({ url: registry.url }, 'webhook-api'), ['final']);
  assert.ok(await resolves({ url: registry.url }, 'webhook-api', 'final'), 'the kept tag pulls');
  for (const image of doomed)
    assert.not.ok(
      await blobPresent({ url: registry.url }, 'webhook-api', image.blobs[1].digest),
      "the deleted images' layers were collected",
    );
});

test('Ctrl-C twice while the registry is stopped for collection: the run exits 130 and starts the registry again', async () => {
  await seed('c');
  const { collecting, gcPid, child } = startCollecting('c', ['ignore', 'ignore', 'pipe']);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor('the run to be collecting', async () => existsSync(collecting), 120_000);
  assert.not.ok(await serving(), 'stopped for collection');
  child.kill('SIGINT');
  await waitFor('the first Ctrl-C to be acknowledged', async () => /finishing the step under way/.test(stderr), 20_000);
  child.kill('SIGINT');
  const code = await exited;
  stopCollection(gcPid); // the collection command the run left behind
  assert.is(code, 130, stderr);
  await waitFor('the registry to serve again', serving, 30_000);
  assert.ok(await resolves({ url: registry.url }, 'webhook-api', 'final'), 'the kept tag pulls');
  assert.not.ok(
    existsSync(join(dir, `aisha-cleanup-registry-127.0.0.1_${registry.port}.gc-pending.json`)),
    'no marker: the registry is not stopped',
  );

  // The collection that was cut short is planned again, and finishes.
  const rerun = await runTask('tasks/registry.ts', ['--yes', '--json'], env({}));
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.equal(
    rerun.report.changes.map((c: { action: string }) => c.action),
    ['collect garbage'],
  );
  assert.ok(await serving(), 'serving after the collection');
});

test.run();
