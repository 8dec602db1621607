/**
 * From what the registry holds and the policy, the typed plan (pure). Per repository, doomed
 * tags are grouped by digest:
 * - a digest no kept tag needs (directly, or as the child of a kept index) is deleted, which
 *   removes every tag on it;
 * - a digest that a kept tag also needs is NOT deleted (that would delete the kept tag too): its
 *   doomed tags are untagged, by pointing them at a throwaway manifest that is then deleted;
 * - a deleted index (or manifest list) takes its child manifests with it when nothing kept in the
 *   repository references them: distribution's collector keeps every manifest still linked in a
 *   repository, so children left behind would keep their blobs forever.
 */
import { formatBytes } from '../units.ts';
import { appendTo } from '../group.ts';
import { emptyPlan, type Change, type Plan } from '../plan.ts';
import type { CollectOp } from './collection.ts';
import type { RestoreOp } from './restore.ts';
import type { StartRegistryOp } from './recovery.ts';
import { planDanglingTags, type DanglingTag, type UnlinkOp } from './dangling.ts';
import { resolveInUse, type InUseRef } from './in-use.ts';
import { decideRepository, rulesFor, type RegistryPolicy, type TagDecision, type TagInfo } from './policy.ts';
import { blobsOf, collectBlobs, freedBytesPerRoot, sumSizes, type ManifestRecord } from './sizes.ts';
import { storageChart, type RepositoryStorage } from './storage-chart.ts';

export interface RegistryState {
  repositories: Map<string, TagInfo[]>;
  manifests: Map<string, ManifestRecord>;
  /** Tags that list but do not resolve (see dangling.ts). */
  dangling?: DanglingTag[];
  /**
   * The exact bytes of the manifests the policy may delete or untag, as read (read.ts keeps no
   * others). The plan hands them to its deletions for the undo journal, then they are dropped.
   */
  bytes?: Map<string, Buffer>;
}

/**
 * The manifests a deletion removes (the root, then each child), exactly as the plan read them:
 * content-addressed, so these are the bytes of that digest, and the journal needs no request.
 */
export type Snapshot = { digest: string; mediaType: string; raw: Buffer }[];

export type DeletionOp =
  | { kind: 'delete'; repository: string; digest: string; tags: string[]; children?: string[]; snapshot?: Snapshot }
  | { kind: 'untag'; repository: string; digest: string; tags: string[]; snapshot?: Snapshot };

export type RegistryOp = DeletionOp | UnlinkOp | CollectOp | RestoreOp | StartRegistryOp;

export function isDeletion(change: Change<RegistryOp>): change is Change<DeletionOp> {
  return change.op.kind === 'delete' || change.op.kind === 'untag';
}

export interface KeptTag {
  repository: string;
  tag: string;
  digest: string;
}

export interface RegistryPlan extends Plan<RegistryOp> {
  /** Every kept tag with its digest: what the integrity check verifies after apply. */
  keptTags: KeptTag[];
  sizeNow: number;
  sizeAfter: number;
  /** Where apply journals what it deletes and records that collection is pending. */
  bookkeeping?: { registry: string; stateFile: string; journalFile: string; by: string };
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
/**
 * The parts as one flat string. A template literal makes a chain of V8 cons strings, a node per
 * part, holding each part alive: the plan keeps a target per change, 8 MB of nodes at 50,000.
 */
const flat = (...parts: string[]) => parts.join('');

/** Every manifest an index references, its children's children included (not the index itself). */
export function descendants(
  digest: string,
  manifests: ReadonlyMap<string, ManifestRecord>,
  into: string[] = [],
): string[] {
  for (const child of manifests.get(digest)?.children ?? []) {
    if (into.includes(child)) continue;
    into.push(child);
    descendants(child, manifests, into);
  }
  return into;
}

/**
 * While reading, once a repository is known: the manifests the plan may delete or untag there
 * (every digest with a doomed tag, and its child manifests), whose bytes the read keeps for the
 * journal. The same decisions planRegistry makes below, with the same inputs, so it names every
 * manifest a deletion of the plan removes; one it missed is read again by apply (journal.ts).
 */
export function mayRemove(
  repository: string,
  tags: TagInfo[],
  manifests: ReadonlyMap<string, ManifestRecord>,
  policy: RegistryPolicy,
  now: number,
  inUseRefs: InUseRef[] = [],
): string[] {
  const inUse = resolveInUse(
    inUseRefs.filter((r) => r.repository === repository),
    tags,
    manifests,
  );
  const doomed = new Set(
    decideRepository(tags, rulesFor(policy, repository), now, inUse).flatMap((d) => (d.keep ? [] : [d.digest])),
  );
  return [...doomed].flatMap((digest) => [digest, ...descendants(digest, manifests)]);
}

/** The bytes read of `digests`, when every one of them was kept; else none (apply reads them again). */
function snapshotOf(digests: string[], state: RegistryState): { snapshot?: Snapshot } {
  if (!digests.every((digest) => state.bytes?.has(digest) && state.manifests.has(digest))) return {};
  // map, not push: an array grown by push keeps room for 16, and the plan holds one per change.
  return {
    snapshot: digests.map((digest) => ({
      digest,
      mediaType: state.manifests.get(digest)!.mediaType,
      raw: state.bytes!.get(digest)!,
    })),
  };
}

/**
 * The doomed tags of one repository per digest: the tags, and their distinct reasons joined.
 * The kept arrays are built by map, each its own size: one grown by push keeps room for 16, and
 * the plan holds one per change.
 */
function doomedTagsByDigest(decisions: TagDecision[]): Map<string, { tags: string[]; reason: string }> {
  const byDigest = new Map<string, TagDecision[]>();
  for (const d of decisions) if (!d.keep) appendTo(byDigest, d.digest, d);
  return new Map(
    [...byDigest].map(([digest, doomed]) => [
      digest,
      { tags: doomed.map((d) => d.tag), reason: [...new Set(doomed.map((d) => d.reason))].join('; ') },
    ]),
  );
}

export function planRegistry(
  state: RegistryState,
  policy: RegistryPolicy,
  sizeLimit: number,
  now = Date.now(),
  inUseRefs: InUseRef[] = [],
): RegistryPlan {
  const plan: RegistryPlan = { ...emptyPlan<RegistryOp>('registry'), keptTags: [], sizeNow: 0, sizeAfter: 0 };
  const doomed: { repository: string; digest: string; tags: string[]; reason: string; children: string[] }[] = [];
  const keptRoots = new Set<string>();
  const allRoots = new Set<string>();
  const storage: RepositoryStorage[] = [];

  for (const [repository, tags] of [...state.repositories].sort(([a], [b]) => a.localeCompare(b))) {
    const inUse = resolveInUse(
      inUseRefs.filter((r) => r.repository === repository),
      tags,
      state.manifests,
    );
    const decisions = decideRepository(tags, rulesFor(policy, repository), now, inUse);
    const keptHere = new Map<string, number>();
    // An image in use stays even when every tag on it goes (a test tag on a running image).
    for (const [digest, reason] of inUse.digests) {
      if (!tags.some((t) => t.digest === digest)) continue;
      keptRoots.add(digest);
      collectBlobs(digest, state.manifests, keptHere);
      if (!decisions.some((d) => d.digest === digest && d.keep))
        plan.kept.push({ target: `${repository}@${short(digest)}`, reason: `in use: ${reason}` });
    }
    for (const d of decisions) {
      allRoots.add(d.digest);
      if (!d.keep) continue;
      keptRoots.add(d.digest);
      collectBlobs(d.digest, state.manifests, keptHere);
      plan.keptTags.push({ repository, tag: d.tag, digest: d.digest });
      plan.kept.push({ target: `${repository}:${d.tag}`, reason: d.reason });
    }
    const before = sumSizes(blobsOf(new Set(tags.map((t) => t.digest)), state.manifests));
    storage.push({ repository, before, after: sumSizes(keptHere) });
    const byDigest = doomedTagsByDigest(decisions);
    // Children go with the first doomed index that has them, unless kept here or doomed on their own.
    const claimed = new Set(byDigest.keys());
    for (const [digest, group] of byDigest) {
      if (keptHere.has(digest)) {
        const sharedWith = plan.keptTags
          .filter((k) => k.repository === repository && collectBlobs(k.digest, state.manifests, new Map()).has(digest))
          .map((k) => `${repository}:${k.tag}`);
        const keptAs = sharedWith.length ? `is also kept as ${sharedWith.join(', ')}` : 'is in use';
        plan.changes.push({
          action: 'untag',
          target: group.tags.map((tag) => `${repository}:${tag}`).join(', '),
          reason: `${group.reason}. Its image ${short(digest)} ${keptAs}, so only the tag is removed`,
          bytes: 0,
          op: { kind: 'untag', repository, digest, tags: group.tags, ...snapshotOf([digest], state) },
        });
      } else {
        const children = descendants(digest, state.manifests).filter(
          (child) => !keptHere.has(child) && !claimed.has(child),
        );
        for (const child of children) claimed.add(child);
        doomed.push({ repository, digest, ...group, children });
      }
    }
  }

  const keptBlobs = blobsOf(keptRoots, state.manifests);
  const freed = freedBytesPerRoot(
    doomed.map((d) => d.digest),
    keptBlobs,
    state.manifests,
  );
  doomed.forEach((d, i) =>
    plan.changes.push({
      action: 'delete manifest',
      target: flat(
        d.repository,
        '@',
        short(d.digest),
        ' (',
        d.tags.map((tag) => `:${tag}`).join(' '),
        ')',
        d.children.length ? ` and its ${d.children.length} child manifest${d.children.length === 1 ? '' : 's'}` : '',
      ),
      reason:
        d.reason +
        (d.children.length
          ? `; its child manifests ${d.children.map(short).join(', ')} go with it, since no kept image references them`
          : ''),
      bytes: freed[i],
      op: {
        kind: 'delete',
        repository: d.repository,
        digest: d.digest,
        tags: d.tags,
        ...(d.children.length ? { children: d.children } : {}),
        ...snapshotOf([d.digest, ...d.children], state),
      },
    }),
  );

  const dangling = planDanglingTags(state.dangling ?? [], policy);
  plan.changes.push(...dangling.changes);
  plan.refused.push(...dangling.refused);

  plan.sizeNow = sumSizes(blobsOf(allRoots, state.manifests));
  plan.sizeAfter = sumSizes(keptBlobs);
  if (storage.length) plan.charts = [storageChart(storage)];
  const tagCount = [...state.repositories.values()].reduce((n, tags) => n + tags.length, 0);
  plan.figures.push(
    { label: 'repositories', value: String(state.repositories.size) },
    { label: 'tags', value: `${tagCount} (${plan.keptTags.length} kept)` },
    { label: 'registry size now', value: `${formatBytes(plan.sizeNow)} (unique blobs over all repositories)` },
    { label: 'registry size after', value: `${formatBytes(plan.sizeAfter)}, after garbage collection` },
    {
      label: 'limit',
      value: `${formatBytes(sizeLimit)}: ${plan.sizeAfter <= sizeLimit ? 'under' : 'STILL OVER'} the limit after this plan (plan section 7)`,
    },
  );
  return plan;
}
