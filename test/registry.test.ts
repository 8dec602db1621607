/**
 * The registry task end to end against a real registry (distribution 2.8) on loopback, seeded
 * through the API: `clean:registry --yes` leaves exactly what the policy says, the kept tag that
 * shared its image with a doomed one still pulls, GC shrinks the storage, a rerun changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import {
  blobPresent,
  pushImage,
  pushIndex,
  resolves,
  tagsOf,
  type PushedImage,
} from '../sandbox/fixtures/registry-seed.ts';
import { runTask, howItEnded } from './support/run-task.ts';

let registry: TestRegistry;
let reports: string;
const pushed: Record<string, PushedImage> = {};
const base = 'base-layer '.repeat(20_000); // ~220 kB, shared by every webhook-api and nginx image

function du(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split(/\s+/)[0]);
}

function env(extra: Record<string, string> = {}) {
  return {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: reports,
    REGISTRY_GC_STOP_COMMAND: registry.stopCommand,
    REGISTRY_GC_COMMAND: `docker-registry garbage-collect ${registry.config}`,
    REGISTRY_GC_START_COMMAND: registry.startCommand,
    REGISTRY_STORAGE_PATH: registry.storage,
    REGISTRY_STATE_DIR: join(reports, 'state'),
    ...extra,
  };
}

test.before(async () => {
  registry = await startRegistry();
  reports = mkdtempSync(join(tmpdir(), 'cleanup-registry-reports-'));
  const to = { url: registry.url };
  // webhook-api: versions out of name order, a doomed tag on the kept `final` image, test images.
  for (const [i, version] of ['1.2.0', '1.10.0', '1.0.0', '1.9.0', '1.1.0'].entries()) {
    pushed[`webhook-api:${version}`] = await pushImage(to, 'webhook-api', [version], {
      layers: [base, `webhook ${version} `.repeat(5000)],
      created: `2026-0${i + 1}-01T00:00:00Z`,
    });
  }
  pushed['webhook-api:final'] = await pushImage(to, 'webhook-api', ['final', 'test-42'], {
    layers: [base, 'final build'],
    created: '2026-10-01T00:00:00Z',
  });
  pushed['webhook-api:temp-build'] = await pushImage(to, 'webhook-api', ['temp-build'], {
    layers: [base, 'temp '.repeat(30_000)],
    format: 'oci',
  });
  pushed['webhook-api:debug-1'] = await pushImage(to, 'webhook-api', ['debug-1'], {
    layers: [base, 'debug '.repeat(30_000)],
  });
  // nginx-webhook: two-part versions and the protected `latest`.
  for (const version of ['1.0', '1.1', '1.2', '1.3'])
    pushed[`nginx-webhook:${version}`] = await pushImage(to, 'nginx-webhook', [version], {
      layers: [base, `nginx ${version}`],
    });
  pushed['nginx-webhook:latest'] = await pushImage(to, 'nginx-webhook', ['latest'], { layers: [base, 'nginx latest'] });
  // ci-builds: no versions, ordered by creation date, one of them with a bogus 1980 date.
  const dates: Record<string, string> = {
    'build-7': '2026-01-07T00:00:00Z',
    'build-8': '1980-01-01T00:00:00Z',
    'build-9': '2026-01-09T00:00:00Z',
    'build-10': '2026-01-10T00:00:00Z',
    'build-11': '2026-01-11T00:00:00Z',
  };
  for (const [tag, created] of Object.entries(dates))
    pushed[`ci-builds:${tag}`] = await pushImage(to, 'ci-builds', [tag], {
      layers: [`ci ${tag}`],
      created,
      format: 'oci',
    });
  // multiarch: OCI indexes whose children are pushed by digest only.
  for (const [i, version] of ['0.7.0', '0.8.0', '0.9.0', '1.0.0'].entries()) {
    const children = [
      await pushImage(to, 'multiarch', [], { layers: [`amd64 ${version}`], format: 'oci' }),
      await pushImage(to, 'multiarch', [], { layers: [`arm64 ${version}`], format: 'oci', label: String(i) }),
    ];
    pushed[`multiarch:${version}`] = await pushIndex(to, 'multiarch', [version], children);
  }
  // More repositories than one catalog page (100).
  for (let i = 0; i < 101; i++)
    await pushImage(to, `filler/app-${String(i).padStart(3, '0')}`, ['1.0.0'], { layers: ['filler'] });
});

test.after(async () => {
  await registry?.destroy();
  if (reports) rmSync(reports, { recursive: true, force: true });
});

test('a dry run plans, explains, and changes nothing', async () => {
  const run = await runTask('tasks/registry.ts', ['--dry-run', '--json'], env());
  assert.is(run.code, 0, howItEnded(run));
  const { report } = run;
  assert.is(report.mode, 'plan');
  assert.ok(report.changes.every((c: { reason: string }) => c.reason.length > 10));
  assert.ok(
    report.kept.some(
      (k: { target: string; reason: string }) => k.target === 'webhook-api:final' && /protected/.test(k.reason),
    ),
  );
  assert.match(JSON.stringify(report.figures), /registry size now/);
  // Collection is its own item: where, that the registry stops and starts, the downtime to expect.
  const collect = report.changes.find((c: { action: string }) => c.action === 'collect garbage');
  assert.ok(collect, 'the plan has a collection item');
  assert.is(collect.host, 'local');
  assert.match(
    collect.reason,
    /stops the registry \(`sh .*control\.sh stop`\).*starts it again.*expected downtime about [0-9.]+ s \(estimated/,
  );
  assert.match(report.notes.join('\n'), /Undo: .*--restore.*until the garbage collection at the end of this run/);
  assert.match(JSON.stringify(report.figures), /"repositories","value":"105"/);
  assert.equal(await tagsOf({ url: registry.url }, 'webhook-api'), [
    '1.0.0',
    '1.1.0',
    '1.10.0',
    '1.2.0',
    '1.9.0',
    'debug-1',
    'final',
    'temp-build',
    'test-42',
  ]);
});

test('--yes leaves exactly what the policy says, keeps the shared-digest tag whole, and GC shrinks storage', async () => {
  const to = { url: registry.url };
  const storageBefore = du(registry.storage);
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], env());
  assert.is(run.code, 0, howItEnded(run));
  assert.is(run.report.status, 'applied');

  assert.equal(await tagsOf(to, 'webhook-api'), ['1.10.0', '1.2.0', '1.9.0', 'final']);
  assert.equal(await tagsOf(to, 'nginx-webhook'), ['1.1', '1.2', '1.3', 'latest']);
  assert.equal(await tagsOf(to, 'ci-builds'), ['build-10', 'build-11', 'build-9']);
  assert.equal(await tagsOf(to, 'multiarch'), ['0.8.0', '0.9.0', '1.0.0']);
  assert.equal(await tagsOf(to, 'filler/app-100'), ['1.0.0']);

  // The kept tag that shared its image with test-42: same digest, every blob still served.
  assert.is(await resolves(to, 'webhook-api', 'final'), pushed['webhook-api:final'].digest);
  for (const [repository, tag] of [
    ['webhook-api', 'final'],
    ['multiarch', '1.0.0'],
  ]) {
    const image = pushed[`${repository}:${tag}`];
    for (const blob of image.blobs)
      assert.ok(await blobPresent(to, repository, blob.digest), `blob ${blob.digest} of ${repository}:${tag}`);
    for (const manifest of image.manifests) assert.is(await resolves(to, repository, manifest), manifest);
  }
  // Deleted images' unique blobs are gone after GC.
  assert.not.ok(await blobPresent(to, 'webhook-api', pushed['webhook-api:temp-build'].blobs[2].digest));
  // The deleted index took its children: their manifests and blobs are gone too.
  for (const manifest of pushed['multiarch:0.7.0'].manifests)
    assert.is(await resolves(to, 'multiarch', manifest), undefined, `manifest ${manifest} of multiarch:0.7.0`);
  for (const blob of pushed['multiarch:0.7.0'].blobs)
    assert.not.ok(await blobPresent(to, 'multiarch', blob.digest), `blob ${blob.digest} of multiarch:0.7.0`);

  const checks = run.report.checks;
  assert.ok(checks.length >= 2 && checks.every((c: { passed: boolean }) => c.passed), JSON.stringify(checks));
  const storageAfter = du(registry.storage);
  assert.ok(storageAfter < storageBefore - 300_000, `storage ${storageBefore} -> ${storageAfter}`);
  assert.match(JSON.stringify(run.report.figures), /storage freed.*measured.*planned/);
  assert.match(JSON.stringify(run.report.figures), /registry downtime.*[0-9.]+ s \(measured/);
  assert.ok(run.report.applied.some((c: { action: string }) => c.action === 'collect garbage'));
  const untag = run.report.applied.find((c: { action: string }) => c.action === 'untag');
  assert.is(untag.target, 'webhook-api:test-42');
});

test('a second --yes run changes nothing and exits 0', async () => {
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], env());
  assert.is(run.code, 0, howItEnded(run));
  assert.is(run.report.summary.changes, 0);
  assert.match(run.stderr, /Nothing to change/);
});

test('storage the run cannot measure is a warning in the report: the collection still runs, nothing is planned again', async () => {
  await pushImage({ url: registry.url }, 'webhook-api', ['debug-unmeasured'], {
    layers: [base, 'a debug build '.repeat(2000)],
    created: '2026-10-02T00:00:00Z',
  });
  // As a docker-group user finds a volume's folder under Docker's data root: not readable.
  const unreadable = env({ REGISTRY_STORAGE_PATH: join(reports, 'no-such-storage') });
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], unreadable);
  assert.is(run.code, 0, howItEnded(run));
  assert.ok(run.report.applied.some((c: { action: string }) => c.action === 'collect garbage'));
  assert.match(JSON.stringify(run.report.figures), /storage freed.*not measured \(warning: .*could not measure/);
  assert.not.ok(await resolves({ url: registry.url }, 'webhook-api', 'debug-unmeasured'));
  const again = await runTask('tasks/registry.ts', ['--yes', '--json'], unreadable);
  assert.is(again.report.summary.changes, 0, 'the collection ran: it is not planned again');
});

test('age floor: a CI test tag pushed a minute ago stays (with that reason) while an old one goes; REGISTRY_MIN_AGE_HOURS=0 lifts it', async () => {
  const to = { url: registry.url };
  await pushImage(to, 'pipeline', ['test-123'], { layers: ['in flight'], created: new Date().toISOString() });
  await pushImage(to, 'pipeline', ['test-100'], { layers: ['long done'], created: '2026-01-01T00:00:00Z' });
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], env());
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(await tagsOf(to, 'pipeline'), ['test-123']);
  const kept = run.report.kept.find((k: { target: string }) => k.target === 'pipeline:test-123');
  assert.match(
    kept?.reason ?? '',
    /^too fresh to delete: its image was created \d+ min ago, under REGISTRY_MIN_AGE_HOURS \(24 h\).*otherwise: test image/,
  );
  const lifted = await runTask('tasks/registry.ts', ['--dry-run', '--json'], env({ REGISTRY_MIN_AGE_HOURS: '0' }));
  assert.is(lifted.code, 0, howItEnded(lifted));
  assert.equal(
    lifted.report.changes.map((c: { action: string }) => c.action),
    ['delete manifest', 'collect garbage'],
  );
  assert.match(lifted.report.changes[0].target, /^pipeline@\w+ \(:test-123\)$/);
});

test('bad input: a malformed URL exits 2; an unreachable registry exits 1 with a clear message', async () => {
  const malformed = await runTask('tasks/registry.ts', ['--yes'], env({ REGISTRY_URL: 'registry:5000' }));
  assert.is(malformed.code, 2);
  assert.match(malformed.stderr, /REGISTRY_URL must start with http:\/\/ or https:\/\//);
  const badRule = await runTask('tasks/registry.ts', ['--yes'], env({ REGISTRY_DELETE_TAG_TOKENS: 'test,*temp*' }));
  assert.is(badRule.code, 2);
  assert.match(badRule.stderr, /REGISTRY_DELETE_TAG_TOKENS has "\*temp\*", which is not a token/);
  const unreachable = await runTask(
    'tasks/registry.ts',
    ['--yes'],
    env({ REGISTRY_URL: 'http://127.0.0.1:9', REGISTRY_RETRIES: '0' }),
  );
  assert.is(unreachable.code, 1);
  assert.match(unreachable.stderr, /Cannot reach the registry at http:\/\/127\.0\.0\.1:9/);
});

test.run();
