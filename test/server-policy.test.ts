/** The server policy and parsers on docker output recorded from a real engine (test/fixtures/server). */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, ago } from '../lib/units.ts';
import { dataHeldIn, isDataStoreImage } from '../lib/server/data.ts';
import { bytesFreedInOrder } from '../lib/server/layers.ts';
import { matchingPattern } from '../lib/server/names.ts';
import {
  parseContainers,
  parseDf,
  parseDockerUsage,
  parseImages,
  parseSystemDf,
  parseVolumes,
  usedPercent,
  type Container,
  type Image,
} from '../lib/host/parse.ts';
import { planHost, repositoryOf, type ServerPolicy } from '../lib/server/policy.ts';
import { hostIdentity, sameHost } from '../lib/host/names.ts';
import { selectHosts } from '../lib/server/settings.ts';
import { dataStoreImages } from '../tasks/server.ts';
import type { HostState } from '../lib/server/state.ts';
import { docker } from '../lib/host/commands.ts';
import { presentOnly } from '../lib/host/inspect.ts';
import { confirmRemoved } from '../lib/server/build-cache.ts';

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
  dataImages: dataStoreImages,
};
const targets = (p: ReturnType<typeof planHost>, action: string) =>
  p.changes
    .filter((c) => c.action === action)
    .map((c) => c.target)
    .sort();

test('recorded output parses: containers with labels and volumes, images in bytes, disks', () => {
  assert.is(state.containers.length, 6);
  const db = state.containers.find((c) => c.name === 'db')!;
  assert.equal(db.volumes, ['dbdata']);
  assert.is(db.labels.role, 'database');
  assert.ok(state.images.every((i) => Number.isInteger(i.size) && i.size > 0));
  assert.is(state.disks.length, 2);
  assert.ok(usedPercent(state.disks[0]) > 0 && usedPercent(state.disks[0]) < 100);
});

test('the recorded host: the exited stray and the abandoned scratchpad go; the rest stays, with its reason', () => {
  const plan = planHost(state, policy, Date.parse('2030-01-01'));
  assert.equal(targets(plan, 'remove container'), ['container stray']);
  assert.match(
    plan.changes.find((c) => c.target === 'container stray')!.reason,
    /^exited 3 years ago, outside the deployed compose project webhook and holding no data/,
  );
  assert.equal(targets(plan, 'remove image'), ['scratchpad:dev']);
  assert.match(
    plan.changes.find((c) => c.target === 'scratchpad:dev')!.reason,
    /^abandoned: no remaining container uses scratchpad and the deployed compose project webhook does not; last use unknown/,
  );
  assert.ok(
    plan.kept.some((k) => k.target === 'volume dbdata' && /used by container db/.test(k.reason)),
    'a volume a stopped container uses is kept even when listed',
  );
  assert.ok(plan.kept.some((k) => k.target === 'container db' && /protected by label role=database/.test(k.reason)));
  assert.ok(
    plan.kept.some(
      (k) =>
        k.target.endsWith('webhook-api:1.0, registry.example:5000/webhook-api:final') ||
        /protected image/.test(k.reason),
    ),
  );
});

test('fewer rollback slots: older stopped containers of the project go, then the images only they used', () => {
  const plan = planHost(state, { ...policy, rollbackKeep: 1 }, Date.parse('2030-01-01'));
  assert.equal(targets(plan, 'remove container'), [
    'container stray',
    'container webhook_api_old2',
    'container webhook_api_old3',
  ]);
  const images = targets(plan, 'remove image');
  assert.ok(
    images.some((t) => t.endsWith('webhook-api:1.2')) && images.some((t) => t.endsWith('webhook-api:1.3')),
    images.join(),
  );
  assert.match(
    plan.changes.find((c) => c.target.endsWith('webhook-api:1.2'))!.reason,
    /older than the 1 newest images of registry.example:5000\/webhook-api, which the deployed compose project webhook uses/,
  );
  assert.not.ok(
    images.some((t) => t.endsWith('webhook-api:final')),
    'the protected image stays',
  );
  assert.not.ok(
    images.some((t) => t.endsWith('webhook-api:1.4')),
    'an image a kept container uses stays',
  );
});

test('running means kept: only SERVER_STOP_NAMES stops a running container, never one of the deployed project', () => {
  const other = planHost(state, { ...policy, composeProject: 'another' }, Date.parse('2030-01-01'));
  assert.equal(targets(other, 'stop container'), []);
  assert.is(
    other.kept.find((k) => k.target === 'container webhook_api_1')!.reason,
    'running, part of compose project webhook, which its own compose file manages: kept (list it in SERVER_STOP_NAMES to stop it)',
  );
  const listed = planHost(
    state,
    { ...policy, composeProject: 'another', stopNames: ['webhook_*'] },
    Date.parse('2030-01-01'),
  );
  assert.equal(targets(listed, 'stop container'), ['container webhook_api_1']);
  assert.match(
    listed.changes.find((c) => c.action === 'stop container')!.reason,
    /listed in SERVER_STOP_NAMES \(webhook_\*\)/,
  );
  const ours = planHost(state, { ...policy, stopNames: ['*'] }, Date.parse('2030-01-01'));
  assert.equal(targets(ours, 'stop container'), [], "the deployed project is the deploy's to replace");
  // Stopped now, removed in the same run only when the grace period is 0; with one, a later run removes it.
  assert.ok(targets(listed, 'remove container').includes('container webhook_api_1'));
  const withGrace = planHost(
    state,
    { ...policy, composeProject: 'another', stopNames: ['webhook_*'], gracePeriodHours: 24 },
    Date.parse('2030-01-01'),
  );
  assert.not.ok(targets(withGrace, 'remove container').includes('container webhook_api_1'));
});

const now = Date.parse('2030-01-01');
const container = (over: Partial<Container>): Container => ({
  id: over.name!,
  name: 'x',
  image: 'sha256:img',
  imageRef: 'busybox',
  state: 'exited',
  created: now - 90 * 86_400_000,
  finished: now - 21 * 86_400_000,
  labels: {},
  volumes: [],
  mounts: [],
  sizeRw: 10,
  ...over,
});
const bare: HostState = { ...state, containers: [], images: [], volumes: [], cache: [] };

test('data is kept: named volumes, writable host folders, data store images; unless named or --force', () => {
  const pg = container({
    name: 'pg',
    imageRef: 'postgres:15',
    volumes: ['a'.repeat(64)],
    mounts: [{ type: 'volume', name: 'a'.repeat(64), destination: '/var/lib/postgresql/data', writable: true }],
  });
  const maria = container({
    name: 'maria',
    imageRef: 'mariadb:10.11',
    mounts: [{ type: 'bind', source: '/srv/maria', destination: '/var/lib/mysql', writable: true }],
  });
  const app = container({
    name: 'app',
    volumes: ['uploads'],
    mounts: [{ type: 'volume', name: 'uploads', destination: '/up', writable: true }],
  });
  const agent = container({
    name: 'agent',
    imageRef: 'prom/node-exporter',
    mounts: [
      { type: 'bind', source: '/proc', destination: '/host/proc', writable: false },
      { type: 'bind', source: '/var/run/docker.sock', destination: '/var/run/docker.sock', writable: true },
    ],
  });
  assert.equal(dataHeldIn(pg, dataStoreImages), [
    `anonymous volume aaaaaaaaaaaa (postgres:15 is a data store: postgres)`,
  ]);
  assert.equal(dataHeldIn(maria, dataStoreImages), ['host folder /srv/maria']);
  assert.equal(dataHeldIn(container({ name: 'r', imageRef: 'redis:7' }), dataStoreImages), [
    'its container layer (redis:7 is a data store: redis)',
  ]);
  assert.equal(dataHeldIn(agent, dataStoreImages), [], 'system paths and read-only binds are not data');
  for (const ref of [
    'bitnami/postgresql:16',
    'redis/redis-stack:7',
    'docker.elastic.co/elasticsearch/elasticsearch:8.1',
    'mongo@sha256:abc',
  ])
    assert.ok(isDataStoreImage(ref, dataStoreImages), ref);
  for (const ref of ['prom/mysqld-exporter:1', 'webhook-api:1.0', 'postgrest/postgrest:12'])
    assert.not.ok(isDataStoreImage(ref, dataStoreImages), ref);

  const host = { ...bare, containers: [pg, maria, app, agent] };
  const plan = planHost(host, policy, now);
  assert.equal(targets(plan, 'remove container'), ['container agent']);
  assert.match(
    plan.kept.find((k) => k.target === 'container maria')!.reason,
    /^exited 21 days ago; holds data in host folder \/srv\/maria: kept \(name it in SERVER_REMOVE_NAMES, or rerun with --force, to remove it\)$/,
  );
  assert.match(plan.kept.find((k) => k.target === 'container app')!.reason, /holds data in volume uploads: kept/);
  const named = planHost(host, { ...policy, removeNames: ['mar*'] }, now);
  assert.equal(targets(named, 'remove container'), ['container agent', 'container maria']);
  const forced = planHost(host, { ...policy, force: true }, now);
  assert.equal(targets(forced, 'remove container'), [
    'container agent',
    'container app',
    'container maria',
    'container pg',
  ]);
  assert.ok(
    forced.kept.some((k) => k.target === 'volume uploads') || !host.volumes.length,
    'named volumes are not containers',
  );
  const running = planHost({ ...bare, containers: [{ ...pg, state: 'running', finished: undefined }] }, policy, now);
  assert.match(
    running.kept[0].reason,
    /^running, not ours: kept \(list it in SERVER_STOP_NAMES to stop it\); holds data in anonymous volume/,
  );
});

const image = (
  id: string,
  tags: string[],
  created: number,
  size: number,
  sharedSize: number,
  layers: string[],
): Image => ({ id, tags, created, size, uniqueSize: size - sharedSize, sharedSize, layers });

test('rollback retention only for repositories a remaining container uses; others are abandoned, with the last use Docker knows', () => {
  const images = [
    image('sha256:w3', ['worker:3'], now - 3e9, 10, 2, ['base', 'w3']),
    image('sha256:w2', ['worker:2'], now - 4e9, 10, 2, ['base', 'w2']),
    image('sha256:a2', ['api:2'], now - 1e9, 10, 2, ['base', 'a2']),
    image('sha256:a1', ['api:1'], now - 2e9, 10, 2, ['base', 'a1']),
    image('sha256:a0', ['api:0'], now - 5e9, 10, 2, ['base', 'a0']),
    image('sha256:base', ['base:1'], now - 9e9, 2, 2, ['base']),
  ];
  const running = container({
    name: 'api',
    image: 'sha256:a2',
    imageRef: 'api:2',
    state: 'running',
    finished: undefined,
  });
  const oneOff = container({ name: 'worker-once', image: 'sha256:w3', imageRef: 'worker:3' });
  const plan = planHost({ ...bare, images, containers: [running, oneOff] }, { ...policy, rollbackKeep: 2 }, now);
  assert.equal(targets(plan, 'remove container'), ['container worker-once']);
  assert.equal(targets(plan, 'remove image'), ['api:0', 'base:1', 'worker:2', 'worker:3']);
  assert.match(
    plan.kept.find((k) => k.target === 'api:1')!.reason,
    /#2 of the 2 newest images of api, kept for rollback \(kept container api uses it\)/,
  );
  const w3 = plan.changes.find((c) => c.target === 'worker:3')!;
  assert.match(
    w3.reason,
    /^abandoned: .*last used by container worker-once \(exited 21 days ago, removed in this plan\)/,
  );
  assert.is(w3.facts!.lastUsedAt, new Date(now - 21 * 86_400_000).toISOString());
  assert.match(plan.changes.find((c) => c.target === 'worker:2')!.reason, /last use unknown/);
});

test('a release the deploy keeps for rollback (deploy-state.json) stays, beyond the newest SERVER_ROLLBACK_KEEP of its repository', () => {
  const images = [0, 1, 2, 3].map((i) =>
    image(`sha256:r${i}`, [`reg:5000/webhook-api:r${i}`], now - (10 - i) * 86_400_000, 2, 2, [`r${i}`]),
  );
  const running = container({
    name: 'webhook_api_1',
    image: 'sha256:r3',
    imageRef: 'reg:5000/webhook-api:r3',
    state: 'running',
    finished: undefined,
    labels: { 'com.docker.compose.project': 'webhook' },
  });
  const bare = planHost(
    { ...state, containers: [running], images, volumes: [], cache: [] },
    { ...policy, rollbackKeep: 2 },
    now,
  );
  assert.equal(targets(bare, 'remove image'), ['reg:5000/webhook-api:r0', 'reg:5000/webhook-api:r1']);
  const kept = planHost(
    { ...state, containers: [running], images, volumes: [], cache: [] },
    {
      ...policy,
      rollbackKeep: 2,
      retainedReleases: ['reg:5000/webhook-api:r1', 'reg:5000/webhook-api:r2', 'reg:5000/webhook-api:r3'],
    },
    now,
  );
  assert.equal(targets(kept, 'remove image'), ['reg:5000/webhook-api:r0']);
  assert.match(
    kept.kept.find((k) => k.target === 'reg:5000/webhook-api:r1')!.reason,
    /^release reg:5000\/webhook-api:r1, which the deploy keeps for rollback \(deploy-state\.json, DEPLOY_KEEP_RELEASES\)/,
  );
  // The host pulled r1 through another name for the same registry (an alias in its /etc/hosts).
  const aliased = images.map((i) =>
    i.id === 'sha256:r1' ? { ...i, tags: ['registry-alias.example:5000/webhook-api:r1'] } : i,
  );
  const viaAlias = planHost(
    { ...state, containers: [running], images: aliased, volumes: [], cache: [] },
    { ...policy, rollbackKeep: 2, retainedReleases: ['reg:5000/webhook-api:r1'] },
    now,
  );
  assert.equal(
    targets(viaAlias, 'remove image'),
    ['reg:5000/webhook-api:r0'],
    'r1 is kept under the alias (without the match it reads as abandoned)',
  );
  assert.match(
    viaAlias.kept.find((k) => k.target === 'registry-alias.example:5000/webhook-api:r1')!.reason,
    /^release registry-alias\.example:5000\/webhook-api:r1, which the deploy keeps/,
  );
});

test('bytes: layers shared only by removed images are counted once, on the last one removed', () => {
  const images = [
    image('sha256:base', ['base'], 0, 2e6, 2e6, ['L0']),
    image('sha256:a', ['w:1'], 0, 7e6, 6e6, ['L0', 'S', 'A']),
    image('sha256:b', ['w:2'], 0, 7e6, 6e6, ['L0', 'S', 'B']),
    image('sha256:c', ['api'], 0, 3e6, 2e6, ['L0', 'C']),
  ];
  assert.equal(
    [...bytesFreedInOrder(images, ['sha256:a', 'sha256:b'])],
    [
      ['sha256:a', 1e6],
      ['sha256:b', 5e6],
    ],
  );
  assert.equal(
    [...bytesFreedInOrder(images, ['sha256:a'])],
    [['sha256:a', 1e6]],
    'the other worker keeps the shared layer',
  );
  assert.equal(
    [...bytesFreedInOrder(images, ['sha256:a', 'sha256:b', 'sha256:base', 'sha256:c'])]
      .map(([, b]) => b)
      .reduce((x, y) => x + y),
    9e6,
    'everything: the sum of all layers (2 + 4 + 1 + 1 + 1 MB)',
  );
  // No image pins the branch point between the two pairs: their common part counts as most shared.
  const unpinned = [
    image('sha256:x1', ['x:1'], 0, 5, 4, ['R', 'X', 'x1']),
    image('sha256:x2', ['x:2'], 0, 5, 4, ['R', 'X', 'x2']),
    image('sha256:y1', ['y:1'], 0, 5, 4, ['R', 'Y', 'y1']),
    image('sha256:y2', ['y:2'], 0, 5, 4, ['R', 'Y', 'y2']),
  ];
  assert.equal(
    [...bytesFreedInOrder(unpinned, ['sha256:x1', 'sha256:x2']).values()].reduce((a, b) => a + b),
    2,
    'never more than what surely goes',
  );
  assert.equal(
    [...bytesFreedInOrder([{ ...images[1], layers: undefined }], ['sha256:a']).values()],
    [1e6],
    'without layers: the unique size',
  );
});

test('bytes on recorded output: three workers sharing a layer plan what docker system df then measured', () => {
  const recordedDf = parseSystemDf(recorded('layers-system-df.json'));
  const images = parseImages(recorded('layers-images.json'), recordedDf.imageUniqueSizes);
  const workers = images.filter((i) => i.tags.some((t) => t.startsWith('legacy-worker:'))).map((i) => i.id);
  assert.is(workers.length, 3);
  const planned = [...bytesFreedInOrder(images, workers).values()].reduce((a, b) => a + b);
  const measured =
    parseDockerUsage(recorded('usage-before.txt')).total - parseDockerUsage(recorded('usage-after.txt')).total;
  const uniqueOnly = images.filter((i) => workers.includes(i.id)).reduce((sum, i) => sum + i.uniqueSize, 0);
  assert.ok(Math.abs(planned - measured) <= measured * 0.01, `planned ${planned}, measured ${measured}`);
  assert.ok(uniqueOnly < measured * 0.6, `unique sizes alone (${uniqueOnly}) miss the shared layer`);
});

test('readable figures, name globs, --host', () => {
  assert.is(formatDuration(21 * 86_400_000 + 5000), '21 days');
  assert.is(ago(now - 3_600_000, now), '1 hour ago');
  assert.is(ago(now, now), 'just now');
  assert.is(matchingPattern('old-worker-7', ['tmp-*', 'old-worker-*']), 'old-worker-*');
  assert.is(matchingPattern('stray', ['str?y']), 'str?y');
  assert.is(matchingPattern('a.b', ['a?b', '[x]']), 'a?b');
  assert.is(matchingPattern('axb', ['a.b']), undefined, 'a dot is a dot');
  const hosts = ['aisha@prod-1.example', 'aisha@prod-2.example:2222', 'ops@prod-2.example:2223'];
  assert.equal(selectHosts(hosts, undefined), hosts);
  assert.equal(selectHosts(hosts, 'prod-1.example'), ['aisha@prod-1.example']);
  assert.equal(selectHosts(hosts, 'prod-2.example:2223'), ['ops@prod-2.example:2223']);
  assert.throws(() => selectHosts(hosts, 'prod-2.example'), /names 2 hosts of SERVER_HOSTS/);
  assert.throws(
    () => selectHosts(hosts, 'nope'),
    (e: Error & { exitCode?: number }) =>
      e.exitCode === 2 &&
      /Known hosts: aisha@prod-1.example, aisha@prod-2.example:2222, ops@prod-2.example:2223\./.test(e.message),
  );
});

test('DEPLOY_HOST is recognised in SERVER_HOSTS however either is written', () => {
  assert.ok(sameHost('aisha@prod-1.example:22', 'prod-1.example'), 'the default port and another user');
  assert.ok(sameHost('Prod-1.Example.', 'aisha@prod-1.example'), 'case and a trailing dot');
  assert.ok(sameHost('ops@localhost:2222', '127.0.0.1:2222'));
  assert.ok(sameHost('[::1]:2222', 'aisha@localhost:2222'));
  assert.ok(sameHost('local', 'aisha@127.0.0.1'), 'this machine is the loopback host on port 22');
  assert.not.ok(sameHost('prod-1.example:2222', 'prod-1.example'), 'another port is another sshd');
  assert.not.ok(sameHost('local', '127.0.0.1:2222'));
  assert.not.ok(sameHost('prod-1.example', 'prod-2.example'));
  assert.not.ok(sameHost('prod-1.example', undefined));
  assert.not.ok(sameHost('not a host', 'not a host'), 'what is not a host matches nothing');
  assert.is(hostIdentity('aisha@[::1]:2222'), 'loopback:2222');
  assert.is(hostIdentity('prod-1.example'), 'prod-1.example:22');
});

test('the grace period keeps recently stopped containers', () => {
  const plan = planHost(
    state,
    { ...policy, rollbackKeep: 0, gracePeriodHours: 24 * 365 * 100 },
    Date.parse('2030-01-01'),
  );
  assert.equal(targets(plan, 'remove container'), []);
});

test('build cache by record: the plan names each record it removes (id, size, last used), children before parents; apply removes exactly those', () => {
  const now = Date.parse('2030-01-01');
  const h = (hours: number) => now - hours * 3_600_000;
  const cache = [
    { id: 'base', size: 1e6, lastUsed: h(300), inUse: false, description: 'from local' },
    { id: 'old', size: 5e6, lastUsed: h(200), inUse: false, parent: 'base', description: 'fileop target' },
    { id: 'pinned', size: 2e6, lastUsed: h(250), inUse: false }, // stale, but a recent record builds on it
    { id: 'fresh-child', size: 1e6, lastUsed: h(1), inUse: false, parent: 'pinned' },
    { id: 'recent', size: 3e6, lastUsed: h(1), inUse: false },
    { id: 'recent2', size: 4e6, lastUsed: h(2), inUse: false },
    { id: 'busy', size: 9e6, lastUsed: now, inUse: true },
  ];
  const plan = planHost({ ...state, cache }, { ...policy, buildCacheMaxAgeHours: 168, buildCacheMaxBytes: 0 }, now);
  const removals = plan.changes.filter((c) => c.op.kind === 'remove-build-cache');
  assert.equal(
    removals.map((c) => c.op),
    [
      { kind: 'remove-build-cache', id: 'old' },
      { kind: 'remove-build-cache', id: 'base' },
    ],
    'the child before the record it builds on',
  );
  assert.equal(
    removals.map((c) => [c.action, c.target, c.bytes]),
    [
      ['remove build cache', 'build cache old (fileop target)', 5e6],
      ['remove build cache', 'build cache base (from local)', 1e6],
    ],
  );
  assert.match(removals[0].reason, /unused since 2029-12-23T16:00:00\.000Z, more than 168h/);
  assert.match(plan.kept.find((k) => k.target === 'build cache pinned')!.reason, /a record that stays builds on it/);
  assert.match(plan.kept.find((k) => k.target === 'build cache busy')!.reason, /in use/);
  // The size bound: least recently used first, each only after what builds on it, until the unused rest fits.
  const bounded = planHost(
    { ...state, cache },
    { ...policy, buildCacheMaxAgeHours: 168, buildCacheMaxBytes: 5e6 },
    now,
  );
  assert.equal(
    bounded.changes.filter((c) => c.op.kind === 'remove-build-cache').map((c) => (c.op as { id: string }).id),
    ['old', 'base', 'fresh-child', 'pinned', 'recent2'],
    '10 MB unused left: recent2 (pinned is not free yet), then fresh-child, down to 5 MB; pinned, stale, goes with its child',
  );
  assert.equal(docker.removeBuildCache('old'), [
    'docker',
    'builder',
    'prune',
    '--force',
    '--all',
    '--filter',
    'id=old',
  ]);
  assert.throws(
    () => confirmRemoved('old', 'Total reclaimed space: 0B'),
    /Docker did not remove build cache record old/,
  );
  confirmRemoved('old', 'Deleted build cache objects:\nold\n\nTotal reclaimed space: 5MB\n');
});

test("a container's writable layer is what docker system df -v counts (the inspect runs without --size), the virtual size aside", () => {
  const line = JSON.stringify({
    Containers: [
      { ID: 'a'.repeat(64), Size: '12.3kB (virtual 4.65MB)' },
      { ID: 'b'.repeat(64), Size: '0B' },
    ],
  });
  const sizes = parseSystemDf(line).containerSizes;
  assert.is(sizes.get('a'.repeat(64)), 12_300);
  assert.is(sizes.get('b'.repeat(64)), 0);
  const [inspected] = parseContainers(
    JSON.stringify([
      {
        Id: 'a'.repeat(64),
        Name: '/web',
        Image: 'sha256:1',
        Created: '2026-01-01T00:00:00Z',
        State: { Status: 'exited' },
        Config: { Image: 'web:1', Labels: null },
      },
    ]),
    sizes,
  );
  assert.is(inspected.sizeRw, 12_300);
  assert.not.ok(docker.inspectContainers(['a']).includes('--size'));
});

test('an inspect of what was listed a moment before: objects gone meanwhile are left out, any other error fails the read', () => {
  const found = '[{"Id": "4dc3cd7"}]';
  const run = (stderr: string, exitCode = 1) => presentOnly({ exitCode, stdout: found, stderr });
  // docker 20.10's own lines, one per missing object.
  assert.is(run('Error response from daemon: No such container: deadbeef\n'), found);
  assert.is(
    run(`Error response from daemon: no such image: sha256:${'a'.repeat(64)}: No such image: sha256:…\n`),
    found,
  );
  assert.is(run('Error response from daemon: get nope: no such volume\n'), found);
  assert.is(run('Error: No such object: deadbeef\nError: No such container: cafe\n'), found);
  assert.is(run('', 0), found);
  assert.is(presentOnly({ exitCode: 1, stdout: '', stderr: 'Error: No such container: a\n' }), '[]');
  assert.is(run('Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n'), undefined);
  assert.is(run('Error response from daemon: No such container: a\npermission denied\n'), undefined);
  assert.is(run(''), undefined, 'a failure that says nothing is not a missing object');
});

test('commands are argv values: by ID, never a prune of everything', () => {
  assert.equal(docker.usage(), ['docker', 'system', 'df', '--format', '{{json .}}']);
  assert.is(repositoryOf('postgres@sha256:abc'), 'postgres');
  assert.equal(docker.removeImage(['registry:5000/webhook-api:1.2']), [
    'docker',
    'image',
    'rm',
    'registry:5000/webhook-api:1.2',
  ]);
  assert.is(repositoryOf('registry:5000/webhook-api:1.2'), 'registry:5000/webhook-api');
  assert.is(repositoryOf('registry:5000/webhook-api'), 'registry:5000/webhook-api');
});

test('name globs read as sh reads them, where picomatch would read them otherwise', () => {
  assert.is(matchingPattern('web-3', ['web-[!12]']), 'web-[!12]', '[!…] is "none of these"');
  assert.is(matchingPattern('web-1', ['web-[!12]']), undefined);
  assert.is(matchingPattern('web-1', ['!web-2']), undefined, 'a leading ! is a character, not "all but"');
  assert.is(matchingPattern('.tmp-1', ['*-1']), '*-1', '* matches a leading dot');
  assert.is(matchingPattern('old-a.b', ['**']), '**');
  assert.is(matchingPattern('db-old', ['db-{old,tmp}']), 'db-{old,tmp}', 'braces are alternatives');
});

test('another compose project on the host is kept, running or stopped, and says why; SERVER_REMOVE_NAMES still removes', () => {
  const monitoring = (name: string, state: string) =>
    container({ name, state, labels: { 'com.docker.compose.project': 'monitoring' } });
  const state = { ...bare, containers: [monitoring('prometheus', 'running'), monitoring('grafana', 'exited')] };
  const plan = planHost(state, policy, now);
  const reason = (target: string) => plan.kept.find((k) => k.target === target)?.reason ?? '(not kept)';
  assert.equal(plan.changes, []);
  assert.match(reason('container prometheus'), /^running, part of compose project monitoring, which its own compose/);
  assert.match(
    reason('container grafana'),
    /^exited 21 days ago, part of compose project monitoring.*SERVER_REMOVE_NAMES/,
  );
  const named = planHost(state, { ...policy, removeNames: ['grafana'] }, now);
  assert.equal(targets(named, 'remove container'), ['container grafana']);
});

test.run();
