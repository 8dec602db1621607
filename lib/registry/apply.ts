/**
 * Carries out a registry plan. Before anything is deleted, a probe (push a throwaway manifest,
 * delete it) proves deletes are allowed, so a registry with deletion disabled stops the run with
 * nothing deleted. Before each repository's changes, its tags are listed again: a tag pushed
 * since the plan onto a digest about to be deleted stops that change instead of losing the tag.
 */
import { randomUUID } from 'node:crypto';
import { mapLimit, mapLimitAll } from '../concurrency.ts';
import { messageOf } from '../errors.ts';
import type { Change } from '../plan.ts';
import type { Failure } from '../task.ts';
import { deleteManifest, headManifest, listTags, pushBlob, putManifest, sha256 } from './api.ts';
import type { RegistryClient } from './client.ts';
import { OCI_MANIFEST, UNTAG_ANNOTATION } from './media-types.ts';
import type { RegistryOp, RegistryPlan } from './plan.ts';

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

async function untag(client: RegistryClient, op: Extract<RegistryOp, { kind: 'untag' }>): Promise<void> {
  const throwaway = await pushThrowaway(client, op.repository);
  for (const tag of op.tags) await putManifest(client, op.repository, tag, OCI_MANIFEST, throwaway.data);
  await deleteManifest(client, op.repository, throwaway.digest);
}

/**
 * Per repository, the digests that tags pushed since the plan now point at: listing once per
 * repository, and a HEAD only for tags the plan did not know.
 */
async function newcomers(client: RegistryClient, plan: RegistryPlan, concurrency: number): Promise<Map<string, Map<string, string[]>>> {
  const known = new Map<string, Set<string>>();
  const remember = (repository: string, tag: string) => known.set(repository, (known.get(repository) ?? new Set()).add(tag));
  for (const k of plan.keptTags) remember(k.repository, k.tag);
  for (const change of plan.changes) for (const tag of change.op.tags) remember(change.op.repository, tag);
  const repositories = [...new Set(plan.changes.filter((c) => c.op.kind === 'delete').map((c) => c.op.repository))];
  const found = new Map<string, Map<string, string[]>>();
  await mapLimitAll(repositories, concurrency, async (repository) => {
    const fresh = (await listTags(client, repository)).filter((tag) => !known.get(repository)?.has(tag));
    const byDigest = new Map<string, string[]>();
    for (const tag of fresh) {
      const digest = await headManifest(client, repository, tag);
      if (digest) byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag]);
    }
    found.set(repository, byDigest);
  });
  return found;
}

export interface ApplyResult {
  done: Change<RegistryOp>[];
  failed: Failure[];
}

export async function applyRegistryPlan(client: RegistryClient, plan: RegistryPlan, concurrency: number, signal?: AbortSignal, progress?: (m: string) => void): Promise<ApplyResult> {
  const result: ApplyResult = { done: [], failed: [] };
  if (!plan.changes.length) return result;
  await probeDeletes(client, plan.changes[0].op.repository);
  const pushedSincePlan = await newcomers(client, plan, concurrency);

  let count = 0;
  const outcomes = await mapLimit(plan.changes, concurrency, async (change) => {
    if (signal?.aborted) return 'skipped' as const;
    const op = change.op;
    if (op.kind === 'delete') {
      const arrived = [op.digest, ...(op.children ?? [])].flatMap((digest) => pushedSincePlan.get(op.repository)?.get(digest) ?? []);
      if (arrived.length) throw new Error(`changed since the plan: ${arrived.map((t) => `${op.repository}:${t}`).join(', ')} now point${arrived.length === 1 ? 's' : ''} at this image, so it was not deleted; run again to plan afresh`);
      // Children first: interrupted halfway, the index is still tagged and a rerun finds it (and
      // its children, which it could no longer find once the index is gone).
      for (const child of op.children ?? []) await deleteManifest(client, op.repository, child);
      await deleteManifest(client, op.repository, op.digest);
    } else await untag(client, op);
    progress?.(`${++count} of ${plan.changes.length} changes applied`);
    return 'done' as const;
  });
  outcomes.forEach((outcome, i) => {
    const change = plan.changes[i];
    if (outcome.status === 'fulfilled') {
      if (outcome.value === 'done') result.done.push(change);
    } else result.failed.push({ action: change.action, target: change.target, error: messageOf(outcome.reason) });
  });
  return result;
}
