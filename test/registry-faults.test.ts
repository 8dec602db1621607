/**
 * Faults halfway: a proxy in front of a real registry answers 503 to some requests and drops the
 * connection of others. With retries the run completes; without, whatever it leaves half-done, a
 * rerun finishes, and no kept tag is ever lost.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { forward } from './support/forward.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { pushImage, resolves, tagsOf } from '../sandbox/fixtures/registry-seed.ts';
import { runTask, howItEnded } from './support/run-task.ts';
import { planDanglingTags } from '../lib/registry/dangling.ts';
import { readJournal } from '../lib/registry/journal.ts';
import { registryPolicy } from '../lib/registry/cleanup-policy.ts';

let registry: TestRegistry;
let reports: string;

/** Forwards to the registry; every `failEvery`-th request gets a 503, every `dropEvery`-th is cut. */
async function flakyProxy(
  target: URL,
  failEvery: number,
  dropEvery: number,
): Promise<{ url: string; faults: () => number; close(): Promise<void> }> {
  let count = 0;
  let faults = 0;
  const server: Server = createServer((req, res) => {
    count++;
    if (count % failEvery === 0) {
      faults++;
      req.resume();
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAVAILABLE","message":"flaky proxy"}]}');
      return;
    }
    if (count % dropEvery === 0) {
      faults++;
      req.socket.destroy();
      return;
    }
    forward(req, res, target);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    faults: () => faults,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function seed() {
  const to = { url: registry.url };
  await pushImage(to, 'webhook-api', ['final', 'test-shared'], { layers: ['base', 'final'] });
  for (let i = 0; i < 12; i++) await pushImage(to, 'webhook-api', [`1.${i}.0`], { layers: ['base', `v${i}`] });
  for (let i = 0; i < 8; i++) await pushImage(to, 'webhook-api', [`temp-${i}`], { layers: ['base', `t${i}`] });
}

const expected = ['1.10.0', '1.11.0', '1.9.0', 'final'];

test.before(async () => {
  registry = await startRegistry();
  reports = mkdtempSync(join(tmpdir(), 'cleanup-registry-faults-'));
});
test.after(async () => {
  await registry?.destroy();
  rmSync(reports, { recursive: true, force: true });
});

test('with retries, 503s and dropped connections do not stop the run', async () => {
  await seed();
  const proxy = await flakyProxy(new URL(registry.url), 5, 7);
  try {
    const run = await runTask('tasks/registry.ts', ['--yes', '--json'], {
      REGISTRY_URL: proxy.url,
      REPORTS_DIR: reports,
      REGISTRY_RETRIES: '6',
      REGISTRY_CONCURRENCY: '4',
    });
    assert.is(run.code, 0, howItEnded(run));
    assert.ok(proxy.faults() >= 5, `only ${proxy.faults()} faults injected`);
  } finally {
    await proxy.close();
  }
  assert.equal(await tagsOf({ url: registry.url }, 'webhook-api'), expected);
  assert.ok(await resolves({ url: registry.url }, 'webhook-api', 'final'));
});

test('without retries a run may stop halfway; a rerun finishes it and the kept tags survive', async () => {
  await seed();
  const proxy = await flakyProxy(new URL(registry.url), 6, 11);
  let first;
  try {
    first = await runTask('tasks/registry.ts', ['--yes', '--json'], {
      REGISTRY_URL: proxy.url,
      REPORTS_DIR: reports,
      REGISTRY_RETRIES: '0',
      REGISTRY_CONCURRENCY: '4',
    });
  } finally {
    await proxy.close();
  }
  assert.is(first.code, 1, 'the faults must have made the unretried run fail');
  const rerun = await runTask('tasks/registry.ts', ['--yes', '--json'], {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: reports,
  });
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.equal(await tagsOf({ url: registry.url }, 'webhook-api'), expected);
  const again = await runTask('tasks/registry.ts', ['--yes', '--json'], {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: reports,
  });
  assert.is(again.report.summary.changes, 0);
});

test('a tag left dangling by a delete cut halfway is found, shown and removed by the next run', async () => {
  const to = { url: registry.url };
  for (const version of ['2.0.0', '2.1.0', '2.2.0', '2.3.0'])
    await pushImage(to, 'nginx-webhook', [version], { layers: ['nginx', version] });
  const cut = await pushImage(to, 'nginx-webhook', ['1.9.0'], { layers: ['nginx', '1.9.0'] });
  // The state a DELETE answering 500 "invalid checksum digest format" leaves (seen on this
  // registry under load, see lib/registry/dangling.ts): the revision is gone, the tag link stays.
  await registry.stop();
  rmSync(
    join(
      registry.storage,
      'docker/registry/v2/repositories/nginx-webhook/_manifests/revisions',
      cut.digest.replace(':', '/'),
    ),
    { recursive: true },
  );
  await registry.start();
  assert.ok((await tagsOf(to, 'nginx-webhook')).includes('1.9.0'), 'the tag still lists');
  assert.is(await resolves(to, 'nginx-webhook', '1.9.0'), undefined, 'but it does not resolve');

  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: reports,
  });
  assert.is(run.code, 0, howItEnded(run));
  const change = run.report.changes.find((c: { action: string }) => c.action === 'remove dangling tag');
  assert.ok(change, `no dangling-tag change in ${JSON.stringify(run.report.changes)}`);
  assert.is(change.target, 'nginx-webhook:1.9.0');
  assert.match(change.reason, /manifest is gone/);
  assert.equal(await tagsOf(to, 'nginx-webhook'), ['2.1.0', '2.2.0', '2.3.0']);
  const again = await runTask('tasks/registry.ts', ['--yes', '--json'], {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: reports,
  });
  assert.is(again.report.summary.changes, 0);
});

/**
 * Someone else's deletes between our plan and our DELETE: `gone` is deleted upstream just before
 * our DELETE of it passes (404 at the first attempt); `ours` is deleted by our DELETE, whose answer
 * the proxy then drops, so the retry's 404 is our own work.
 */
async function racingProxy(target: URL, gone: string, ours: string): Promise<{ url: string; close(): Promise<void> }> {
  const deleteUpstream = (path: string) =>
    fetch(new URL(path, target), { method: 'DELETE' }).then((r) => r.arrayBuffer());
  let dropped = false;
  const server: Server = createServer((req, res) => {
    if (req.method === 'DELETE' && req.url?.endsWith(gone))
      void deleteUpstream(req.url).then(() => forward(req, res, target));
    else if (req.method === 'DELETE' && req.url?.endsWith(ours) && !dropped) {
      dropped = true;
      void deleteUpstream(req.url).then(() => req.socket.destroy());
    } else forward(req, res, target);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('a manifest someone else deleted after the plan is not journaled as ours; one our retried DELETE removed is', async () => {
  const to = { url: registry.url };
  await pushImage(to, 'race-api', ['final'], { layers: ['race', 'final'] });
  const gone = await pushImage(to, 'race-api', ['temp-gone'], { layers: ['race', 'gone'] });
  const ours = await pushImage(to, 'race-api', ['temp-ours'], { layers: ['race', 'ours'] });
  const state = join(reports, 'race-state');
  const env = { REPORTS_DIR: reports, REGISTRY_STATE_DIR: state, REGISTRY_RETRIES: '2', REGISTRY_GC_STOP_COMMAND: '' };
  const proxy = await racingProxy(new URL(registry.url), gone.digest, ours.digest);
  let run;
  try {
    run = await runTask('tasks/registry.ts', ['--yes', '--json', '--no-gc'], { ...env, REGISTRY_URL: proxy.url });
  } finally {
    await proxy.close();
  }
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(await tagsOf(to, 'race-api'), ['final']);
  const journaled = (entries: { digest: string }[]) =>
    entries.map((e) => e.digest).filter((d) => d === gone.digest || d === ours.digest);
  assert.equal(journaled(run.report.undo), [ours.digest], 'the report undoes only what this run deleted');
  const [journalFile] = readdirSync(state).filter((f) => /^undo-.*\.jsonl$/.test(f));
  assert.match(
    readFileSync(join(state, journalFile), 'utf8'),
    /"kind":"already-gone"/,
    'the journal file takes the entry back after its delete',
  );
  assert.equal(journaled(readJournal(join(state, journalFile))), [ours.digest], 'and reads back the same');
  const restore = await runTask('tasks/registry.ts', ['--dry-run', '--json', '--restore', join(state, journalFile)], {
    ...env,
    REGISTRY_URL: registry.url,
  });
  assert.is(restore.code, 0, howItEnded(restore));
  assert.equal(
    restore.report.changes.map((c: { target: string }) => c.target).filter((t: string) => t.startsWith('race-api')),
    [restore.report.changes.find((c: { target: string }) => c.target.includes(':temp-ours'))?.target],
    'a restore brings back only what this run deleted',
  );
});

test('a dangling protected tag is refused, not removed', () => {
  const { changes, refused } = planDanglingTags(
    [
      { repository: 'nginx-webhook', tag: 'latest' },
      { repository: 'webhook-api', tag: '1.0.0' },
      { repository: 'webhook-api', tag: 'temp-3' },
    ],
    registryPolicy,
  );
  assert.equal(
    changes.map((c) => c.op),
    [{ kind: 'unlink', repository: 'webhook-api', tags: ['1.0.0', 'temp-3'] }],
  );
  assert.equal(
    refused.map((r) => r.target),
    ['nginx-webhook:latest'],
  );
});

test.run();
