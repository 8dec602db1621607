/** The server policy and parsers on docker output recorded from a real engine (test/fixtures/server). */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseContainers, parseDf, parseImages, parseSystemDf, parseVolumes, usedPercent } from '../lib/server/parse.ts';
import { planHost, repositoryOf, type ServerPolicy } from '../lib/server/policy.ts';
import type { HostState } from '../lib/server/state.ts';
import { docker } from '../lib/server/commands.ts';

const recorded = (name: string) => readFileSync(new URL(`./fixtures/server/${name}`, import.meta.url), 'utf8');
const df = parseSystemDf(recorded('system-df.json'));
const state: HostState = {
  host: 'prod-1',
  dockerRoot: '/var/lib/docker',
  disks: parseDf(recorded('df.txt'), ['/', '/var/lib/docker']),
  containers: parseContainers(recorded('containers.json')),
  images: parseImages(recorded('images.json'), df.imageUniqueSizes),
  volumes: parseVolumes(recorded('volumes.json'), df.volumeSizes),
  cache: df.cache,
};
const policy: ServerPolicy = {
  composeProject: 'webhook',
  protectNames: [],
  protectLabels: ['role=database'],
  protectImages: ['webhook-api:final'],
  rollbackKeep: 3,
  gracePeriodHours: 0,
  removeNamedVolumes: ['dbdata'],
  buildCacheMaxAgeHours: 0,
  buildCacheMaxBytes: 0,
};
const targets = (p: ReturnType<typeof planHost>, action: string) => p.changes.filter((c) => c.action === action).map((c) => c.target).sort();

test('recorded output parses: containers with labels and volumes, images in bytes, disks', () => {
  assert.is(state.containers.length, 6);
  const db = state.containers.find((c) => c.name === 'db')!;
  assert.equal(db.volumes, ['dbdata']);
  assert.is(db.labels.role, 'database');
  assert.ok(state.images.every((i) => Number.isInteger(i.size) && i.size > 0));
  assert.is(state.disks.length, 2);
  assert.ok(usedPercent(state.disks[0]) > 0 && usedPercent(state.disks[0]) < 100);
});

test('a clean host plans nothing, and a volume a stopped container uses is kept even when listed', () => {
  const plan = planHost(state, policy, Date.parse('2030-01-01'));
  assert.equal(plan.changes, []);
  assert.ok(plan.kept.some((k) => k.target === 'volume dbdata' && /used by container db/.test(k.reason)));
  assert.ok(plan.kept.some((k) => k.target === 'container db' && /protected by label role=database/.test(k.reason)));
});

test('fewer rollback slots: older stopped containers go, then the images only they used', () => {
  const plan = planHost(state, { ...policy, rollbackKeep: 1 }, Date.parse('2030-01-01'));
  assert.equal(targets(plan, 'remove container'), ['container webhook_api_old2', 'container webhook_api_old3']);
  const images = targets(plan, 'remove image');
  assert.ok(images.some((t) => t.endsWith('webhook-api:1.2')) && images.some((t) => t.endsWith('webhook-api:1.3')), images.join());
  assert.not.ok(images.some((t) => t.endsWith('webhook-api:final')), 'the protected image stays');
  assert.not.ok(images.some((t) => t.endsWith('webhook-api:1.4')), 'an image a kept container uses stays');
});

test('a running container outside the keep set is stopped, never removed in the same run', () => {
  const plan = planHost(state, { ...policy, composeProject: 'another' }, Date.parse('2030-01-01'));
  assert.equal(targets(plan, 'stop container'), ['container webhook_api_1']);
  assert.not.ok(targets(plan, 'remove container').includes('container webhook_api_1'));
});

test('the grace period keeps recently stopped containers', () => {
  const plan = planHost(state, { ...policy, rollbackKeep: 0, gracePeriodHours: 24 * 365 * 100 }, Date.parse('2030-01-01'));
  assert.equal(targets(plan, 'remove container'), []);
});

test('build cache: past the age bound it goes; what is left above the size bound shrinks', () => {
  const now = Date.parse('2030-01-01');
  const cache = [
    { id: 'old', size: 5e6, lastUsed: now - 200 * 3_600_000, inUse: false },
    { id: 'recent', size: 3e6, lastUsed: now - 3_600_000, inUse: false },
    { id: 'recent2', size: 4e6, lastUsed: now - 7_200_000, inUse: false },
    { id: 'busy', size: 9e6, lastUsed: now, inUse: true },
  ];
  const plan = planHost({ ...state, cache }, { ...policy, buildCacheMaxAgeHours: 168, buildCacheMaxBytes: 2e6 }, now);
  const prune = plan.changes.find((c) => c.op.kind === 'prune-build-cache')!;
  assert.is(prune.bytes, 5e6);
  const shrink = plan.changes.find((c) => c.op.kind === 'shrink-build-cache')!;
  assert.equal(shrink.op, { kind: 'shrink-build-cache', keepBytes: 2e6 });
  assert.is(shrink.bytes, 5e6, 'the 7 MB left unused, down to 2 MB');
  assert.not.ok(planHost({ ...state, cache }, { ...policy, buildCacheMaxAgeHours: 168, buildCacheMaxBytes: 10e6 }, now).changes.some((c) => c.op.kind === 'shrink-build-cache'), 'under the bound');
  assert.equal(docker.shrinkBuildCache(2e6), ['docker', 'builder', 'prune', '--force', '--all', '--keep-storage', '2000000']);
});

test('commands are argv values: by ID, never a prune of everything', () => {
  assert.equal(docker.removeImage(['registry:5000/webhook-api:1.2']), ['docker', 'image', 'rm', 'registry:5000/webhook-api:1.2']);
  assert.equal(docker.pruneBuildCache(168), ['docker', 'builder', 'prune', '--force', '--all', '--filter', 'until=168h']);
  assert.is(repositoryOf('registry:5000/webhook-api:1.2'), 'registry:5000/webhook-api');
  assert.is(repositoryOf('registry:5000/webhook-api'), 'registry:5000/webhook-api');
});

test.run();
