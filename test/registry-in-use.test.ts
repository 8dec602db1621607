/** "In use means kept", on plain data: references of hosts to this registry and what the plan keeps. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReference, referencesOf, registryNames, resolveInUse, type HostImages } from '../lib/registry/in-use.ts';
import { planRegistry } from '../lib/registry/plan.ts';
import type { RegistryPolicy } from '../lib/registry/policy.ts';
import type { ManifestRecord } from '../lib/registry/sizes.ts';

const names = registryNames(new URL('http://127.0.0.1:5000'), ['registry.example:5000']);
const policy: RegistryPolicy = {
  keepVersions: 2,
  deleteTagTokens: ['test', 'temp', 'debug'],
  protectTags: ['latest', 'final'],
  protect: [],
  repositories: {},
};
const image = (digest: string, config: string, layer: number): ManifestRecord => ({
  digest,
  size: 10,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: { digest: config, size: 5 },
  layers: [{ digest: `l-${digest}`, size: layer }],
  children: [],
});

test('registry aliases: localhost and 127.0.0.1 are one registry; another port or host is not', () => {
  assert.equal(parseReference('localhost:5000/webhook-api:1.0.0', names), { repository: 'webhook-api', tag: '1.0.0' });
  assert.equal(parseReference('127.0.0.1:5000/team/app@sha256:abc', names), {
    repository: 'team/app',
    digest: 'sha256:abc',
  });
  assert.equal(parseReference('registry.example:5000/webhook-api:2', names), { repository: 'webhook-api', tag: '2' });
  assert.is(parseReference('127.0.0.1:5001/webhook-api:1', names), undefined);
  assert.is(parseReference('docker.io/library/nginx:1', names), undefined);
  assert.is(parseReference('webhook-api:1', names), undefined, 'no registry part: Docker Hub');
  const https = registryNames(new URL('https://registry.example'), []);
  assert.ok(parseReference('registry.example/app:1', https));
});

const host: HostImages = {
  host: 'ops@prod-1:22',
  containers: [
    {
      name: 'webhook_api_1',
      imageId: 'sha256:cfg-old',
      imageRef: 'localhost:5000/webhook-api:1.0.0',
      state: 'running',
    },
    {
      name: 'webhook_api_old',
      imageId: 'sha256:cfg-built',
      imageRef: '127.0.0.1:5000/webhook-api:1.1.0',
      state: 'exited',
    },
    { name: 'other', imageId: 'sha256:cfg-hub', imageRef: 'busybox:latest', state: 'running' },
  ],
  images: [
    {
      Id: 'sha256:cfg-old',
      RepoTags: ['localhost:5000/webhook-api:1.0.0'],
      RepoDigests: ['localhost:5000/webhook-api@sha256:old'],
    },
    { Id: 'sha256:cfg-built', RepoTags: ['127.0.0.1:5000/webhook-api:1.1.0'], RepoDigests: [] },
    { Id: 'sha256:cfg-hub', RepoTags: ['busybox:latest'], RepoDigests: ['busybox@sha256:hub'] },
  ],
  deployed: {
    current: { image: '127.0.0.1:5000/webhook-api:1.0.0' },
    previous: [{ image: '127.0.0.1:5000/webhook-api:debug-9' }],
  },
};

test("a host's references: containers by repo digest or image ID, the deploy's releases by tag, each with its reason", () => {
  const refs = referencesOf(host, names);
  assert.equal(refs, [
    { repository: 'webhook-api', digest: 'sha256:old', reason: 'runs on ops@prod-1:22 as webhook_api_1' },
    {
      repository: 'webhook-api',
      imageId: 'sha256:cfg-built',
      reason: 'is kept (exited) for a restart or rollback on ops@prod-1:22 as webhook_api_old',
    },
    {
      repository: 'webhook-api',
      tag: '1.0.0',
      reason: 'current release of webhook-api on ops@prod-1:22 (deploy-state.json)',
    },
    {
      repository: 'webhook-api',
      tag: 'debug-9',
      reason: 'rollback target of webhook-api on ops@prod-1:22 (deploy-state.json)',
    },
  ]);
});

test('the plan keeps what hosts run or roll back to, besides the newest versions; a test tag on a running image is only untagged', () => {
  const manifests = new Map<string, ManifestRecord>([
    ['sha256:old', image('sha256:old', 'sha256:cfg-old', 100)],
    ['sha256:built', image('sha256:built', 'sha256:cfg-built', 200)],
    ['sha256:v2', image('sha256:v2', 'c2', 300)],
    ['sha256:v3', image('sha256:v3', 'c3', 400)],
    ['sha256:v4', image('sha256:v4', 'c4', 500)],
    ['sha256:dbg', image('sha256:dbg', 'c-dbg', 600)],
  ]);
  const tags = [
    { tag: '1.0.0', digest: 'sha256:old' },
    { tag: 'test-1.0', digest: 'sha256:old' },
    { tag: '1.1.0', digest: 'sha256:built' },
    { tag: '1.2.0', digest: 'sha256:v2' },
    { tag: '1.3.0', digest: 'sha256:v3' },
    { tag: '1.4.0', digest: 'sha256:v4' },
    { tag: 'debug-9', digest: 'sha256:dbg' },
  ];
  const refs = referencesOf(host, names);
  const inUse = resolveInUse(refs, tags, manifests);
  assert.equal([...inUse.digests.keys()].sort(), ['sha256:built', 'sha256:dbg', 'sha256:old']);
  const plan = planRegistry(
    { repositories: new Map([['webhook-api', tags]]), manifests },
    policy,
    5e9,
    Date.now(),
    refs,
  );
  const kept = Object.fromEntries(plan.kept.map((k) => [k.target, k.reason]));
  assert.match(kept['webhook-api:1.0.0'], /in use: .*runs on ops@prod-1:22 as webhook_api_1/);
  assert.match(kept['webhook-api:1.1.0'], /in use: is kept \(exited\).*webhook_api_old/);
  assert.match(kept['webhook-api:debug-9'], /rollback target of webhook-api/);
  assert.match(kept['webhook-api:1.4.0'], /one of the 2 newest/);
  assert.match(kept['webhook-api:1.3.0'], /one of the 2 newest/);
  const ops = plan.changes.map((c) => c.op);
  assert.equal(ops, [
    { kind: 'untag', repository: 'webhook-api', digest: 'sha256:old', tags: ['test-1.0'] },
    { kind: 'delete', repository: 'webhook-api', digest: 'sha256:v2', tags: ['1.2.0'] },
  ]);
  assert.match(plan.changes[0].reason, /its image stays, since it runs on ops@prod-1:22 as webhook_api_1/);
});

test('an image in use whose only tag is a test tag stays, untagged', () => {
  const manifests = new Map<string, ManifestRecord>([['sha256:t', image('sha256:t', 'ct', 100)]]);
  const tags = [{ tag: 'temp-7', digest: 'sha256:t' }];
  const plan = planRegistry({ repositories: new Map([['app', tags]]), manifests }, policy, 5e9, Date.now(), [
    { repository: 'app', digest: 'sha256:t', reason: 'runs on h as c' },
  ]);
  assert.equal(
    plan.changes.map((c) => c.op),
    [{ kind: 'untag', repository: 'app', digest: 'sha256:t', tags: ['temp-7'] }],
  );
  assert.ok(
    plan.kept.some((k) => k.target === 'app@t' && k.reason === 'in use: runs on h as c'),
    JSON.stringify(plan.kept),
  );
  assert.is(plan.sizeAfter, plan.sizeNow, 'nothing freed');
});

test('a platform manifest in use keeps the tagged index it belongs to', () => {
  const manifests = new Map<string, ManifestRecord>([
    ['sha256:amd', image('sha256:amd', 'c-amd', 100)],
    [
      'sha256:idx',
      {
        digest: 'sha256:idx',
        size: 20,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        layers: [],
        children: ['sha256:amd'],
      },
    ],
  ]);
  const inUse = resolveInUse(
    [{ repository: 'm', digest: 'sha256:amd', reason: 'runs on h as c' }],
    [{ tag: '0.1.0', digest: 'sha256:idx' }],
    manifests,
  );
  assert.is(inUse.digests.get('sha256:idx'), 'runs on h as c');
});

test.run();
