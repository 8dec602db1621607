/** The collection step and its record, on plain data and a temporary folder (no registry). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addCollectionStep,
  collectionStateFile,
  expectedDowntime,
  markCollected,
  markCollectionPending,
  readCollectionState,
  type CollectionStep,
} from '../lib/registry/collection.ts';
import type { Change } from '../lib/plan.ts';

const dir = mkdtempSync(join(tmpdir(), 'cleanup-collection-'));
const registry = 'http://127.0.0.1:5000';
const step = (file: string, collect = true): CollectionStep => ({
  collect,
  state: readCollectionState(file, registry),
  manifests: 500,
  host: 'ops@registry-host:2222',
  ssh: {},
  commands: {
    stop: ['docker', 'stop', 'registry'],
    collect: ['registry', 'garbage-collect', '/etc/docker/registry/config.yml'],
    start: ['docker', 'start', 'registry'],
  },
  stateFile: file,
});
const deletion = (): Change<unknown> => ({
  action: 'delete manifest',
  target: 'x@1',
  reason: 'old',
  bytes: 1000,
  op: {},
});

test('one record per registry, by host and port', () => {
  assert.is(collectionStateFile('/s', new URL('http://127.0.0.1:5000')), '/s/registry-127.0.0.1-5000.json');
  assert.is(collectionStateFile('/s', new URL('https://registry.example')), '/s/registry-registry.example-443.json');
});

test('deletions plan a collection: host, stop and start, expected downtime; undo lasts until it', () => {
  const file = join(dir, 'a.json');
  const plan = { changes: [deletion()], notes: [] as string[] };
  addCollectionStep(plan, step(file), undefined);
  const item = plan.changes[1];
  assert.is(item.action, 'collect garbage');
  assert.is(item.host, 'ops@registry-host:2222');
  assert.is(item.bytes, 0, "this run's deletions carry their own bytes");
  assert.match(
    item.reason,
    /stops the registry \(`docker stop registry`\), runs `registry garbage-collect \/etc\/docker\/registry\/config.yml`, starts it again \(`docker start registry`\); expected downtime about 4\.0 s \(estimated from 500 manifests/,
  );
  assert.match(plan.notes.join('\n'), /until the garbage collection at the end of this run/);
});

test('nothing deleted and nothing pending: no collection; --no-gc: no collection, undo until a later one', () => {
  const file = join(dir, 'b.json');
  const empty = { changes: [] as Change<unknown>[], notes: [] as string[] };
  addCollectionStep(empty, step(file), undefined);
  assert.equal(empty, { changes: [], notes: [] });
  const noGc = { changes: [deletion()], notes: [] as string[] };
  addCollectionStep(noGc, step(file, false), undefined);
  assert.is(noGc.changes.length, 1);
  assert.match(noGc.notes.join('\n'), /until the next garbage collection/);
});

test('a pending record (a deploy deleted) plans a collection with its bytes; collecting clears it and remembers the downtime', () => {
  const file = join(dir, 'c.json');
  markCollectionPending(file, registry, 3000, 'deploy', new Date('2026-12-01T10:00:00Z'));
  markCollectionPending(file, registry, 2000, 'clean:registry', new Date('2026-12-01T11:00:00Z'));
  const state = readCollectionState(file, registry);
  assert.equal(state.pending, { since: '2026-12-01T10:00:00.000Z', bytes: 5000, by: ['deploy', 'clean:registry'] });
  const plan = { changes: [] as Change<unknown>[], notes: [] as string[] };
  addCollectionStep(plan, step(file), state.pending);
  assert.is(plan.changes.length, 1);
  assert.is(plan.changes[0].bytes, 5000);
  assert.match(
    plan.changes[0].reason,
    /deletions by deploy and clean:registry since 2026-12-01 10:00 UTC are not collected yet/,
  );
  markCollected(file, registry, 4200, new Date('2026-12-01T12:00:00Z'));
  const after = readCollectionState(file, registry);
  assert.is(after.pending, undefined);
  assert.equal(expectedDowntime(after, 500), {
    ms: 4200,
    basis: 'as measured at the last collection (2026-12-01 12:00 UTC)',
  });
  const next = { changes: [] as Change<unknown>[], notes: [] as string[] };
  addCollectionStep(next, step(file), after.pending);
  assert.is(next.changes.length, 0, 'a second run plans nothing');
});

test('without GC commands: no collection item, a note says the space waits', () => {
  const plan = { changes: [deletion()], notes: [] as string[] };
  addCollectionStep(plan, undefined, undefined);
  assert.is(plan.changes.length, 1);
  assert.match(plan.notes.join('\n'), /REGISTRY_GC_COMMAND is not set/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
