/**
 * Reads what the registry holds: every repository (catalog pages), every tag, each tag's
 * manifest (indexes walked into their children), and image creation dates where the policy
 * needs them. Repositories are read a few at a time, each one to the end (tags, manifests,
 * children, dates) before it is handed on, while all requests share one budget of
 * `concurrency` over the client's kept-alive connections: memory holds the repositories in
 * flight, not the registry. No digest is fetched twice in a run: manifests and configs are
 * content-addressed, so one read serves all. Only a small record of each manifest stays, and the
 * exact bytes of the manifests `keepBytesOf` names (those the plan may delete, for its journal).
 */
import pLimit from 'p-limit';
import { mapLimitAll } from '../concurrency.ts';
import { getJsonBlob, getManifest, listRepositories, listTags, ping, type FetchedManifest } from './api.ts';
import type { RegistryClient } from './client.ts';
import { isIndex, UNTAG_ANNOTATION } from './media-types.ts';
import type { RegistryState } from './plan.ts';
import type { TagInfo } from './policy.ts';
import type { ManifestRecord } from './sizes.ts';

export interface ReadOptions {
  pageSize: number;
  concurrency: number;
  /** Whether ranking a repository's tags needs creation dates (asked after its tags are known). */
  needsDates: (repository: string, tags: TagInfo[]) => boolean;
  /**
   * Once a repository is read: the digests whose exact bytes to keep (the plan carries them to
   * apply's undo journal, which then needs no request). None when absent.
   */
  keepBytesOf?: (
    repository: string,
    tags: TagInfo[],
    manifests: ReadonlyMap<string, ManifestRecord>,
  ) => Iterable<string>;
  progress?: (message: string) => void;
  signal?: AbortSignal;
  /** Read only these repositories instead of the whole catalog. */
  repositories?: string[];
}

/**
 * Repositories read at once. Each keeps every request slot busy on its own while its tags
 * resolve; a few at once keep them busy across its tail, and bound what is held in flight.
 */
const REPOSITORIES_IN_FLIGHT = 4;

/** Media types repeat across thousands of manifests: one string each, not one per manifest. */
const mediaTypes = new Map<string, string>();
/** The one copy of value the pool holds, added on first sight. */
const interned = (pool: Map<string, string>, value: string) => pool.get(value) ?? (pool.set(value, value), value);
/** The children of every manifest that is not an index: one array, not one per manifest. */
const NO_CHILDREN: readonly string[] = Object.freeze([]);

/**
 * The small record kept of a manifest. `layers` gives each layer digest as one string per read:
 * images share layers, and each manifest parsed would otherwise hold its own copy (4 MB at
 * 50,000 tags over one layer per repository).
 */
function record(manifest: FetchedManifest, layers: Map<string, string>): ManifestRecord {
  const { digest, size, mediaType, body } = manifest;
  return {
    digest,
    size,
    mediaType: interned(mediaTypes, mediaType),
    ...(body.config ? { config: { digest: body.config.digest, size: body.config.size } } : {}),
    layers: (body.layers ?? []).map((l) => ({ digest: interned(layers, l.digest), size: l.size })),
    children: isIndex(mediaType) ? (body.manifests ?? []).map((m) => m.digest) : NO_CHILDREN,
    ...(body.annotations?.[UNTAG_ANNOTATION] ? { leftover: true } : {}),
  };
}

export async function readRegistry(client: RegistryClient, options: ReadOptions): Promise<RegistryState> {
  const say = options.progress ?? (() => undefined);
  await ping(client);
  say('listing repositories');
  const names = options.repositories ?? (await listRepositories(client, options.pageSize));
  say(`reading the tags of ${names.length} repositories`);

  const state: RegistryState = { repositories: new Map(), manifests: new Map(), dangling: [], bytes: new Map() };
  const { manifests } = state;
  const request = pLimit(options.concurrency);
  /** Creation date per config digest, fetched once for the whole run. */
  const created = new Map<string, Promise<string | undefined>>();
  /** Each layer digest once (see record). */
  const layers = new Map<string, string>();
  let tagsDone = 0;

  const readOne = async (name: string): Promise<void> => {
    if (options.signal?.aborted) throw options.signal.reason;
    const listed = await request(() => listTags(client, name));
    /**
     * This repository's manifest bytes until it is decided which to keep: the bytes only, since
     * whatever lives until the repository is done outlives the young generation, and parsed
     * bodies held that long were most of the old space's garbage at 50,000 tags.
     */
    const raw = new Map<string, Buffer>();
    // Each repository queues at most `concurrency` requests for the shared budget, not one per
    // tag: a request queued for seconds outlives the young generation, and one per tag was
    // hundreds of MB of old-space garbage over 50,000 tags, which set the peak RSS.
    const resolved = await mapLimitAll(listed, options.concurrency, (tag) =>
      request(async () => {
        if (options.signal?.aborted) throw options.signal.reason;
        const manifest = await getManifest(client, name, tag);
        if (++tagsDone % 250 === 0)
          say(`resolved ${tagsDone} tags (${state.repositories.size} of ${names.length} repositories done)`);
        if (!manifest) return { tag, digest: undefined }; // deleted since the listing, or left dangling by a cut delete
        if (!manifests.has(manifest.digest)) manifests.set(manifest.digest, record(manifest, layers));
        raw.set(manifest.digest, manifest.raw);
        return { tag, digest: manifest.digest };
      }),
    );
    const tags: TagInfo[] = [];
    for (const { tag, digest } of resolved) {
      if (digest) tags.push({ tag, digest });
      else state.dangling!.push({ repository: name, tag });
    }

    // Children of indexes, fetched by digest once, in the repository that references them.
    let pending = tags.flatMap((t) => manifests.get(t.digest)!.children);
    while (pending.length) {
      const unique = [...new Set(pending.filter((child) => !manifests.has(child)))];
      const fetched = await Promise.all(unique.map((child) => request(() => getManifest(client, name, child))));
      pending = [];
      for (const manifest of fetched) {
        if (!manifest) continue;
        const entry = record(manifest, layers);
        manifests.set(manifest.digest, entry);
        raw.set(manifest.digest, manifest.raw);
        pending.push(...entry.children);
      }
    }
    for (const t of tags) if (manifests.get(t.digest)?.leftover) t.leftover = true;

    // Creation dates, only where the ranking needs them; one GET per config digest in the run.
    if (options.needsDates(name, tags)) {
      const imageOf = (digest: string): ManifestRecord | undefined => {
        const entry = manifests.get(digest);
        return entry && entry.children.length ? manifests.get(entry.children[0]) : entry;
      };
      await mapLimitAll(tags, options.concurrency, async (t) => {
        const config = imageOf(t.digest)?.config?.digest;
        if (!config) return;
        if (!created.has(config))
          created.set(
            config,
            request(async () => (await getJsonBlob<{ created?: string }>(client, name, config))?.created),
          );
        const date = await created.get(config);
        if (date) t.created = date;
      });
    }

    // Bytes kept only for the manifests the plan may delete; the rest go with this repository's read.
    for (const digest of options.keepBytesOf?.(name, tags, manifests) ?? []) {
      const found = raw.get(digest);
      // A copy, so the kept bytes share small pooled slabs instead of one allocation each.
      if (found) state.bytes!.set(digest, Buffer.from(found));
    }
    state.repositories.set(name, tags);
  };

  await mapLimitAll(names, REPOSITORIES_IN_FLIGHT, readOne);
  // Map order is the order repositories finished: give them back in the catalog's order.
  state.repositories = new Map(names.map((name) => [name, state.repositories.get(name)!]));
  return state;
}
