/**
 * How many bytes removing images frees, counted the way `docker system df` counts them.
 *
 * Docker gives each image its size and its unique size (layers no other image uses). Removing
 * several images frees more than the sum of their unique sizes when they share layers only with
 * each other (three versions of an abandoned worker built on a base nothing else uses). Images'
 * layers form a tree (each image a path from the root); the sizes Docker gives pin the byte
 * offset of two points on each path: its top (size) and its deepest layer shared with another
 * image (size − unique size). Between pinned points every layer has the same users, so each
 * stretch is attributed to the last of its users removed, in the order apply removes them.
 * Where the tree has a branch no size pins, the stretch counts as used by the most images, so
 * the estimate can only fall short, never promise bytes that stay.
 */
import { createHash } from 'node:crypto';
import type { Image } from '../host/parse.ts';

interface Stretch {
  bytes: number;
  users: Set<string>;
}

/** Node keys of an image's path: the chain of its layers, as Docker's ChainID builds it. */
function chain(layers: string[]): string[] {
  const keys: string[] = [];
  let key = '';
  for (const layer of layers) {
    key = key ? createHash('sha256').update(`${key} ${layer}`).digest('hex') : layer;
    keys.push(key);
  }
  return keys;
}

function stretches(images: Image[]): Stretch[] {
  const paths = new Map(images.filter((i) => i.layers?.length).map((i) => [i.id, chain(i.layers!)]));
  const users = new Map<string, Set<string>>();
  for (const [id, path] of paths) for (const key of path) users.set(key, (users.get(key) ?? new Set()).add(id));
  const offset = new Map<string, number>();
  for (const image of images) {
    const path = paths.get(image.id);
    if (!path) continue;
    offset.set(path[path.length - 1], image.size);
    const deepestShared = [...path].reverse().find((key) => users.get(key)!.size > 1);
    if (deepestShared && image.sharedSize !== undefined && !offset.has(deepestShared))
      offset.set(deepestShared, image.sharedSize);
  }
  const byEnd = new Map<string, Stretch>();
  for (const path of paths.values()) {
    let start = 0;
    let from = 0;
    path.forEach((key, i) => {
      if (!offset.has(key)) return;
      if (!byEnd.has(key))
        byEnd.set(key, { bytes: Math.max(0, offset.get(key)! - from), users: users.get(path[start])! });
      from = offset.get(key)!;
      start = i + 1;
    });
  }
  return [...byEnd.values()];
}

/**
 * Bytes each image of `removed` frees when removed in that order: its own layers, plus the layers
 * it was the last remaining user of. Images without layer information count their unique size.
 */
export function bytesFreedInOrder(images: Image[], removed: string[]): Map<string, number> {
  const position = new Map(removed.map((id, i) => [id, i]));
  const freed = new Map(removed.map((id) => [id, 0]));
  for (const image of images)
    if (position.has(image.id) && !image.layers?.length) freed.set(image.id, image.uniqueSize);
  for (const stretch of stretches(images)) {
    const members = [...stretch.users];
    if (!members.every((id) => position.has(id))) continue;
    const last = members.reduce((a, b) => (position.get(b)! > position.get(a)! ? b : a));
    freed.set(last, freed.get(last)! + stretch.bytes);
  }
  return freed;
}
