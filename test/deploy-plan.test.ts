/** The deploy's pure parts: what a compose file needs, the content key, the plan's steps, downtime figures. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  composeServices,
  composeSources,
  insideProject,
  parseModel,
  sortSources,
  writtenSources,
} from '../lib/deploy/compose-files.ts';
import { composeConfig } from '../lib/deploy/compose-model.ts';
import { foldersOf } from '../lib/deploy/deployer.ts';
import { compose, pack } from '../lib/deploy/commands.ts';
import { keyOf } from '../lib/deploy/content.ts';
import { describeDowntime, summarize } from '../lib/deploy/downtime.ts';
import { advance, findRelease, parseState, rollBackTo, type Release } from '../lib/host/deploy-state.ts';
import { SHIP_STEPS, BESIDE_STEPS } from './support/deploy-steps.ts';
import { serving } from '../lib/deploy/switch.ts';
import { filesNaming, upstreamPattern, type ServiceFacts } from '../lib/deploy/rollout.ts';
import { planDeploy, planRollback, type DeployReading } from '../lib/deploy/steps.ts';
import type { ProjectContainer } from '../lib/host/rollback-containers.ts';
import { pushedOut } from '../lib/deploy/registry-versions.ts';
import { chooseMode } from '../lib/deploy/modes.ts';
import { registryPolicy } from '../lib/registry/cleanup-policy.ts';

/** A compose model as `docker-compose config` prints it: paths resolved, variables substituted. */
const MODEL = `
services:
  api:
    image: reg/api:1
    env_file: [/p/api.env]
    build: { context: /p/api_server }
    secrets: [token, { source: other }]
    volumes:
      - data:/var/lib/data:rw
      - /p/nginx/conf.d:/etc/nginx/conf.d:ro
      - /var/run/docker.sock:/var/run/docker.sock:rw
  nginx:
    image: nginx
    volumes:
      - { type: bind, source: /p/ssl, target: /etc/nginx/ssl }
      - { type: volume, source: cache, target: /cache }
configs:
  site: { file: /p/site.conf }
secrets:
  token: { file: /p/token.txt }
  other: { file: /p/other.txt }
  external: { external: true }
`;

test("composeSources reads compose's model: bind mounts (short and long), env_file, build context, configs, secrets with the services that read them; not named volumes", () => {
  const found = composeSources(parseModel(MODEL)).map((s) => `${s.service} ${s.kind} ${s.path}`);
  assert.equal(found, [
    'api bind mount /p/nginx/conf.d',
    'api bind mount /var/run/docker.sock',
    'api env_file /p/api.env',
    'api build context /p/api_server',
    'nginx bind mount /p/ssl',
    'configs.site config /p/site.conf',
    'api secret /p/token.txt',
    'api secret /p/other.txt',
  ]);
  assert.equal(composeServices(parseModel(MODEL)), ['api', 'nginx']);
});

test('writtenSources: env_file and extends files as written (merge keys honoured, extends followed), relative bind mounts', () => {
  const files: Record<string, string> = {
    '/p/docker-compose.yml': `
x-common: &common
  env_file: .env.prod
services:
  api:
    <<: *common
    volumes: ['../elsewhere:/x', '/etc/localtime:/etc/localtime:ro', './\${DIR}:/y']
  front:
    extends: { file: common/base.yml, service: base }
`,
    '/p/common/base.yml': `services:\n  base:\n    env_file: [../front.env]\n    volumes: ['../nginx.conf:/n']\n  unused:\n    env_file: ../nope.env\n`,
  };
  const found = writtenSources('/p/docker-compose.yml', (p) => files[p]).map(
    (s) => `${s.service} ${s.kind} ${s.path} ${s.relative}`,
  );
  assert.equal(found, [
    'api env_file /p/.env.prod true',
    'api bind mount /elsewhere true',
    'front extends file /p/common/base.yml true',
    'base env_file /p/front.env true',
    'base bind mount /p/nginx.conf true',
  ]);
});

test("sortSources: ours are shipped with their readers, absolute paths outside are the host's; a relative path leaving the project or a missing file is refused naming the service", () => {
  assert.is(insideProject('/p', './a/b'), 'a/b');
  assert.is(insideProject('/p', '/p/a'), 'a');
  assert.is(insideProject('/p', '../q'), undefined);
  assert.is(insideProject('/p', '~/x'), undefined);
  const sorted = sortSources(
    '/p',
    [
      { service: 'a', kind: 'bind mount', path: '/p/x' },
      { service: 'b', kind: 'bind mount', path: '/p/x' },
      { service: 'a', kind: 'bind mount', path: '/var/run/docker.sock' },
      { service: 'b', kind: 'bind mount', path: '/etc/localtime' },
    ],
    [{ service: 'a', kind: 'env_file', path: '/p/.env.prod', relative: true }],
    () => true,
  );
  assert.equal(
    [...sorted.shipped],
    [
      ['x', ['a', 'b']],
      ['.env.prod', ['a']],
    ],
  );
  assert.equal(sorted.host, [
    { path: '/var/run/docker.sock', services: ['a'] },
    { path: '/etc/localtime', services: ['b'] },
  ]);
  assert.throws(
    () =>
      sortSources(
        '/p',
        [{ service: 'nginx', kind: 'bind mount', path: '/elsewhere' }],
        [{ service: 'nginx', kind: 'bind mount', path: '/elsewhere', relative: true }],
        () => true,
      ),
    /service nginx: bind mount \.\.\/elsewhere is outside the project folder \/p/,
  );
  assert.throws(
    () =>
      sortSources('/p', [], [{ service: 'api', kind: 'env_file', path: '/p/.env.prod', relative: true }], () => false),
    /service api: env_file \.env\.prod does not exist in \/p \(files git does not track are shipped from the working tree/,
  );
});

test('compose commands: config through v1 and v2 (JSON) with only the given env file; recreate; secrets packed 0600 with their folders', () => {
  const v1 = composeConfig('docker-compose', '/p/c.yml', '/t/.env');
  assert.equal(v1.slice(0, 2), ['env', '-i']);
  assert.equal(v1.slice(4), ['docker-compose', '--file', '/p/c.yml', '--env-file', '/t/.env', 'config']);
  assert.equal(composeConfig('docker compose', '/p/c.yml', '/t/.env').slice(4), [
    'docker',
    'compose',
    '--file',
    '/p/c.yml',
    '--env-file',
    '/t/.env',
    'config',
    '--format',
    'json',
  ]);
  assert.equal(compose.recreate({ compose: 'docker compose', project: 'w', file: '/s/d.yml' }, ['nginx']), [
    'docker',
    'compose',
    '--project-name',
    'w',
    '--file',
    '/s/d.yml',
    'up',
    '--detach',
    '--no-deps',
    '--force-recreate',
    'nginx',
  ]);
  assert.equal(foldersOf(['ssl/a/k.key', '.env.prod', 'ssl/b.key']), ['ssl', 'ssl/a']);
  assert.equal(pack('/p', '/t/a.tar', ['ssl', 'ssl/k'], true), [
    'tar',
    '-c',
    '-f',
    '/t/a.tar',
    '-C',
    '/p',
    '--mode=go=',
    '--no-recursion',
    '--',
    'ssl',
    'ssl/k',
  ]);
});

test('the content key moves with any input id and ignores their order', () => {
  const a = keyOf(
    new Map([
      ['api_server', 't1'],
      ['docker-compose.yml', 'b1'],
    ]),
  );
  assert.is(
    keyOf(
      new Map([
        ['docker-compose.yml', 'b1'],
        ['api_server', 't1'],
      ]),
    ),
    a,
  );
  assert.is.not(
    keyOf(
      new Map([
        ['api_server', 't2'],
        ['docker-compose.yml', 'b1'],
      ]),
    ),
    a,
  );
});

const release = (tag: string, digest = `sha256:${tag.padEnd(64, '0')}`): Release => ({
  image: `reg:5000/webhook-api:${tag}`,
  digest,
  revision: tag,
  contentKey: `k-${tag}`,
  deployedAt: '2026-12-01T00:00:00Z',
});

/** A container of the project; created long ago unless said otherwise. */
const container = (
  over: Partial<ProjectContainer> & Pick<ProjectContainer, 'id' | 'name' | 'image' | 'state' | 'service'>,
): ProjectContainer => ({ created: 0, labels: {}, ...over });

function reading(over: Partial<DeployReading> = {}): DeployReading {
  return {
    image: 'reg:5000/webhook-api',
    repository: 'webhook-api',
    host: 'ops@prod',
    statement: { kind: 'head', revision: 'abc123' },
    contentKey: 'k-new',
    allowedDirty: [],
    context: 'api_server',
    dockerfile: 'Dockerfile.webhook',
    composeFile: 'docker-compose.webhook.prod.yml',
    services: ['webhook-api', 'nginx'],
    files: [{ path: 'nginx/conf.d/site.conf', bytes: 120 }],
    hostPaths: [],
    state: { previous: [] },
    containers: [],
    rollback: { composeProject: 'webhook', rollbackKeep: 0, gracePeriodHours: 0, protectNames: [], protectLabels: [] },
    removedByServer: [],
    now: Date.parse('2026-12-02T00:00:00Z'),
    healthy: false,
    composeOnHost: false,
    promoteTags: ['final'],
    keep: 2,
    healthUrls: ['http://127.0.0.1:8001/health'],
    healthTimeoutSeconds: 30,
    drainSeconds: 2,
    rollout: { facts: [], frontFiles: [] },
    registryDigests: new Map(),
    hostImages: [],
    pushedOut: [],
    canCollect: true,
    registryHost: 'local',
    ...over,
  };
}

test('a first deploy: every step in order; a failed gate stops what it started, since nothing ran before', () => {
  const plan = planDeploy(reading());
  assert.equal(
    plan.changes.map((c) => c.action),
    [...SHIP_STEPS, 'up', 'health gate', 'promote', 'record release'],
  );
  const gate = plan.changes[7].op as { recovery: { kind: string } };
  assert.is(gate.recovery.kind, 'stop-started');
  assert.match(plan.changes[7].reason, /nothing was up before: stops and removes what this deploy started/);
  assert.match(
    plan.changes[3].reason,
    /names this run and that nothing served before: if the ship, pull or up fails, this run's recovery is: nothing was up before: stops and removes .*; if it is killed, the next deploy or rollback does that recovery first$/,
  );
  assert.match(plan.changes[4].target, /nginx\/conf\.d\/site\.conf \(120 B\)/);
  const foreign = planDeploy(
    reading({
      containers: [container({ id: '1', name: 'webhook_api_1', image: 'x', state: 'running', service: 'webhook-api' })],
    }),
  );
  assert.match(
    foreign.changes[7].reason,
    /containers up now \(webhook_api_1 \(x\)\) were not started from the deploy folder's compose file, so they cannot be brought back/,
  );
  assert.is(plan.changes[1].target, 'reg:5000/webhook-api:abc123');
});

test('containers that were up before: the gate brings them back; the unlisted running ones are not in the plan', () => {
  const running = [
    container({
      id: '1',
      name: 'webhook_webhook-api_1',
      image: 'reg:5000/webhook-api:old',
      state: 'running',
      service: 'webhook-api',
    }),
    container({ id: '2', name: 'webhook_worker_1', image: 'worker', state: 'running', service: 'worker' }),
    container({
      id: '3',
      name: 'webhook_webhook-api_2',
      image: 'reg:5000/webhook-api:older',
      state: 'exited',
      service: 'webhook-api',
    }),
  ];
  const plan = planDeploy(reading({ containers: running, composeOnHost: true }));
  const gate = plan.changes.find((c) => c.action === 'health gate')!;
  assert.match(
    gate.reason,
    /brings back what was up: webhook_webhook-api_1 \(reg:5000\/webhook-api:old\), webhook_worker_1/,
  );
  assert.ok(
    (plan.changes.find((c) => c.action === 'mark deploy under way')!.op as { saveBefore: boolean }).saveBefore,
    'what is there is saved before the marker',
  );
  assert.equal(
    plan.changes.slice(10).map((c) => `${c.action}: ${c.target}`),
    [
      'remove stopped container: webhook_webhook-api_2 (reg:5000/webhook-api:older)',
      'stop and remove orphan container: webhook_worker_1 (worker)',
    ],
  );
});

test('stopped containers of the project follow the rule clean:server applies: the newest few per service and the young stay, protected ones stay, those the server task removes are its items', () => {
  const now = Date.parse('2026-12-02T00:00:00Z');
  const hoursAgo = (h: number) => now - h * 3_600_000;
  const stopped = (id: string, service: string, stoppedHoursAgo: number, labels: Record<string, string> = {}) =>
    container({
      id,
      name: `webhook_${service}_${id}`,
      image: `reg:5000/${service}:${id}`,
      state: 'exited',
      service,
      created: hoursAgo(stoppedHoursAgo + 1),
      finished: hoursAgo(stoppedHoursAgo),
      labels,
    });
  const containers = [
    container({
      id: 'up',
      name: 'webhook_webhook-api_1',
      image: 'reg:5000/webhook-api:r3',
      state: 'running',
      service: 'webhook-api',
    }),
    stopped('a1', 'webhook-api', 100),
    stopped('a2', 'webhook-api', 200),
    stopped('a3', 'webhook-api', 300),
    stopped('a4', 'webhook-api', 400),
    stopped('a5', 'webhook-api', 500, { keep: 'yes' }),
    stopped('n1', 'nginx', 2),
    stopped('n2', 'nginx', 3),
  ];
  const rollback = {
    composeProject: 'webhook',
    rollbackKeep: 2,
    gracePeriodHours: 24,
    protectNames: [],
    protectLabels: ['keep=yes'],
  };
  const plan = planDeploy(reading({ containers, rollback, now, composeOnHost: true }));
  const removed = plan.changes.filter((c) => c.action === 'remove stopped container');
  assert.equal(
    removed.map((c) => c.target),
    ['webhook_webhook-api_a3 (reg:5000/webhook-api:a3)', 'webhook_webhook-api_a4 (reg:5000/webhook-api:a4)'],
  );
  assert.match(
    removed[0].reason,
    /older than the 2 newest stopped containers of webhook\/webhook-api a rollback may need/,
  );
  const reasonFor = (name: string) => plan.kept.find((k) => k.target === `container ${name}`)?.reason ?? '';
  assert.match(
    reasonFor('webhook_webhook-api_a1'),
    /kept for rollback: #1 of the 2 newest stopped containers of webhook\/webhook-api/,
  );
  assert.match(reasonFor('webhook_webhook-api_a5'), /protected by label keep=yes/);
  assert.match(reasonFor('webhook_nginx_n1'), /kept for rollback: #1/);

  // clean:all: the server task, planned first, removes a3 from this host; the deploy does not plan it again.
  const inAll = planDeploy(reading({ containers, rollback, now, composeOnHost: true, removedByServer: ['a3'] }));
  assert.equal(
    inAll.changes.filter((c) => c.action === 'remove stopped container').map((c) => c.target),
    ['webhook_webhook-api_a4 (reg:5000/webhook-api:a4)'],
  );
  assert.ok(
    inAll.kept.some(
      (k) =>
        k.target === '1 stopped container of project webhook' &&
        /removed by the server task earlier in this run/.test(k.reason),
    ),
  );

  // Within the grace period, a container beyond the newest few still stays.
  const young = planDeploy(
    reading({
      containers: [stopped('y1', 'nginx', 1), stopped('y2', 'nginx', 2), stopped('y3', 'nginx', 3)],
      rollback,
      now,
    }),
  );
  assert.equal(
    young.changes.filter((c) => c.action === 'remove stopped container'),
    [],
  );
  assert.match(
    young.kept.find((k) => k.target === 'container webhook_nginx_y3')!.reason,
    /within the 24h grace period/,
  );
});

test('clean-up: releases beyond the kept ones lose their tag (with its digest) and image, then collection; a shared digest is kept', () => {
  const state = { current: release('r3'), previous: [release('r2'), release('r1')] };
  const digests = new Map([
    ['r3', state.current.digest!],
    ['r2', release('r2').digest!],
    ['r1', release('r1').digest!],
    ['final', state.current.digest!],
  ]);
  const plan = planDeploy(
    reading({
      state,
      registryDigests: digests,
      hostImages: ['reg:5000/webhook-api:r1'],
      containers: [
        container({
          id: '9',
          name: 'webhook_webhook-api_1',
          image: 'reg:5000/webhook-api:r3',
          state: 'running',
          service: 'webhook-api',
        }),
      ],
      composeOnHost: true,
    }),
  );
  assert.equal(
    plan.changes.slice(10).map((c) => c.action),
    ['delete old release tag', 'delete old release tag', 'remove old release image', 'collect registry garbage'],
  );
  assert.match(plan.changes[10].target, /^webhook-api:r2 \(sha256:r2/);
  const shared = planDeploy(reading({ state, registryDigests: new Map([...digests, ['r1', state.current.digest!]]) }));
  assert.ok(
    shared.kept.some(
      (k) => k.target.startsWith('webhook-api:r1') && /also webhook-api:(r3|final), which stays/.test(k.reason),
    ),
  );
});

test('unchanged content, running and healthy, plans nothing whatever the commit', () => {
  const current = { ...release('r1'), contentKey: 'k-new' };
  const plan = planDeploy(
    reading({
      state: { current, previous: [] },
      healthy: true,
      containers: ['webhook-api', 'nginx'].map((s, i) =>
        container({
          id: String(i),
          name: s,
          image: s === 'nginx' ? 'nginx' : current.image,
          state: 'running',
          service: s,
        }),
      ),
    }),
  );
  assert.is(plan.changes.length, 0);
  assert.match(plan.kept[0].reason, /already deployed, running and healthy/);
});

test('a changed secret: the plan names it (never its bytes), re-ships and recreates exactly the services that read it', () => {
  const current = {
    ...release('abc123'),
    contentKey: 'k-old',
    files: { 'ssl/w.key': 'sha256:old', 'nginx/site.conf': 'b1' },
  };
  const plan = planDeploy(
    reading({
      state: { current, previous: [] },
      files: [
        { path: 'nginx/site.conf', bytes: 120, readers: ['nginx'] },
        { path: 'ssl/w.key', bytes: 1704, secret: true, readers: ['nginx'] },
        { path: '.env.prod', bytes: 40, secret: true, readers: ['webhook-api'] },
      ],
      fileIds: { 'ssl/w.key': 'sha256:new', 'nginx/site.conf': 'b1', '.env.prod': 'sha256:e' },
    }),
  );
  const ship = plan.changes.find((c) => c.action === 'ship')!;
  assert.match(ship.target, /ssl\/w\.key \(1\.7 kB, secret: not in git\)/);
  assert.match(ship.reason, /mode 0600 in 0700 folders, never printed/);
  const up = plan.changes.find((c) => c.action === 'up')!;
  assert.equal(
    up.op,
    { kind: 'up', recreate: ['nginx'] },
    'nginx reads the changed key; the API reads nothing that changed',
  );
  assert.match(up.reason, /then recreates nginx: they read ssl\/w\.key, which changed/);
  assert.match(plan.changes.find((c) => c.action === 'build')!.reason, /shipped files changed: ssl\/w\.key/);
});

test('in clean:all the build states the revision the inventory commit will make, and what it is based on', () => {
  const plan = planDeploy(
    reading({ statement: { kind: 'after-commit', base: 'abc123', by: 'inventory' }, contentKey: undefined }),
  );
  assert.match(
    plan.changes[1].reason,
    /the revision the inventory commit will make \(the tree of api_server\/ after that commit, based on HEAD abc123\)/,
  );
});

test('a rollback: set image, pull, up, gate, promote to the release digest, record', () => {
  const state = { current: release('r2'), previous: [release('r1')] };
  const plan = planRollback(reading({ state }), state.previous[0]);
  assert.equal(
    plan.changes.map((c) => c.action),
    ['lock', 'mark deploy under way', 'set image', 'pull', 'up', 'health gate', 'promote', 'record rollback'],
  );
  assert.is(findRelease(state, undefined)?.revision, 'r1');
  assert.is(findRelease(state, 'r2')?.revision, 'r2');
  assert.is(findRelease(state, 'nope'), undefined);
  assert.is(rollBackTo(state, state.previous[0].image).current?.revision, 'r1');
});

test('an interrupted run\'s marker: bring back its release first, as an item of the plan, then deploy; never "nothing to do"', () => {
  const current = { ...release('r1'), contentKey: 'k-new' };
  const up = ['webhook-api', 'nginx'].map((s, i) =>
    container({ id: String(i), name: s, image: s === 'nginx' ? 'nginx' : current.image, state: 'running', service: s }),
  );
  const marker = {
    run: 'deploy:clean pid 7 on box',
    since: '2026-12-01T10:00:00Z',
    release: current.image,
    recovery: { kind: 'restore-before' as const, serving: ['webhook_webhook-api_1 (r1)'] },
  };
  const plan = planDeploy(
    reading({ state: { current, previous: [] }, healthy: true, containers: up, composeOnHost: true, marker }),
  );
  assert.equal(
    plan.changes.slice(0, 4).map((c) => c.action),
    ['lock', 'bring back', 'build', 'push'],
  );
  assert.is(plan.changes[1].target, current.image);
  assert.match(
    plan.changes[1].reason,
    /deploy:clean pid 7 on box was interrupted \(under way since 2026-12-01T10:00:00Z\) before its health gate passed .*restores the files saved before shipping and brings back what was up: webhook_webhook-api_1 \(r1\); then this run goes on/,
  );
  assert.equal(
    (plan.changes.find((c) => c.action === 'health gate')!.op as { recovery: unknown }).recovery,
    marker.recovery,
    'its own gate brings back the same release',
  );
  const rollback = planRollback(reading({ state: { current, previous: [release('r0')] }, marker }), release('r0'));
  assert.equal(
    rollback.changes.slice(0, 3).map((c) => c.action),
    ['lock', 'bring back', 'mark deploy under way'],
  );
});

test('the marker of a run killed before its ship: the plan says nothing was started, decided from the deploy folder it read', () => {
  const marker = {
    run: 'deploy:clean pid 8 on box',
    since: '2026-12-01T10:00:00Z',
    recovery: { kind: 'stop-started' as const, replaced: [] },
  };
  const bringBack = (composeOnHost: boolean) =>
    planDeploy(reading({ composeOnHost, marker })).changes.find((c) => c.action === 'bring back')!;
  const unshipped = bringBack(false);
  assert.match(
    unshipped.reason,
    /it had not shipped its compose file \(none in the deploy folder\), so it started nothing: nothing to stop, only its marker is removed; then this run goes on/,
  );
  assert.is((unshipped.op as { startedNothing: boolean }).startedNothing, true);
  const shipped = bringBack(true);
  assert.match(shipped.reason, /stops and removes what this deploy started \(compose down\)/);
  assert.is((shipped.op as { startedNothing: boolean }).startedNothing, false);
});

test('releases: advance keeps the newest, drops the rest; an old state of plain image names still reads', () => {
  const { state, dropped } = advance({ current: release('r2'), previous: [release('r1')] }, release('r3'), 2);
  assert.equal([state.current?.revision, ...state.previous.map((r) => r.revision)], ['r3', 'r2']);
  assert.equal(
    dropped.map((r) => r.revision),
    ['r1'],
  );
  assert.is(
    parseState('{"current":"reg/webhook-api:abc","previous":["reg/webhook-api:old"]}').previous[0].revision,
    'old',
  );
});

test("the new release pushes the oldest kept version out of section 4's last 3; what the registry task drops anyway is not repeated", () => {
  const tag = (t: string, month: number) => ({
    tag: t,
    digest: `sha256:${t.replace(/\W/g, '').padEnd(64, 'a')}`,
    created: `2026-0${month}-01T00:00:00Z`,
  });
  const state = {
    repositories: new Map([
      ['webhook-api', [tag('1.0.0', 1), tag('1.1.0', 2), tag('1.2.0', 3), tag('1.3.0', 4), tag('test-7', 5)]],
    ]),
    manifests: new Map(),
  };
  const policy = { ...registryPolicy, keepVersions: 3, protect: ['webhook-api:final'], repositories: {} };
  const out = pushedOut(state, 'webhook-api', 'abc123', policy, Date.parse('2026-12-01T00:00:00Z'));
  assert.equal(
    out.map((c) => c.op.tags),
    [['1.1.0']],
  );
});

const api: ServiceFacts = {
  name: 'webhook-api',
  image: 'reg:5000/webhook-api:planned',
  hostNetwork: false,
  healthcheck: true,
  published: false,
  containerName: false,
  scale: 1,
};
const frontFacts: ServiceFacts = {
  ...api,
  name: 'nginx',
  image: 'reg:5000/nginx:1',
  healthcheck: false,
  published: true,
};
const besideReading = (over: Partial<DeployReading> = {}) =>
  reading({
    state: { current: release('r1'), previous: [] },
    composeOnHost: true,
    healthy: true,
    containers: [
      container({
        id: 'old1',
        name: 'webhook_webhook-api_1',
        image: 'reg:5000/webhook-api:r1',
        state: 'running',
        service: 'webhook-api',
      }),
      container({
        id: 'front1',
        name: 'webhook_nginx_1',
        image: 'reg:5000/nginx:1',
        state: 'running',
        service: 'nginx',
      }),
    ],
    rollout: {
      api,
      facts: [api, frontFacts],
      frontFiles: [{ path: 'nginx/conf.d/site.conf', bytes: 120, readers: ['nginx'] }],
    },
    ...over,
  });

test('on a compose network with a healthcheck: the new release starts beside the old one, the front moves by reload, the old one goes after a drain; expected downtime zero', () => {
  const plan = planDeploy(besideReading());
  assert.equal(
    plan.changes.map((c) => c.action),
    [...SHIP_STEPS, ...BESIDE_STEPS, 'up', 'promote', 'record release'],
  );
  assert.match(plan.figures.find((f) => f.label === 'expected downtime')!.value, /^zero: the new webhook-api serves/);
  const start = plan.changes[6];
  assert.equal(start.op, { kind: 'start-beside', service: 'webhook-api', serving: ['old1'], timeoutSeconds: 30 });
  assert.match(start.reason, /--scale webhook-api=2 --no-recreate: a new container beside webhook_webhook-api_1/);
  assert.match(plan.changes[7].reason, /nginx -t, then nginx -s reload/);
  const gate = plan.changes[8].op as { recovery: { kind: string; beside?: { keep: { id: string }[] } } };
  assert.equal(
    gate.recovery.beside?.keep.map((c) => c.id),
    ['old1'],
  );
  assert.match(plan.changes[8].reason, /points nginx back at webhook_webhook-api_1 \(never stopped\)/);
  assert.equal(plan.changes[10].op, {
    kind: 'remove-old',
    containers: [{ id: 'old1', name: 'webhook_webhook-api_1' }],
  });
});

test('where the new release cannot start beside the old one, the plan recreates in place and says why the downtime is not zero', () => {
  const why = (over: Partial<ServiceFacts>, more: Partial<DeployReading> = {}) => {
    const facts = { ...api, ...over };
    const plan = planDeploy(
      besideReading({
        ...more,
        rollout: { api: facts, facts: [facts, frontFacts], frontFiles: besideReading().rollout.frontFiles },
      }),
    );
    assert.ok(plan.changes.some((c) => c.action === 'up') && !plan.changes.some((c) => c.action === 'start beside'));
    return plan.figures.find((f) => f.label === 'expected downtime')!.value;
  };
  assert.match(why({ hostNetwork: true }), /^not zero: webhook-api uses network_mode: host/);
  assert.match(why({ healthcheck: false }), /no compose healthcheck/);
  assert.match(why({ published: true }), /publishes ports on the host/);
  assert.match(why({ containerName: true }), /fixed container_name/);
  const stopped = container({
    id: 'old0',
    name: 'webhook_webhook-api_0',
    image: 'x',
    state: 'exited',
    service: 'webhook-api',
  });
  assert.match(
    why({}, { containers: [...besideReading().containers, stopped] }),
    /stopped containers \(webhook_webhook-api_0\)/,
  );
  assert.match(
    why({}, { containers: besideReading().containers.filter((c) => c.service !== 'nginx') }),
    /the front \(nginx\) is not running/,
  );
  const first = planDeploy(reading({ rollout: besideReading().rollout }));
  assert.match(
    first.figures.find((f) => f.label === 'expected downtime')!.value,
    /^none to avoid: no webhook-api container runs now/,
  );
});

test("an interrupted beside deploy's marker: the plan starts the new release beside the containers its bring-back keeps, not beside the one it removes", () => {
  const started = container({
    id: 'new2',
    name: 'webhook_webhook-api_2',
    image: 'reg:5000/webhook-api:r2',
    state: 'running',
    service: 'webhook-api',
  });
  const serving = besideReading();
  const plan = planDeploy(
    besideReading({
      containers: [...serving.containers, started],
      marker: {
        run: 'deploy:clean pid 1 on elsewhere',
        since: '2026-12-02T00:00:00Z',
        release: 'reg:5000/webhook-api:r1',
        recovery: {
          kind: 'restore-before',
          serving: ['webhook_webhook-api_1'],
          beside: {
            service: 'webhook-api',
            move: { by: 'name' },
            keep: [{ id: 'old1', name: 'webhook_webhook-api_1' }],
            front: 'nginx',
            files: ['nginx/conf.d/site.conf'],
          },
        },
      },
    }),
  );
  assert.is(plan.changes[1].action, 'bring back');
  const start = plan.changes.find((c) => c.action === 'start beside')!;
  assert.equal((start.op as { serving: string[] }).serving, ['old1']);
  assert.match(start.reason, /--scale webhook-api=2 --no-recreate: a new container beside webhook_webhook-api_1,/);
});

test('on the host network with DEPLOY_SECOND_PORT: the new release starts on the other port and the front moves there; in place after blue/green left it on the second port, the front reloads onto the first', () => {
  const host = { ...api, hostNetwork: true };
  const rollout = {
    api: host,
    facts: [host, frontFacts],
    frontFiles: [],
    secondPort: { key: 'WEBHOOK_PORT', first: 8001, second: 8011 },
    portFiles: [{ path: 'nginx/conf.d/site.conf', bytes: 120, readers: ['nginx'] }],
  };
  const green = planDeploy(besideReading({ rollout, servingPort: 8001 }));
  const ship = green.changes.find((c) => c.action === 'ship')!;
  assert.is((ship.op as { port?: string }).port, 'WEBHOOK_PORT=8011');
  const move = green.changes.find((c) => c.action === 'switch front')!;
  assert.match(move.reason, /^127\.0\.0\.1:8001 in nginx\/conf\.d\/site\.conf becomes 127\.0\.0\.1:8011/);
  assert.not.ok(
    green.changes.some((c) => c.action === 'settle front'),
    'the front keeps naming the port that serves',
  );
  const blue = planDeploy(besideReading({ rollout, servingPort: 8011 }));
  assert.is((blue.changes.find((c) => c.action === 'ship')!.op as { port?: string }).port, 'WEBHOOK_PORT=8001');
  const noCheck = { ...host, healthcheck: false };
  const inPlace = planDeploy(
    besideReading({ rollout: { ...rollout, api: noCheck, facts: [noCheck, frontFacts] }, servingPort: 8011 }),
  );
  const actions = inPlace.changes.map((c) => c.action);
  assert.is(actions.indexOf('reload front'), actions.indexOf('up') + 1, actions.join(', '));
  assert.match(inPlace.changes[actions.indexOf('reload front')].reason, /listens on 8001 again \(it served on 8011\)/);
});

test('after the switch, compose up runs only when compose could find something to do: another service, or a compose file or .env that changed', () => {
  const same = planDeploy(besideReading({ composeUnchanged: true }));
  assert.not.ok(same.changes.some((c) => c.action === 'up'));
  assert.match(
    same.changes.find((c) => c.action === 'remove old')!.reason,
    /no compose up after it: the compose file and its \.env are those the serving release shipped/,
  );
  const worker = planDeploy(besideReading({ composeUnchanged: true, services: ['webhook-api', 'nginx', 'worker'] }));
  assert.ok(
    worker.changes.some((c) => c.action === 'up'),
    "a third service is compose up's to decide",
  );
  assert.ok(
    planDeploy(besideReading()).changes.some((c) => c.action === 'up'),
    'a changed (or unknown) compose file',
  );
  const second = container({
    id: 'old2',
    name: 'webhook_webhook-api_2',
    image: 'reg:5000/webhook-api:r1',
    state: 'running',
    service: 'webhook-api',
  });
  const scaled = planDeploy(
    besideReading({ composeUnchanged: true, containers: [...besideReading().containers, second] }),
  );
  assert.match(
    scaled.changes.find((c) => c.action === 'up')!.reason,
    /gives webhook-api the 1 container its compose file asks for \(2 served before\)/,
    'two API containers were replaced by one: compose brings back its scale',
  );
  const actionsOf = (plan: ReturnType<typeof planDeploy>) => plan.changes.map((c) => c.action);
  assert.equal(
    actionsOf(scaled).slice(-4, -2),
    ['settle front', 'up'],
    'the compose file asks for one: no reload after the up',
  );
  const asked = planDeploy(
    besideReading({ composeUnchanged: true, rollout: { ...besideReading().rollout, api: { ...api, scale: 3 } } }),
  );
  const reload = asked.changes.find((c) => c.action === 'reload front');
  assert.match(
    reload?.reason ?? '(no reload after the up)',
    /compose up gave webhook-api the 3 containers its compose file asks for; nginx resolves webhook-api:PORT when it loads/,
  );
  const tail = ['remove old', 'settle front', 'up', 'reload front'];
  assert.equal(
    actionsOf(asked).filter((a) => tail.includes(a)),
    tail,
    'compose starts the others after the settle; the front reloads to reach them',
  );
  assert.not.ok(
    same.changes.some((c) => c.action === 'reload front'),
    'one container: nothing to spread',
  );
});

test('the pull takes the new image alone when the compose file and .env are the serving release’s; else compose pulls every service', () => {
  const pull = (plan: ReturnType<typeof planDeploy>) => plan.changes.find((c) => c.action === 'pull')!;
  const same = pull(planDeploy(besideReading({ composeUnchanged: true })));
  assert.equal(same.op, { kind: 'pull', imageOnly: true });
  assert.match(same.reason, /this image alone: the compose file and \.env are those the serving release shipped/);
  const changed = pull(planDeploy(besideReading()));
  assert.equal(changed.op, { kind: 'pull' });
  assert.not.match(changed.reason, /alone/);
});

test('a front whose image changes is restarted before the switch, and the plan says that restart is the one gap', () => {
  const plan = planDeploy(
    besideReading({
      rollout: { ...besideReading().rollout, facts: [api, { ...frontFacts, image: 'reg:5000/nginx:2' }] },
    }),
  );
  assert.equal(plan.changes[6].op, { kind: 'restart-front', front: 'nginx' });
  assert.match(
    plan.figures.find((f) => f.label === 'expected downtime')!.value,
    /except nginx's own restart: its image changes \(reg:5000\/nginx:1 → reg:5000\/nginx:2\)/,
  );
});

test("a reload counts once no worker of before takes connections: docker top's workers, not those shutting down", () => {
  const top = [
    'UID      PID    PPID   C  STIME  TTY  TIME      CMD',
    'root     9458   9438   0  18:48  ?    00:00:00  nginx: master process nginx -g daemon off;',
    'nobody   9487   9458   0  18:48  ?    00:00:00  nginx: worker process is shutting down',
    'nobody   9533   9458   0  18:48  ?    00:00:00  nginx: worker process',
  ].join('\n');
  assert.equal([...serving(top)], ['9533']);
});

test('the front files: tracked files naming the API service and a port; not a longer name, not a secret', () => {
  const files = [
    { path: 'a.conf', bytes: 1, readers: ['nginx'] },
    { path: 'b.conf', bytes: 1, readers: ['nginx'] },
    { path: 'c.conf', bytes: 1, readers: ['nginx'] },
    { path: 'd.key', bytes: 1, readers: ['nginx'], secret: true },
  ];
  const text: Record<string, string> = {
    'a.conf': 'proxy_pass http://webhook-api:8001;',
    'b.conf': 'proxy_pass http://old-webhook-api:8001; server webhook-api.internal:80;',
    'c.conf': 'upstream x { server webhook-api; }',
    'd.key': 'webhook-api:1',
  };
  assert.equal(
    filesNaming(upstreamPattern('webhook-api'), files, (p) => text[p]).map((f) => f.path),
    ['a.conf'],
  );
  assert.is(
    'proxy_pass http://webhook-api:8001;'.replace(upstreamPattern('webhook-api'), 'webhook_webhook-api_2'),
    'proxy_pass http://webhook_webhook-api_2:8001;',
  );
});

test('downtime: failed requests and the longest gap without a good answer, including one running to the end', () => {
  const samples = [0, 100, 200, 300, 400].map((at, i) => ({ at, ok: i !== 2 && i !== 3 }));
  assert.equal(summarize('u', samples, 0, 450), { url: 'u', everyMs: 20, requests: 5, failed: 2, longestGapMs: 300 });
  assert.is(
    summarize(
      'u',
      [
        { at: 100, ok: true },
        { at: 200, ok: false },
      ],
      0,
      900,
    ).longestGapMs,
    800,
  );
  const first = summarize(
    'u',
    [
      { at: 100, ok: false, failure: 'connect ECONNREFUSED' },
      { at: 200, ok: true },
    ],
    0,
    300,
  );
  assert.match(
    describeDowntime(first),
    /the first failure: connect ECONNREFUSED; nothing answered when the run started/,
  );
  assert.not.match(describeDowntime(summarize('u', samples, 0, 450)), /nothing answered/);
});

test('the first flag picks the command; the rollback version is a positional word, passed on as --to', () => {
  assert.equal(chooseMode(['--yes']), { mode: 'deploy:clean', args: ['--yes'] });
  assert.equal(chooseMode(['--lock', '--release', '--yes']), { mode: 'deploy:lock', args: ['--release', '--yes'] });
  assert.equal(chooseMode(['--rollback', 'abc123', '--yes']), {
    mode: 'deploy:rollback',
    args: ['--to', 'abc123', '--yes'],
  });
  assert.equal(chooseMode(['--rollback', '--env-file', 'x.env', 'abc123']), {
    mode: 'deploy:rollback',
    args: ['--env-file', 'x.env', '--to', 'abc123'],
  });
  assert.equal(
    chooseMode(['--releases', 'abc123']),
    { mode: 'deploy:releases', args: ['abc123'] },
    'only the rollback takes a version',
  );
});

test.run();
