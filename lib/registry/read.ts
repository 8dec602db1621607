/**
 * Reads what the registry holds: every repository (catalog pages), every tag, each tag's
 * manifest (indexes walked into their children), and image creation dates where the policy
 * needs them. Requests run concurrently over the client's kept-alive connections, and no digest
 * is fetched twice in a run: manifests and configs are content-addressed, so one read serves all.
 */
import { mapLimitAll } from '../concurrency.ts';
import { getJsonBlob, getManifest, listRepositories, listTags, ping } from './api.ts';
import type { RegistryClient } from './client.ts';
import { isIndex, UNTAG_ANNOTATION, type ManifestBody } from './media-types.ts';
import type { DanglingTag } from './dangling.ts';
import type { RegistryState } from './plan.ts';
import type { TagInfo } from './policy.ts';
import type { ManifestRecord } from './sizes.ts';

export interface ReadOptions {
  pageSize: number;
  concurrency: number;
  /** Whether ranking a repository's tags needs creation dates (asked after its tags are known). */
  needsDates: (repository: string, tags: TagInfo[]) => boolean;
  progress?: (message: string) => void;
  signal?: AbortSignal;
  /** Read only these repositories instead of the whole catalog. */
  repositories?: string[];
}

function record(digest: string, size: number, mediaType: string, body: ManifestBody): ManifestRecord {
  return {
    digest,
    size,
    mediaType,
    ...(body.config ? { config: { digest: body.config.digest, size: body.config.size } } : {}),
    layers: (body.layers ?? []).map((l) => ({ digest: l.digest, size: l.size })),
    children: isIndex(mediaType) ? (body.manifests ?? []).map((m) => m.digest) : [],
    ...(body.annotations?.[UNTAG_ANNOTATION] ? { leftover: true } : {}),
  };
}

export async function readRegistry(client: RegistryClient, options: ReadOptions): Promise<RegistryState> {
  const say = options.progress ?? (() => undefined);
  await ping(client);
  say('listing repositories');
  const names = options.repositories ?? (await listRepositories(client, options.pageSize));
  say(`listing the tags of ${names.length} repositories`);
  const tagLists = await mapLimitAll(names, options.concurrency, (name) => listTags(client, name));

  const manifests = new Map<string, ManifestRecord>();
  const repositories = new Map<string, TagInfo[]>();
  const pairs = names.flatMap((name, i) => tagLists[i].map((tag) => ({ name, tag })));
  let done = 0;
  const resolved = await mapLimitAll(pairs, options.concurrency, async ({ name, tag }) => {
    if (options.signal?.aborted) throw options.signal.reason;
    const manifest = await getManifest(client, name, tag);
    if (++done % 250 === 0) say(`resolved ${done} of ${pairs.length} tags`);
    if (!manifest) return { name, tag, digest: undefined }; // deleted since the listing, or left dangling by a cut delete
    if (!manifests.has(manifest.digest)) manifests.set(manifest.digest, record(manifest.digest, manifest.size, manifest.mediaType, manifest.body));
    return { name, tag, digest: manifest.digest };
  });
  for (const name of names) repositories.set(name, []);
  const dangling: DanglingTag[] = [];
  for (const entry of resolved) {
    if (entry.digest) repositories.get(entry.name)!.push({ tag: entry.tag, digest: entry.digest });
    else dangling.push({ repository: entry.name, tag: entry.tag });
  }

  // Children of indexes, fetched by digest once, in the repository that references them.
  let pending = [...repositories].flatMap(([name, tags]) => tags.flatMap((t) => manifests.get(t.digest)!.children.map((child) => ({ name, child }))));
  while (pending.length) {
    const unique = [...new Map(pending.filter((p) => !manifests.has(p.child)).map((p) => [p.child, p])).values()];
    const fetched = await mapLimitAll(unique, options.concurrency, async ({ name, child }) => ({ name, manifest: await getManifest(client, name, child) }));
    pending = [];
    for (const { name, manifest } of fetched) {
      if (!manifest) continue;
      const entry = record(manifest.digest, manifest.size, manifest.mediaType, manifest.body);
      manifests.set(manifest.digest, entry);
      pending.push(...entry.children.map((child) => ({ name, child })));
    }
  }

  for (const tags of repositories.values()) for (const t of tags) if (manifests.get(t.digest)?.leftover) t.leftover = true;

  // Creation dates, only for repositories whose ranking needs them; one GET per config digest.
  const created = new Map<string, string | undefined>();
  const wanted = [...repositories].filter(([name, tags]) => options.needsDates(name, tags));
  const configs = new Map<string, string>();
  const imageOf = (digest: string): ManifestRecord | undefined => {
    const entry = manifests.get(digest);
    return entry && entry.children.length ? manifests.get(entry.children[0]) : entry;
  };
  for (const [name, tags] of wanted) {
    for (const t of tags) {
      const config = imageOf(t.digest)?.config?.digest;
      if (config && !configs.has(config)) configs.set(config, name);
    }
  }
  if (configs.size) say(`reading ${configs.size} image creation dates`);
  await mapLimitAll([...configs], options.concurrency, async ([config, name]) => {
    const body = await getJsonBlob<{ created?: string }>(client, name, config);
    created.set(config, body?.created);
  });
  for (const [, tags] of wanted) {
    for (const t of tags) {
      const config = imageOf(t.digest)?.config?.digest;
      const date = config ? created.get(config) : undefined;
      if (date) t.created = date;
    }
  }
  return { repositories, manifests, dangling };
}
