/**
 * Carries out a registry plan. Before anything is deleted, a probe (push a throwaway manifest,
 * delete it) proves deletes are allowed, so a registry with deletion disabled stops the run with
 * nothing deleted. Before each repository's changes, its tags are listed again: a tag pushed
 * since the plan onto a digest about to be deleted stops that change instead of losing the tag.
 */
import { randomUUID } from 'node:crypto';
import { mapLimit, mapLimitAll } from '../concurrency.ts';
import { messageOf } from '../errors.ts';
import { totalBytes, type Change } from '../plan.ts';
import { runnerFor } from '../runner.ts';
import type { Failure } from '../task.ts';
import { deleteManifest, headManifest, listTags, pushBlob, putManifest, sha256, waitUntilServing } from './api.ts';
import type { RegistryClient } from './client.ts';
import { markCollected, markCollectionPending, type CollectOp } from './collection.ts';
import { garbageCollect, type GcHooks, type GcResult } from './gc.ts';
import { applyStartRegistry } from './recovery.ts';
import { restoreOne, type RestoreOp } from './restore.ts';
import { measureStorage } from './storage.ts';
import { appendJournal, journalEntry, withoutGone, type JournalEntry } from './journal.ts';
import { OCI_MANIFEST, UNTAG_ANNOTATION } from './media-types.ts';
import type { UnlinkOp } from './dangling.ts';
import { isDeletion, type DeletionOp, type RegistryOp, type RegistryPlan } from './plan.ts';
import { appendTo } from '../group.ts';

/**
 * A tiny manifest of our own, unique per call, that a doomed tag is moved onto so the tag can be
 * deleted without touching the image it used to share with a kept tag. Its annotation lets a
 * rerun recognise a tag left on one by an interrupted run.
 */
async function pushThrowaway(client: RegistryClient, repository: string): Promise<{ digest: string; data: Buffer }> {
  const config = Buffer.from(JSON.stringify({ purpose: 'untag', repository, nonce: randomUUID() }));
  const configDigest = await pushBlob(client, repository, config);
  const data = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [],
      annotations: { [UNTAG_ANNOTATION]: 'true' },
    }),
  );
  // Pushed by digest: the manifest needs no tag of its own.
  const digest = await putManifest(client, repository, sha256(data), OCI_MANIFEST, data);
  return { digest, data };
}

/** Proves the registry accepts deletes before the first real one. */
export async function probeDeletes(client: RegistryClient, repository: string): Promise<void> {
  const throwaway = await pushThrowaway(client, repository);
  await deleteManifest(client, repository, throwaway.digest);
}

async function untag(client: RegistryClient, op: { repository: string; tags: string[] }): Promise<void> {
  const throwaway = await pushThrowaway(client, op.repository);
  for (const tag of op.tags) await putManifest(client, op.repository, tag, OCI_MANIFEST, throwaway.data);
  await deleteManifest(client, op.repository, throwaway.digest);
}

/**
 * Removes tags the plan found dangling (nothing to journal: their manifest is gone). The plan's
 * statement is checked first: a tag that resolves again stops the change; one no longer listed is done.
 */
async function unlink(client: RegistryClient, op: UnlinkOp): Promise<void> {
  const listed = new Set(await listTags(client, op.repository));
  const resolving = [];
  for (const tag of op.tags)
    if (listed.has(tag) && (await headManifest(client, op.repository, tag))) resolving.push(tag);
  if (resolving.length)
    throw new Error(
      `changed since the plan: ${resolving.map((t) => `${op.repository}:${t}`).join(', ')} ` +
        `resolve${resolving.length === 1 ? 's' : ''} again, so nothing was removed; run again to plan afresh`,
    );
  const still = op.tags.filter((tag) => listed.has(tag));
  if (still.length) await untag(client, { repository: op.repository, tags: still });
}

/**
 * Per repository, the digests that tags pushed since the plan now point at: listing once per
 * repository, and a HEAD only for tags the plan did not know.
 */
async function newcomers(
  client: RegistryClient,
  plan: RegistryPlan,
  deletions: Change<DeletionOp | UnlinkOp>[],
  concurrency: number,
): Promise<Map<string, Map<string, string[]>>> {
  const known = new Map<string, Set<string>>();
  const remember = (repository: string, tag: string) =>
    known.set(repository, (known.get(repository) ?? new Set()).add(tag));
  for (const k of plan.keptTags) remember(k.repository, k.tag);
  for (const change of deletions) for (const tag of change.op.tags) remember(change.op.repository, tag);
  const repositories = [...new Set(deletions.filter((c) => c.op.kind === 'delete').map((c) => c.op.repository))];
  const found = new Map<string, Map<string, string[]>>();
  await mapLimitAll(repositories, concurrency, async (repository) => {
    const fresh = (await listTags(client, repository)).filter((tag) => !known.get(repository)?.has(tag));
    const byDigest = new Map<string, string[]>();
    for (const tag of fresh) {
      const digest = await headManifest(client, repository, tag);
      if (digest) appendTo(byDigest, digest, tag);
    }
    found.set(repository, byDigest);
  });
  return found;
}

export interface CollectionResult extends GcResult {
  /** What the plan said deleting would free (this run's deletions and earlier pending ones). */
  plannedBytes: number;
  /** Why the storage could not be measured: a warning, never a reason to skip the collection. */
  unmeasured?: string;
}

export interface ApplyResult {
  done: Change<RegistryOp>[];
  failed: Failure[];
  /** What was deleted, as it was: the run's undo journal. */
  journal: JournalEntry[];
  collection?: CollectionResult;
}

/** Journals a deletion (from the bytes the plan read; see journal.ts), then carries it out. */
async function deleteOne(
  client: RegistryClient,
  op: DeletionOp | UnlinkOp,
  pushedSincePlan: Map<string, Map<string, string[]>>,
  journal: Journal,
): Promise<void> {
  if (op.kind === 'unlink') return unlink(client, op);
  if (op.kind === 'delete') {
    const arrived = [op.digest, ...(op.children ?? [])].flatMap(
      (digest) => pushedSincePlan.get(op.repository)?.get(digest) ?? [],
    );
    if (arrived.length)
      throw new Error(
        `changed since the plan: ${arrived.map((t) => `${op.repository}:${t}`).join(', ')} now ` +
          `point${arrived.length === 1 ? 's' : ''} at this image, so it was not deleted; run again to plan afresh`,
      );
  }
  const entry = await journalEntry(client, op);
  if (entry) journal.record(entry);
  if (op.kind === 'delete') {
    // Children first: interrupted halfway, the index is still tagged and a rerun finds it (and
    // its children, which it could no longer find once the index is gone).
    const gone: string[] = [];
    for (const digest of [...(op.children ?? []), op.digest])
      if (!(await deleteManifest(client, op.repository, digest))) gone.push(digest);
    if (entry && gone.length) journal.retract(entry, gone);
  } else await untag(client, op);
}

/** The run's undo journal: each entry written before its delete, taken back in part if the delete found it gone. */
interface Journal {
  record(entry: JournalEntry): void;
  retract(entry: JournalEntry, gone: string[]): void;
}

async function collect(
  client: RegistryClient,
  op: CollectOp,
  plannedBytes: number,
  registry: string,
  hooks?: GcHooks,
): Promise<CollectionResult> {
  const runner = runnerFor(op.host, op.ssh, 'REGISTRY_HOST');
  try {
    // A figure that cannot be read (the storage in a volume the ssh user may not read) is a warning:
    // the collection, which is what gives the space back, runs all the same.
    let unmeasured: string | undefined;
    const measure = async (): Promise<number | undefined> => {
      if (unmeasured) return undefined;
      try {
        return await measureStorage(runner, op.commands);
      } catch (error) {
        unmeasured = messageOf(error);
        return undefined;
      }
    };

    const before = await measure();
    const result = await garbageCollect(
      runner,
      { ...op.commands, storagePath: undefined, storageVolume: undefined },
      () => waitUntilServing(client),
      hooks,
    );
    const after = await measure();
    markCollected(op.stateFile, registry, result.downtimeMs);
    return { ...result, before: unmeasured ? undefined : before, after, plannedBytes, unmeasured };
  } finally {
    await runner.close();
  }
}

/**
 * Carries out the plan's items: restores (a --restore plan), deletions and untags (each journaled
 * first), then, when the plan has one, the collection. Deletions mark the collection pending before it runs, so an
 * interrupted or failed collection is planned again by the next run.
 */
export async function applyRegistryPlan(
  client: RegistryClient,
  plan: RegistryPlan,
  concurrency: number,
  signal?: AbortSignal,
  progress?: (m: string) => void,
  gcHooks?: GcHooks,
): Promise<ApplyResult> {
  const result: ApplyResult = { done: [], failed: [], journal: [] };
  if (!plan.changes.length) return result;
  // A registry a killed run left stopped is started first: nothing else can work until it serves.
  for (const change of plan.changes) {
    if (change.op.kind !== 'start-registry') continue;
    try {
      progress?.(await applyStartRegistry(change.op, client));
      result.done.push(change);
    } catch (error) {
      result.failed.push({ action: change.action, target: change.target, host: change.host, error: messageOf(error) });
      return result;
    }
  }
  // Removals of dangling tags go with the deletions (see dangling.ts).
  const deletions = plan.changes.filter(
    (c): c is Change<DeletionOp | UnlinkOp> => isDeletion(c) || c.op.kind === 'unlink',
  );
  const restores = plan.changes.filter((c): c is Change<RestoreOp> => c.op.kind === 'restore');
  const restored = await mapLimit(restores, concurrency, async (change) => {
    if (signal?.aborted) return 'skipped' as const;
    await restoreOne(client, change.op);
    return 'done' as const;
  });
  restored.forEach((outcome, i) => {
    if (outcome.status === 'rejected')
      result.failed.push({ action: restores[i].action, target: restores[i].target, error: messageOf(outcome.reason) });
    else if (outcome.value === 'done') result.done.push(restores[i]);
  });
  const journal: Journal = {
    record(entry) {
      if (plan.bookkeeping) appendJournal(plan.bookkeeping.journalFile, entry);
      result.journal.push(entry);
    },
    retract(entry, gone) {
      if (plan.bookkeeping)
        appendJournal(plan.bookkeeping.journalFile, {
          kind: 'already-gone',
          repository: entry.repository,
          digests: gone,
          at: new Date().toISOString(),
        });
      const left = withoutGone(entry, gone);
      result.journal.splice(result.journal.indexOf(entry), 1, ...(left ? [left] : []));
    },
  };
  if (deletions.length) {
    await probeDeletes(client, deletions[0].op.repository);
    const pushedSincePlan = await newcomers(client, plan, deletions, concurrency);
    let count = 0;
    const applyOne = async (change: Change<DeletionOp | UnlinkOp>): Promise<'done' | 'skipped'> => {
      if (signal?.aborted) return 'skipped';
      await deleteOne(client, change.op, pushedSincePlan, journal);
      progress?.(`${++count} of ${deletions.length} deletions applied`);
      return 'done';
    };
    // Changes that write tags run first, one at a time per repository, never beside a delete in
    // it: distribution's DELETE removes the revision and only then reads every tag link of the
    // repository, and a link being rewritten at that moment reads as empty, which fails the
    // DELETE halfway and leaves its tags dangling (see dangling.ts). Deletes alone do not race.
    const outcomes = new Array<PromiseSettledResult<'done' | 'skipped'>>(deletions.length);
    const writers = new Map<string, number[]>();
    deletions.forEach((change, i) => {
      if (change.op.kind !== 'delete') appendTo(writers, change.op.repository, i);
    });
    await mapLimit([...writers.values()], concurrency, async (indexes) => {
      for (const i of indexes) [outcomes[i]] = await mapLimit([deletions[i]], 1, applyOne);
    });
    // The first delete goes alone, the rest together once it is answered: the probe deleted an
    // untagged manifest, and a real delete also removes tag links (the step distribution can fail
    // halfway, see dangling.ts), so the registry has answered one of those before a burst of them.
    // Its journal entry is written first like every other, so a kill at any moment finds it.
    const deletes = deletions.flatMap((change, i) => (change.op.kind === 'delete' ? [i] : []));
    const [first, ...rest] = deletes;
    const deleted =
      first === undefined
        ? []
        : [
            ...(await mapLimit([first], 1, (i) => applyOne(deletions[i]))),
            ...(await mapLimit(rest, concurrency, (i) => applyOne(deletions[i]))),
          ];
    deletes.forEach((i, n) => (outcomes[i] = deleted[n]));
    outcomes.forEach((outcome, i) => {
      const change = deletions[i];
      if (outcome.status === 'fulfilled') {
        if (outcome.value === 'done') result.done.push(change);
      } else result.failed.push({ action: change.action, target: change.target, error: messageOf(outcome.reason) });
    });
    // Even a failed delete may have removed something; the probe itself left a throwaway behind.
    if (plan.bookkeeping)
      markCollectionPending(
        plan.bookkeeping.stateFile,
        plan.bookkeeping.registry,
        totalBytes(result.done),
        plan.bookkeeping.by,
      );
  }
  for (const change of plan.changes) {
    if (change.op.kind !== 'collect' || signal?.aborted) continue;
    progress?.('garbage collection: registry stopped, collecting, starting again');
    try {
      result.collection = await collect(
        client,
        change.op,
        totalBytes(plan.changes),
        plan.bookkeeping?.registry ?? client.base,
        gcHooks,
      );
      result.done.push(change);
    } catch (error) {
      result.failed.push({ action: change.action, target: change.target, host: change.host, error: messageOf(error) });
    }
  }
  return result;
}
