/**
 * After apply: every kept tag must still resolve to the digest the plan kept, and every blob it
 * needs (config, layers, and those of an index's children) must still be served. Any miss is a
 * failed check: the run exits 1 and says which tag lost what.
 */
import { mapLimitAll } from '../concurrency.ts';
import type { Check } from '../task.ts';
import { blobExists, headManifest } from './api.ts';
import type { RegistryClient } from './client.ts';
import type { KeptTag } from './plan.ts';
import { collectBlobs, type ManifestRecord } from './sizes.ts';

export async function checkKeptTags(
  client: RegistryClient,
  kept: KeptTag[],
  manifests: ReadonlyMap<string, ManifestRecord>,
  concurrency: number,
): Promise<Check[]> {
  const problems: string[] = [];
  const tagResults = await mapLimitAll(kept, concurrency, async (k) => ({
    k,
    digest: await headManifest(client, k.repository, k.tag),
  }));
  const blobChecks = new Map<string, { repository: string; digest: string; tags: string[] }>();
  for (const { k, digest } of tagResults) {
    if (digest !== k.digest) {
      problems.push(`${k.repository}:${k.tag} ${digest ? `now points at ${digest}, not ${k.digest}` : 'is gone'}`);
      continue;
    }
    for (const blob of collectBlobs(k.digest, manifests, new Map()).keys()) {
      if (manifests.has(blob)) continue; // manifests are checked through their tags and below
      const key = `${k.repository}@${blob}`;
      const entry = blobChecks.get(key) ?? { repository: k.repository, digest: blob, tags: [] };
      entry.tags.push(k.tag);
      blobChecks.set(key, entry);
    }
    for (const child of manifests.get(k.digest)?.children ?? []) {
      if ((await headManifest(client, k.repository, child)) !== child)
        problems.push(`${k.repository}:${k.tag} lost its child manifest ${child}`);
    }
  }
  const blobResults = await mapLimitAll([...blobChecks.values()], concurrency, async (b) => ({
    b,
    present: await blobExists(client, b.repository, b.digest),
  }));
  for (const { b, present } of blobResults)
    if (!present) problems.push(`${b.repository}:${b.tags.join(',')} needs blob ${b.digest}, which is gone`);
  return [
    {
      name: 'every kept tag resolves to its image',
      passed: tagResults.every((r) => r.digest === r.k.digest),
      figure: `${tagResults.filter((r) => r.digest === r.k.digest).length} of ${kept.length} kept tags`,
      ...(problems.length ? { detail: problems.slice(0, 20).join('\n') } : {}),
    },
    {
      name: 'every blob a kept tag needs is present',
      passed: blobResults.every((r) => r.present) && !problems.some((p) => p.includes('child manifest')),
      figure: `${blobResults.filter((r) => r.present).length} of ${blobResults.length} blobs`,
      ...(problems.length ? { detail: problems.slice(0, 20).join('\n') } : {}),
    },
  ];
}
