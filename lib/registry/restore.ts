/**
 * `--restore REPORT`: puts back what a registry run deleted, from its undo journal. Planned like
 * every run: per journal entry, the manifests missing now (children before their index) and the
 * tags to point at it again; an entry whose blobs garbage collection removed since cannot come
 * back and is refused, with the blob that is gone; a tag pushed again since is not overwritten.
 */
import { formatBytes } from '../units.ts';
import { mapLimitAll } from '../concurrency.ts';
import { emptyPlan } from '../plan.ts';
import { blobExists, headManifest, putManifest } from './api.ts';
import type { RegistryClient } from './client.ts';
import type { JournalEntry, JournalManifest } from './journal.ts';
import { isIndex, type ManifestBody } from './media-types.ts';
import type { RegistryPlan, RegistryState } from './plan.ts';
import type { ManifestRecord } from './sizes.ts';

export interface RestoreOp {
  kind: 'restore';
  repository: string;
  digest: string;
  /** Manifests to push back by digest, in order (children first). */
  manifests: JournalManifest[];
  /** Tags to point at the restored manifest again. */
  tags: string[];
  root: JournalManifest;
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

function bodyOf(m: JournalManifest): ManifestBody {
  return JSON.parse(Buffer.from(m.manifest, 'base64').toString('utf8')) as ManifestBody;
}

export function recordOf(m: JournalManifest): ManifestRecord {
  const body = bodyOf(m);
  return {
    digest: m.digest,
    size: Buffer.from(m.manifest, 'base64').length,
    mediaType: m.mediaType,
    ...(body.config ? { config: { digest: body.config.digest, size: body.config.size } } : {}),
    layers: (body.layers ?? []).map((l) => ({ digest: l.digest, size: l.size })),
    children: isIndex(m.mediaType) ? (body.manifests ?? []).map((c) => c.digest) : [],
  };
}

/** Reads what is there now and plans the restore of every journal entry. */
export async function planRestore(
  client: RegistryClient,
  entries: JournalEntry[],
  source: string,
  concurrency: number,
): Promise<{ plan: RegistryPlan; state: RegistryState }> {
  const plan: RegistryPlan = { ...emptyPlan('registry'), keptTags: [], sizeNow: 0, sizeAfter: 0 };
  const state: RegistryState = { repositories: new Map(), manifests: new Map() };
  const decided = await mapLimitAll(entries, concurrency, async (entry) => {
    const all = [...entry.children, entry];
    for (const m of all) state.manifests.set(m.digest, recordOf(m));
    const missing: JournalManifest[] = [];
    for (const m of all) if ((await headManifest(client, entry.repository, m.digest)) !== m.digest) missing.push(m);
    const blobs = missing.flatMap((m) => {
      const r = recordOf(m);
      return [...(r.config ? [r.config] : []), ...r.layers];
    });
    const gone = [];
    for (const blob of blobs) if (!(await blobExists(client, entry.repository, blob.digest))) gone.push(blob);
    const tagsNow = await Promise.all(
      entry.tags.map(async (tag) => ({ tag, digest: await headManifest(client, entry.repository, tag) })),
    );
    return { entry, missing, gone, tagsNow };
  });
  for (const { entry, missing, gone, tagsNow } of decided) {
    const name = `${entry.repository}@${short(entry.digest)} (${entry.tags.map((t) => `:${t}`).join(' ')})`;
    if (gone.length) {
      plan.refused.push({
        target: name,
        reason: `cannot come back: ${gone.length} of its blobs (${gone
          .slice(0, 3)
          .map((b) => short(b.digest))
          .join(
            ', ',
          )}${gone.length > 3 ? ', …' : ''}) are gone, since garbage collection ran after the deletion (${entry.at.slice(0, 16).replace('T', ' ')} UTC)`,
        remedy: 'push the image again from a machine that still has it',
      });
      continue;
    }
    const moved = tagsNow.filter((t) => t.digest && t.digest !== entry.digest);
    for (const t of moved)
      plan.refused.push({
        target: `${entry.repository}:${t.tag}`,
        reason: `pushed again since the deletion (now ${short(t.digest!)}), so it is not overwritten`,
        remedy: `to restore the old image, delete or move ${entry.repository}:${t.tag} first and run --restore again`,
      });
    const tags = tagsNow.filter((t) => !t.digest).map((t) => t.tag);
    for (const t of tagsNow.filter((t) => t.digest === entry.digest))
      plan.kept.push({ target: `${entry.repository}:${t.tag}`, reason: 'already back' });
    if (!missing.length && !tags.length) continue;
    for (const tag of [...tags, ...tagsNow.filter((t) => t.digest === entry.digest).map((t) => t.tag)])
      plan.keptTags.push({ repository: entry.repository, tag, digest: entry.digest });
    const bytes = missing.reduce((sum, m) => sum + Buffer.from(m.manifest, 'base64').length, 0);
    plan.changes.push({
      action: 'restore',
      target:
        `${entry.repository}@${short(entry.digest)} (${tags.map((t) => `:${t}`).join(' ') || 'no tag'})` +
        (missing.length > 1 ? ` with ${missing.length - 1} child manifest${missing.length === 2 ? '' : 's'}` : ''),
      reason:
        `${entry.kind === 'delete' ? 'deleted' : 'untagged'} at ${entry.at.slice(0, 16).replace('T', ' ')} UTC ` +
        `by the run of ${source}; its blobs are still stored, so ` +
        (missing.length ? `the manifest${missing.length === 1 ? '' : 's'} (${formatBytes(bytes)}) and ` : '') +
        `the tags are pushed back`,
      bytes: 0,
      op: {
        kind: 'restore',
        repository: entry.repository,
        digest: entry.digest,
        manifests: missing,
        tags,
        root: entry,
      },
    });
  }
  plan.figures.push({ label: 'journal', value: `${entries.length} entries in ${source}` });
  return { plan, state };
}

/** Pushes one entry back: manifests by digest (children first), then its tags. */
export async function restoreOne(client: RegistryClient, op: RestoreOp): Promise<void> {
  for (const m of op.manifests)
    await putManifest(client, op.repository, m.digest, m.mediaType, Buffer.from(m.manifest, 'base64'));
  for (const tag of op.tags)
    await putManifest(client, op.repository, tag, op.root.mediaType, Buffer.from(op.root.manifest, 'base64'));
}
