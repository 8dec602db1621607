/**
 * Honest size accounting. Storage holds each blob once, whatever number of repositories and
 * tags refer to it, so sizes are sums over the UNION of blob digests (manifests, configs,
 * layers; an index counts its children too), never per-repository sums.
 */
import type { Descriptor } from './media-types.ts';

export interface ManifestRecord {
  digest: string;
  /** Byte length of the manifest itself, which is stored as a blob too. */
  size: number;
  mediaType: string;
  config?: Descriptor;
  layers: Descriptor[];
  /** Child manifest digests of an index. */
  children: readonly string[];
  /** True for this tool's own throwaway manifests. */
  leftover?: boolean;
}

/** Adds every blob a manifest needs (itself, config, layers, children's blobs) to `into`. */
export function collectBlobs(
  digest: string,
  manifests: ReadonlyMap<string, ManifestRecord>,
  into: Map<string, number>,
): Map<string, number> {
  const record = manifests.get(digest);
  if (!record || into.has(digest)) return into;
  into.set(digest, record.size);
  if (record.config) into.set(record.config.digest, record.config.size);
  for (const layer of record.layers) into.set(layer.digest, layer.size);
  for (const child of record.children) collectBlobs(child, manifests, into);
  return into;
}

export function blobsOf(roots: Iterable<string>, manifests: ReadonlyMap<string, ManifestRecord>): Map<string, number> {
  const blobs = new Map<string, number>();
  for (const root of roots) collectBlobs(root, manifests, blobs);
  return blobs;
}

export function sumSizes(blobs: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const size of blobs.values()) total += size;
  return total;
}

/**
 * Splits the blobs freed by deleting `doomed` roots among them: each blob no kept root needs is
 * credited to the first doomed root that needs it, so the per-change figures add up to the total.
 */
export function freedBytesPerRoot(
  doomed: readonly string[],
  kept: ReadonlyMap<string, number>,
  manifests: ReadonlyMap<string, ManifestRecord>,
): number[] {
  const credited = new Set<string>();
  // One map for every root, emptied each time: a map per root was 50,000 maps of garbage.
  const blobs = new Map<string, number>();
  return doomed.map((root) => {
    let bytes = 0;
    blobs.clear();
    for (const [digest, size] of collectBlobs(root, manifests, blobs)) {
      if (kept.has(digest) || credited.has(digest)) continue;
      credited.add(digest);
      bytes += size;
    }
    return bytes;
  });
}
