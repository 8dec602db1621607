import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decideRepository,
  matchingToken,
  needsCreationDates,
  rulesFor,
  type RegistryPolicy,
  type TagInfo,
} from '../lib/registry/policy.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { withSettings } from '../lib/registry/cleanup.ts';
import { compareVersions, parseVersion } from '../lib/registry/versions.ts';
import { planRegistry, type RegistryState } from '../lib/registry/plan.ts';
import { blobsOf, freedBytesPerRoot, sumSizes, type ManifestRecord } from '../lib/registry/sizes.ts';

const policy: RegistryPolicy = {
  keepVersions: 3,
  deleteTagTokens: ['test', 'temp', 'debug'],
  protectTags: ['latest', 'final'],
  protect: ['webhook-api:stable'],
  repositories: { 'keep-five': { keepVersions: 5 } },
};
const now = Date.parse('2026-11-24T00:00:00Z');
const verdicts = (tags: TagInfo[], repo = 'webhook-api') =>
  Object.fromEntries(decideRepository(tags, rulesFor(policy, repo), now).map((d) => [d.tag, d.keep]));

test('versions: semver precedence, prereleases below releases, two-part versions allowed', () => {
  const sorted = ['1.10.0', '1.2.0', 'v1.9.1', '1.10.0-rc.1', '2.0', '1.10.0-rc.10'].sort((a, b) =>
    compareVersions(parseVersion(a)!, parseVersion(b)!),
  );
  assert.equal(sorted, ['1.2.0', 'v1.9.1', '1.10.0-rc.1', '1.10.0-rc.10', '1.10.0', '2.0']);
  assert.is(parseVersion('42'), undefined);
  assert.is(parseVersion('20241211'), undefined);
  assert.is(parseVersion('latest'), undefined);
});

test('the newest 3 versions stay, by semver, whatever the name order', () => {
  const tags = ['1.2.0', '1.10.0', '1.9.0', '1.3.0', '1.1.0'].map((tag) => ({ tag, digest: `d-${tag}` }));
  assert.equal(verdicts(tags), { '1.2.0': false, '1.10.0': true, '1.9.0': true, '1.3.0': true, '1.1.0': false });
});

test('protected tags stay and do not count among the 3; test/temp/debug tags go', () => {
  const tags = [
    { tag: 'final', digest: 'd-final' },
    { tag: '1.0.0', digest: 'd1' },
    { tag: '1.1.0', digest: 'd2' },
    { tag: '1.2.0', digest: 'd3' },
    { tag: 'test-42', digest: 'd4' },
    { tag: 'feature-TEMP', digest: 'd5' },
    { tag: 'debug', digest: 'd6' },
  ];
  assert.equal(verdicts(tags), {
    final: true,
    '1.0.0': true,
    '1.1.0': true,
    '1.2.0': true,
    'test-42': false,
    'feature-TEMP': false,
    debug: false,
  });
  const reasons = decideRepository(tags, rulesFor(policy, 'webhook-api'), now);
  assert.match(reasons.find((d) => d.tag === 'final')!.reason, /protected/);
  assert.match(reasons.find((d) => d.tag === 'test-42')!.reason, /token "test"/);
  // A repository:tag pair protects in its repository only; the protected set in every one.
  const others = ['1.0.0', '1.1.0', '1.2.0'].map((tag) => ({ tag, digest: tag }));
  assert.is(verdicts([{ tag: 'stable', digest: 'x' }, ...others], 'webhook-api').stable, true);
  assert.is(verdicts([{ tag: 'stable', digest: 'x' }, ...others], 'nginx-webhook').stable, false);
  assert.is(verdicts([{ tag: 'final', digest: 'x' }, ...others], 'nginx-webhook').final, true);
});

test('delete tokens match whole parts of the tag, optionally followed by digits, never inside a word', () => {
  const tokens = ['test', 'temp', 'debug'];
  for (const tag of [
    'test',
    'test2',
    'ci-test-3',
    'temp_1',
    'debug.4',
    'TEST',
    'feature-TEMP',
    'build.test',
    'debug',
    'pr-12-test',
  ])
    assert.ok(matchingToken(tag, tokens), `${tag} is a test image`);
  for (const tag of [
    'latest',
    'attestation',
    'contest',
    'temperature',
    'hotfix-attempt-2',
    'testing',
    'tempo',
    'debugger',
    'v1.2.3',
    'latest-2',
    'tests-suite',
  ])
    assert.not.ok(matchingToken(tag, tokens), `${tag} is not a test image`);
  assert.is(matchingToken('ci-temp3', tokens), 'temp');
});

test('latest and final are never deleted by any rule in any repository; a shared digest is untagged, not deleted', () => {
  const tags = [
    { tag: 'latest', digest: 'sha256:new' },
    { tag: '2.0.0', digest: 'sha256:new' },
    { tag: '1.0.0', digest: 'sha256:a' },
    { tag: '1.1.0', digest: 'sha256:b' },
    { tag: '1.2.0', digest: 'sha256:c' },
    { tag: 'final', digest: 'sha256:a' },
    { tag: 'test-final', digest: 'sha256:t' },
  ];
  // Even with a rule for "latest" and keeping one version, the protected set wins.
  const harsh = withSettings(
    { ...policy, keepVersions: 1, protectTags: [], repositories: {} },
    settingsFrom(registrySettings, {
      REGISTRY_URL: 'http://127.0.0.1:5000',
      REGISTRY_DELETE_TAG_TOKENS: 'latest,final,test',
    }),
  );
  const decided = Object.fromEntries(
    decideRepository(tags, rulesFor(harsh, 'any-repo'), now).map((d) => [d.tag, d.keep]),
  );
  assert.equal(decided, {
    latest: true,
    '2.0.0': true,
    '1.0.0': false,
    '1.1.0': false,
    '1.2.0': false,
    final: true,
    'test-final': false,
  });
  const manifests = new Map<string, ManifestRecord>(
    ['new', 'a', 'b', 'c', 't'].map((d) => [`sha256:${d}`, image(`sha256:${d}`, 10, [`c-${d}`, 5], [[`l-${d}`, 100]])]),
  );
  const plan = planRegistry({ repositories: new Map([['any-repo', tags]]), manifests }, harsh, 5e9, now);
  const untag = plan.changes.find((c) => c.op.kind === 'untag')!;
  assert.equal(untag.op, { kind: 'untag', repository: 'any-repo', digest: 'sha256:a', tags: ['1.0.0'] });
  assert.not.ok(
    plan.changes.some((c) => c.op.kind === 'delete' && (c.op.digest === 'sha256:a' || c.op.digest === 'sha256:new')),
  );
  assert.equal(plan.keptTags.map((k) => k.tag).sort(), ['2.0.0', 'final', 'latest']);
});

test('settings: the protected set defaults to latest,final; a malformed token or tag is a settings problem', () => {
  const base = { REGISTRY_URL: 'http://127.0.0.1:5000' };
  const defaults = settingsFrom(registrySettings, base);
  assert.equal(defaults.REGISTRY_PROTECT_TAGS, ['latest', 'final']);
  assert.is(defaults.REGISTRY_DELETE_TAG_TOKENS, undefined);
  assert.equal(withSettings(policy, defaults).deleteTagTokens, ['test', 'temp', 'debug']);
  assert.throws(
    () => settingsFrom(registrySettings, { ...base, REGISTRY_DELETE_TAG_TOKENS: 'test,*temp*' }),
    /REGISTRY_DELETE_TAG_TOKENS has "\*temp\*", which is not a token/,
  );
  assert.throws(() => settingsFrom(registrySettings, { ...base, REGISTRY_DELETE_TAG_TOKENS: 'ci-test' }), /"ci-test"/);
  assert.throws(
    () => settingsFrom(registrySettings, { ...base, REGISTRY_PROTECT_TAGS: 'latest,,final' }),
    /REGISTRY_PROTECT_TAGS has ""/,
  );
});

test('tags on one image share its fate: versions count images, not tags', () => {
  const tags = [
    { tag: '1.3.0', digest: 'd3' },
    { tag: 'stable', digest: 'd3' },
    { tag: '1.2.0', digest: 'd2' },
    { tag: '1.1.0', digest: 'd1' },
    { tag: '1.0.0', digest: 'd0' },
  ];
  const tagsWithDates = tags.map((t, i) => ({ ...t, created: `2026-0${5 - i}-01T00:00:00Z` }));
  assert.equal(verdicts(tagsWithDates), { '1.3.0': true, stable: true, '1.2.0': true, '1.1.0': true, '1.0.0': false });
});

test('non-version tags are ordered by creation date; unbelievable dates rank last', () => {
  const tags: TagInfo[] = [
    { tag: 'build-9', digest: 'a', created: '2026-03-01T00:00:00Z' },
    { tag: 'build-10', digest: 'b', created: '1980-01-01T00:00:00Z' },
    { tag: 'build-11', digest: 'c', created: '2026-01-01T00:00:00Z' },
    { tag: 'main', digest: 'd', created: '2026-02-01T00:00:00Z' },
    { tag: 'build-12', digest: 'e' },
  ];
  assert.equal(verdicts(tags), { 'build-9': true, 'build-10': false, 'build-11': true, main: true, 'build-12': false });
  const reason = decideRepository(tags, rulesFor(policy, 'webhook-api'), now).find((d) => d.tag === 'build-10')!.reason;
  assert.match(reason, /no believable creation date/);
  assert.is(needsCreationDates(tags, rulesFor(policy, 'webhook-api')), true);
  assert.is(
    needsCreationDates(tags.slice(0, 3), rulesFor(policy, 'webhook-api')),
    false,
    'no more candidates than kept',
  );
});

test('without any date, undated images fall back to version then natural name order', () => {
  const tags = ['build-8', 'build-10', 'build-9', 'build-11'].map((tag) => ({ tag, digest: tag }));
  assert.equal(verdicts(tags), { 'build-8': false, 'build-10': true, 'build-9': true, 'build-11': true });
});

test('per-repository overrides apply', () => {
  const tags = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0'].map((tag) => ({ tag, digest: tag }));
  assert.is(Object.values(verdicts(tags, 'keep-five')).filter(Boolean).length, 5);
});

test('age floor: a tag on an image younger than REGISTRY_MIN_AGE_HOURS stays, whatever rule would delete it, with that reason', () => {
  const floored = { ...policy, minAgeHours: 24 };
  const ago = (hours: number) => new Date(now - hours * 3_600_000).toISOString();
  const tags: TagInfo[] = [
    { tag: 'test-123', digest: 't1', created: ago(1 / 60) }, // a CI pipeline's, pushed a minute ago
    { tag: 'test-122', digest: 't0', created: ago(30) },
    { tag: '1.0.0', digest: 'v0', created: ago(2) }, // pushed out of the newest 3, but fresh
    { tag: '0.9.0', digest: 'v9', created: ago(48) },
    { tag: '1.1.0', digest: 'v1', created: ago(200) },
    { tag: '1.2.0', digest: 'v2', created: ago(100) },
    { tag: '1.3.0', digest: 'v3', created: ago(50) },
    { tag: 'debug-skewed', digest: 'f', created: ago(-3) }, // a clock ahead: counts as fresh
    { tag: 'debug-1970', digest: 'r', created: '1970-01-01T00:00:01Z' }, // a reproducible build: no age known
    { tag: 'debug-undated', digest: 'u' },
    { tag: 'leftover', digest: 'l', leftover: true, created: ago(0) },
  ];
  const decided = decideRepository(tags, rulesFor(floored, 'webhook-api'), now);
  const keep = Object.fromEntries(decided.map((d) => [d.tag, d.keep]));
  assert.equal(keep, {
    'test-123': true,
    'test-122': false,
    '1.0.0': true,
    '0.9.0': false,
    '1.1.0': true,
    '1.2.0': true,
    '1.3.0': true,
    'debug-skewed': true,
    'debug-1970': false,
    'debug-undated': false,
    leftover: false,
  });
  const reason = (tag: string) => decided.find((d) => d.tag === tag)!.reason;
  assert.match(
    reason('test-123'),
    /^too fresh to delete: its image was created 1 min ago, under REGISTRY_MIN_AGE_HOURS \(24 h\); a pipeline may still use it \(rule 6\); otherwise: test image: the tag has the token "test"/,
  );
  assert.match(reason('1.0.0'), /created 2\.0 h ago.*otherwise: older than the 3 newest versions/);
  assert.match(reason('debug-skewed'), /created in the future \(a skewed clock\)/);
  assert.is(
    decideRepository(tags, rulesFor(policy, 'webhook-api'), now).find((d) => d.tag === 'test-123')!.keep,
    false,
    'no floor: it goes',
  );
  // Version tags alone need no dates to rank, but the floor needs them once something would go.
  const versions = tags.filter((t) => /^\d/.test(t.tag));
  assert.is(needsCreationDates(versions, rulesFor(policy, 'webhook-api'), now), false);
  assert.is(needsCreationDates(versions, rulesFor(floored, 'webhook-api'), now), true);
  assert.is(needsCreationDates(versions.slice(0, 3), rulesFor(floored, 'webhook-api'), now), false, 'nothing would go');
  // The setting: 24 h by default, 0 turns it off.
  const base = { REGISTRY_URL: 'http://127.0.0.1:5000' };
  assert.is(withSettings(policy, settingsFrom(registrySettings, base)).minAgeHours, 24);
  assert.is(
    withSettings(policy, settingsFrom(registrySettings, { ...base, REGISTRY_MIN_AGE_HOURS: '0' })).minAgeHours,
    0,
  );
});

test('leftover throwaway tags always go', () => {
  assert.equal(verdicts([{ tag: '1.0.0', digest: 'x', leftover: true }]), { '1.0.0': false });
});

const blob = (digest: string, size: number) => ({ digest, size });
function image(digest: string, size: number, config: [string, number], layers: [string, number][]): ManifestRecord {
  return {
    digest,
    size,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: blob(...config),
    layers: layers.map(([d, s]) => blob(d, s)),
    children: [],
  };
}

test('sizes are the union of unique blobs; freed bytes are credited once', () => {
  const manifests = new Map<string, ManifestRecord>([
    [
      'm1',
      image(
        'm1',
        10,
        ['c1', 5],
        [
          ['base', 1000],
          ['l1', 100],
        ],
      ),
    ],
    [
      'm2',
      image(
        'm2',
        10,
        ['c2', 5],
        [
          ['base', 1000],
          ['l2', 200],
        ],
      ),
    ],
    [
      'm3',
      image(
        'm3',
        10,
        ['c3', 5],
        [
          ['base', 1000],
          ['l2', 200],
        ],
      ),
    ],
  ]);
  assert.is(sumSizes(blobsOf(['m1', 'm2', 'm3'], manifests)), 1000 + 100 + 200 + 3 * 15);
  const kept = blobsOf(['m1'], manifests);
  assert.equal(freedBytesPerRoot(['m2', 'm3'], kept, manifests), [10 + 5 + 200, 10 + 5]);
});

test('the plan untags a doomed tag sharing its digest with a kept tag, and deletes the rest', () => {
  const manifests = new Map<string, ManifestRecord>([
    ['sha256:final', image('sha256:final', 10, ['c1', 5], [['base', 1000]])],
    [
      'sha256:old',
      image(
        'sha256:old',
        10,
        ['c2', 5],
        [
          ['base', 1000],
          ['l2', 300],
        ],
      ),
    ],
    ['sha256:child', image('sha256:child', 10, ['c3', 5], [['l3', 50]])],
    [
      'sha256:index',
      {
        digest: 'sha256:index',
        size: 20,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        layers: [],
        children: ['sha256:child'],
      },
    ],
  ]);
  const state: RegistryState = {
    repositories: new Map([
      [
        'webhook-api',
        [
          { tag: 'final', digest: 'sha256:final' },
          { tag: 'test-42', digest: 'sha256:final' },
          { tag: 'temp-1', digest: 'sha256:old' },
          { tag: '1.0.0', digest: 'sha256:index' },
          { tag: 'debug-child', digest: 'sha256:child' },
        ],
      ],
    ]),
    manifests,
  };
  const plan = planRegistry(state, policy, 5e9, now);
  const ops = plan.changes.map((c) => c.op);
  assert.equal(ops, [
    { kind: 'untag', repository: 'webhook-api', digest: 'sha256:final', tags: ['test-42'] },
    { kind: 'untag', repository: 'webhook-api', digest: 'sha256:child', tags: ['debug-child'] },
    { kind: 'delete', repository: 'webhook-api', digest: 'sha256:old', tags: ['temp-1'] },
  ]);
  assert.match(plan.changes[0].reason, /also kept as webhook-api:final/);
  assert.is(plan.changes[2].bytes, 10 + 5 + 300);
  assert.is(plan.sizeNow - plan.sizeAfter, 315);
  assert.equal(
    plan.keptTags.map((k) => k.tag),
    ['final', '1.0.0'],
  );
});

test('a deleted index takes the children no kept manifest references; the bytes count them once', () => {
  const index = (digest: string, children: string[]): ManifestRecord => ({
    digest,
    size: 20,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    layers: [],
    children,
  });
  const manifests = new Map<string, ManifestRecord>([
    [
      'sha256:amd-old',
      image(
        'sha256:amd-old',
        10,
        ['c-amd-old', 5],
        [
          ['base', 1000],
          ['amd-old', 300],
        ],
      ),
    ],
    ['sha256:arm-old', image('sha256:arm-old', 10, ['c-arm-old', 5], [['arm-old', 400]])],
    ['sha256:shared', image('sha256:shared', 10, ['c-shared', 5], [['shared', 50]])],
    [
      'sha256:amd-new',
      image(
        'sha256:amd-new',
        10,
        ['c-amd-new', 5],
        [
          ['base', 1000],
          ['amd-new', 300],
        ],
      ),
    ],
    ['sha256:old', index('sha256:old', ['sha256:amd-old', 'sha256:arm-old', 'sha256:shared'])],
    ['sha256:new', index('sha256:new', ['sha256:amd-new', 'sha256:shared'])],
  ]);
  const state: RegistryState = {
    repositories: new Map([
      [
        'multi',
        [
          { tag: '1.0.0', digest: 'sha256:old' },
          { tag: '2.0.0', digest: 'sha256:new' },
        ],
      ],
    ]),
    manifests,
  };
  const plan = planRegistry(state, { ...policy, keepVersions: 1 }, 5e9, now);
  assert.is(plan.changes.length, 1);
  const change = plan.changes[0];
  assert.equal(change.op, {
    kind: 'delete',
    repository: 'multi',
    digest: 'sha256:old',
    tags: ['1.0.0'],
    children: ['sha256:amd-old', 'sha256:arm-old'],
  });
  assert.match(change.target, /and its 2 child manifests/);
  // The index, both children (manifest, config, unique layer); not base, not the shared child.
  assert.is(change.bytes, 20 + (10 + 5 + 300) + (10 + 5 + 400));
  assert.is(plan.sizeNow - plan.sizeAfter, change.bytes);
});

test.run();
