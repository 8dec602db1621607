/**
 * The registry task on a registry shaped like real ones, against a real registry (distribution
 * 2.8), a real Docker engine reached through a real sshd: `latest` on every repository, a
 * repository whose only tag is `latest`, `latest` sharing its digest with the newest version,
 * tags such as `attestation` and `hotfix-attempt-2`, an older version pulled from the registry by
 * tag (under the `localhost` alias) and running on the engine, a rollback target in the deploy's
 * state, an OCI index with two children. Nothing in use or protected goes, collection reclaims
 * what the plan promised, a run can be undone until collection, a second run plans nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { measureRegistrySize } from '../lib/registry/cleanup.ts';
import { ensureBaseImage, ensureDockerd, type TestEngine } from '../sandbox/fixtures/dockerd.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
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
import { build, reset } from '../sandbox/fixtures/server-seed.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';

let registry: TestRegistry;
let engine: TestEngine;
let sshd: Sshd;
let dir: string;
let deployDir: string;
const pushed: Record<string, PushedImage> = {};
const unique = (kb: number) => randomBytes(kb * 1000);

/** Bytes of the files under the storage folder, walked here (independently of the code under test). */
function fileBytes(path: string): number {
  return readdirSync(path, { withFileTypes: true }).reduce((sum, entry) => {
    const full = join(path, entry.name);
    return sum + (entry.isDirectory() ? fileBytes(full) : entry.isFile() ? statSync(full).size : 0);
  }, 0);
}

const hostOf = (s: Sshd) => `${s.target.user}@127.0.0.1:${s.target.port}`;

function env(extra: Record<string, string> = {}) {
  return {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: join(dir, 'reports'),
    REGISTRY_STATE_DIR: join(dir, 'state'),
    REGISTRY_GC_STOP_COMMAND: registry.stopCommand,
    REGISTRY_GC_COMMAND: `docker-registry garbage-collect ${registry.config}`,
    REGISTRY_GC_START_COMMAND: registry.startCommand,
    REGISTRY_STORAGE_PATH: registry.storage,
    DEPLOY_HOST: hostOf(sshd),
    DEPLOY_DIR: deployDir,
    SERVER_HOSTS: hostOf(sshd),
    SSH_IDENTITY_FILE: sshd.target.identityFile!,
    SSH_KNOWN_HOSTS_FILE: sshd.target.knownHostsFile!,
    ...extra,
  };
}

const tagsNow = async () => ({
  'webhook-api': await tagsOf({ url: registry.url }, 'webhook-api'),
  'nginx-webhook': await tagsOf({ url: registry.url }, 'nginx-webhook'),
  multiarch: await tagsOf({ url: registry.url }, 'multiarch'),
  sensors: await tagsOf({ url: registry.url }, 'sensors'),
});

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-registry-realistic-'));
  registry = await startRegistry();
  engine = await ensureDockerd('registry-realistic');
  ensureBaseImage(engine);
  reset(engine);
  sshd = await startSshd({ user: 'cleanup-ops', groups: ['docker'], env: { DOCKER_HOST: engine.host } });
  const to = { url: registry.url };
  // A real image for the oldest version, pulled back by tag under the localhost alias: it runs.
  const alias = `localhost:${registry.port}/webhook-api`;
  build(engine, dir, `${alias}:1.0.0`, unique(300).toString('base64'));
  engine.docker(['push', '--quiet', `${alias}:1.0.0`]);
  engine.docker(['image', 'rm', `${alias}:1.0.0`]);
  engine.docker(['pull', '--quiet', `${alias}:1.0.0`]);
  engine.docker(['run', '-d', '--name', 'api-old', '--network', 'none', `${alias}:1.0.0`, 'sleep', '3600']);
  // webhook-api: versions dated in order, latest on the newest one, non-test words, test images.
  const dated = (month: number) => `2026-${String(month).padStart(2, '0')}-01T00:00:00Z`;
  for (const [month, version] of [
    [2, '1.1.0'],
    [3, '1.2.0'],
    [4, '1.3.0'],
  ] as const)
    pushed[`webhook-api:${version}`] = await pushImage(to, 'webhook-api', [version], {
      layers: [unique(300)],
      created: dated(month),
    });
  pushed['webhook-api:attestation'] = await pushImage(to, 'webhook-api', ['attestation'], {
    layers: [unique(20)],
    created: dated(5),
    format: 'oci',
  });
  pushed['webhook-api:hotfix-attempt-2'] = await pushImage(to, 'webhook-api', ['hotfix-attempt-2'], {
    layers: [unique(20)],
    created: dated(6),
  });
  pushed['webhook-api:2.0.0'] = await pushImage(to, 'webhook-api', ['2.0.0', 'latest'], {
    layers: [unique(20)],
    created: dated(7),
  });
  for (const tag of ['test-42', 'ci-test-3', 'temp_1', 'debug.4'])
    pushed[`webhook-api:${tag}`] = await pushImage(to, 'webhook-api', [tag], {
      layers: [unique(150)],
      created: dated(8),
    });
  // A repository whose only tag is latest.
  pushed['nginx-webhook:latest'] = await pushImage(to, 'nginx-webhook', ['latest'], { layers: [unique(20)] });
  // Words that contain test and temp, and latest.
  for (const [month, tag] of [
    [1, 'contest'],
    [2, 'temperature'],
    [3, 'latest'],
  ] as const)
    pushed[`sensors:${tag}`] = await pushImage(to, 'sensors', [tag], { layers: [unique(10)], created: dated(month) });
  // OCI indexes with two children each; latest on the newest.
  for (const [i, version] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].entries()) {
    const children = [
      await pushImage(to, 'multiarch', [], { layers: [unique(150)], format: 'oci' }),
      await pushImage(to, 'multiarch', [], { layers: [unique(150)], format: 'oci', label: String(i) }),
    ];
    pushed[`multiarch:${version}`] = await pushIndex(
      to,
      'multiarch',
      version === '1.3.0' ? [version, 'latest'] : [version],
      children,
    );
  }
  // The deploy's state on the host: the current release runs; 1.2.0 is kept for rollback.
  deployDir = mkdtempSync(join(tmpdir(), 'cleanup-realistic-deploy-'));
  chmodSync(deployDir, 0o755);
  writeFileSync(
    join(deployDir, 'deploy-state.json'),
    JSON.stringify({
      current: `127.0.0.1:${registry.port}/webhook-api:2.0.0`,
      previous: [`127.0.0.1:${registry.port}/webhook-api:1.2.0`],
    }),
  );
});

test.after(async () => {
  try {
    engine?.docker(['rm', '-f', 'api-old']);
  } catch {
    // already gone
  }
  await sshd?.stop();
  await registry?.destroy();
  for (const path of [dir, deployDir]) if (path) rmSync(path, { recursive: true, force: true });
});

test('an unreachable host stops the plan: exit 2, a clear message, nothing deleted', async () => {
  const before = await tagsNow();
  const closed = await freePort();
  const run = await runTask(
    'tasks/registry.ts',
    ['--yes'],
    env({ SERVER_HOSTS: `${hostOf(sshd)},cleanup-ops@127.0.0.1:${closed}` }),
  );
  assert.is(run.code, 2, howItEnded(run));
  assert.match(
    run.stderr,
    new RegExp(`Cannot read what a host runs, so no registry image is safe to delete; nothing was deleted`),
  );
  assert.match(run.stderr, new RegExp(`SERVER_HOSTS cleanup-ops@127.0.0.1:${closed}: .*unreachable`));
  assert.match(run.stderr, /--force/);
  assert.equal(await tagsNow(), before);
  const forced = await runTask(
    'tasks/registry.ts',
    ['--dry-run', '--force', '--json'],
    env({ SERVER_HOSTS: `${hostOf(sshd)},cleanup-ops@127.0.0.1:${closed}` }),
  );
  assert.is(forced.code, 0, howItEnded(forced));
  assert.match(
    forced.report.notes.join('\n'),
    new RegExp(`--force: planned WITHOUT knowing what this host runs .*127\\.0\\.0\\.1:${closed}`),
  );
  assert.ok(
    forced.report.kept.some(
      (k: { target: string; reason: string }) => k.target === 'webhook-api:1.0.0' && /runs on/.test(k.reason),
    ),
    'the host that could be read still counts',
  );
  const badRule = await runTask('tasks/registry.ts', ['--yes'], env({ REGISTRY_DELETE_TAG_TOKENS: 'test,/debug/' }));
  assert.is(badRule.code, 2);
  assert.match(badRule.stderr, /REGISTRY_DELETE_TAG_TOKENS has "\/debug\/", which is not a token/);
  assert.equal(await tagsNow(), before);
});

test('the plan keeps latest, final, words with test inside, what runs and what a rollback needs; each with its reason', async () => {
  const run = await runTask('tasks/registry.ts', ['--dry-run', '--json'], env());
  assert.is(run.code, 0, howItEnded(run));
  const kept: Record<string, string> = Object.fromEntries(
    run.report.kept.map((k: { target: string; reason: string }) => [k.target, k.reason]),
  );
  for (const repository of ['webhook-api', 'nginx-webhook', 'multiarch', 'sensors'])
    assert.match(kept[`${repository}:latest`], /protected tag/, `${repository}:latest`);
  assert.match(
    kept['webhook-api:1.0.0'],
    new RegExp(`in use: runs on ${hostOf(sshd).replace(/[.]/g, '\\.')} as api-old`),
  );
  assert.match(kept['webhook-api:1.2.0'], /in use: rollback target of webhook-api/);
  assert.match(kept['webhook-api:2.0.0'], /in use: .*current release/);
  for (const tag of ['attestation', 'hotfix-attempt-2', '1.3.0'])
    assert.match(kept[`webhook-api:${tag}`], /newest versions/, tag);
  for (const tag of ['contest', 'temperature']) assert.match(kept[`sensors:${tag}`], /newest versions/, tag);
  const targets = run.report.changes
    .map((c: { action: string; target: string }) => `${c.action}: ${c.target.replace(/@[0-9a-f]{12}/, '@…')}`)
    .sort();
  assert.equal(targets, [
    'collect garbage: registry storage on local (REGISTRY_HOST)',
    'delete manifest: multiarch@… (:1.0.0) and its 2 child manifests',
    'delete manifest: webhook-api@… (:1.1.0)',
    'delete manifest: webhook-api@… (:ci-test-3)',
    'delete manifest: webhook-api@… (:debug.4)',
    'delete manifest: webhook-api@… (:temp_1)',
    'delete manifest: webhook-api@… (:test-42)',
  ]);
  assert.match(JSON.stringify(run.report.figures), /hosts read.*references to this registry kept/);
  // SERVER_HOSTS naming the deploy host another way (localhost, no known_hosts entry for that name): read once, as DEPLOY_HOST.
  const respelt = await runTask(
    'tasks/registry.ts',
    ['--dry-run', '--json'],
    env({ SERVER_HOSTS: `${sshd.target.user}@localhost:${sshd.target.port}` }),
  );
  assert.is(respelt.code, 0, howItEnded(respelt));
  const read = respelt.report.figures.find((f: { label: string }) => f.label === 'hosts read').value;
  assert.ok(read.startsWith(`${hostOf(sshd)}: `), read);
});

test('--yes deletes exactly that, collection reclaims what the plan promised, what runs still pulls', async () => {
  const to = { url: registry.url };
  const storageBefore = fileBytes(registry.storage);
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], env());
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(await tagsNow(), {
    'webhook-api': ['1.0.0', '1.2.0', '1.3.0', '2.0.0', 'attestation', 'hotfix-attempt-2', 'latest'],
    'nginx-webhook': ['latest'],
    multiarch: ['1.1.0', '1.2.0', '1.3.0', 'latest'],
    sensors: ['contest', 'latest', 'temperature'],
  });
  assert.match(engine.docker(['ps', '--filter', 'name=api-old', '--format', '{{.State}}']), /running/);
  // What runs is still whole in the registry: a host could pull it again.
  const running = engine.docker([
    'image',
    'inspect',
    '--format',
    '{{json .RepoDigests}}',
    `localhost:${registry.port}/webhook-api:1.0.0`,
  ]);
  const digest = /@(sha256:[0-9a-f]{64})/.exec(running)![1];
  assert.is(await resolves(to, 'webhook-api', '1.0.0'), digest);
  for (const blob of pushed['multiarch:1.0.0'].blobs)
    assert.not.ok(await blobPresent(to, 'multiarch', blob.digest), "the deleted index's children lost their blobs");
  assert.ok(
    run.report.checks.every((c: { passed: boolean }) => c.passed),
    JSON.stringify(run.report.checks),
  );
  // Planned bytes against the bytes of the storage's files, measured here: within 15% or 64 kB.
  const measured = storageBefore - fileBytes(registry.storage);
  const planned = run.report.summary.bytes;
  assert.ok(planned > 1_000_000, `planned ${planned}`);
  assert.ok(
    Math.abs(measured - planned) <= Math.max(64_000, 0.15 * planned),
    `measured ${measured} against planned ${planned}`,
  );
  assert.match(JSON.stringify(run.report.figures), /storage freed.*agrees within 15% or 64 kB/);
  assert.match(JSON.stringify(run.report.figures), /registry downtime","value":"[0-9.]+ s \(measured/);
});

const reportPath = (stderr: string) => /Report: (\S+)/.exec(stderr)![1];

test('--no-gc deletes now and collects later; --restore puts everything back until collection, then says what cannot come back', async () => {
  const to = { url: registry.url };
  const temp = await pushImage(to, 'webhook-api', ['temp_2'], {
    layers: [unique(150)],
    created: '2026-09-01T00:00:00Z',
  });
  const attestation = pushed['webhook-api:attestation'];
  // test-attest shares the attestation image: a doomed tag on a kept image, untagged.
  const manifest = await (
    await fetch(`${registry.url}/v2/webhook-api/manifests/attestation`, { headers: { accept: attestation.mediaType } })
  ).arrayBuffer();
  await fetch(`${registry.url}/v2/webhook-api/manifests/test-attest`, {
    method: 'PUT',
    headers: { 'content-type': attestation.mediaType },
    body: new Uint8Array(manifest),
  });
  assert.is(await resolves(to, 'webhook-api', 'test-attest'), attestation.digest);

  const deleted = await runTask('tasks/registry.ts', ['--yes', '--no-gc', '--json'], env());
  assert.is(deleted.code, 0, howItEnded(deleted));
  assert.not.ok(
    deleted.report.changes.some((c: { action: string }) => c.action === 'collect garbage'),
    '--no-gc plans no collection',
  );
  assert.match(deleted.report.notes.join('\n'), /until the next garbage collection/);
  assert.equal(deleted.report.undo.map((e: { kind: string; tags: string[] }) => `${e.kind} ${e.tags}`).sort(), [
    'delete temp_2',
    'untag test-attest',
  ]);
  assert.not.ok((await tagsOf(to, 'webhook-api')).some((t) => t === 'temp_2' || t === 'test-attest'));

  const restored = await runTask(
    'tasks/registry.ts',
    ['--yes', '--json', '--restore', reportPath(deleted.stderr)],
    env(),
  );
  assert.is(restored.code, 0, howItEnded(restored));
  assert.is(await resolves(to, 'webhook-api', 'temp_2'), temp.digest);
  assert.is(await resolves(to, 'webhook-api', 'test-attest'), attestation.digest);
  for (const blob of temp.blobs) assert.ok(await blobPresent(to, 'webhook-api', blob.digest));
  assert.ok(
    restored.report.checks.every((c: { passed: boolean }) => c.passed),
    JSON.stringify(restored.report.checks),
  );
  const again = await runTask('tasks/registry.ts', ['--yes', '--json', '--restore', reportPath(deleted.stderr)], env());
  assert.is(again.report.summary.changes, 0, 'a second restore has nothing left to do');

  // The next run deletes them again and collects, this time and the --no-gc run's garbage.
  const collected = await runTask('tasks/registry.ts', ['--yes', '--json'], env());
  assert.is(collected.code, 0, howItEnded(collected));
  const collect = collected.report.changes.find((c: { action: string }) => c.action === 'collect garbage');
  assert.match(collect.reason, /deletions by clean:registry since .* are not collected yet/);
  assert.match(collect.reason, /expected downtime about [0-9.]+ s \(as measured at the last collection/);
  const late = await runTask(
    'tasks/registry.ts',
    ['--dry-run', '--json', '--restore', reportPath(collected.stderr)],
    env(),
  );
  assert.is(late.code, 0, howItEnded(late));
  const refused = late.report.refused.find((r: { target: string }) => r.target.includes(':temp_2'));
  assert.match(refused.reason, /cannot come back: .*blobs .* are gone, since garbage collection ran/);
  // An untagged tag's image is kept, so it can still come back.
  assert.ok(late.report.changes.some((c: { target: string }) => c.target.includes(':test-attest')));
});

test('a second run plans nothing', async () => {
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], env());
  assert.is(run.code, 0, howItEnded(run));
  assert.is(run.report.summary.changes, 0, JSON.stringify(run.report.changes));
});

test('plan section 7: the registry size is measured on its storage on disk', async () => {
  const size = await measureRegistrySize(settingsFrom(registrySettings, env()));
  assert.is(size.bytes, Number(execFileSync('du', ['-sb', registry.storage], { encoding: 'utf8' }).split(/\s+/)[0]));
  assert.match(size.basis, /storage on disk, du -sb/);
  const byApi = await measureRegistrySize(settingsFrom(registrySettings, env({ REGISTRY_STORAGE_PATH: '' })));
  assert.match(byApi.basis, /unique blobs of every tag; set REGISTRY_STORAGE_PATH/);
  assert.ok(byApi.bytes > 0 && byApi.bytes < size.bytes, `${byApi.bytes} by the API, ${size.bytes} on disk`);
});

test.run();
