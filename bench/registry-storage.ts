/**
 * Seeds a registry by writing distribution 2.8's filesystem storage layout directly: blobs, each
 * repository's _layers links, _manifests/revisions, and per tag tags/<tag>/current/link and its
 * index link. Pushing 50,000 tags over HTTP takes many minutes; writing the files takes seconds,
 * and the registry serves them as if pushed (bench/run.ts checks one with a GET).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';

export interface SeedRepository {
  name: string;
  tags: string[];
}

const digestOf = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Writes the layout under `storage` (the registry's rootdirectory). Returns the number of tags written. */
export function writeRegistryStorage(storage: string, repositories: SeedRepository[]): number {
  const v2 = join(storage, 'docker', 'registry', 'v2');
  const blob = (data: Buffer): string => {
    const hex = digestOf(data);
    const dir = join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'data'), data);
    }
    return hex;
  };
  const link = (dir: string, hex: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'link'), `sha256:${hex}`);
  };
  let written = 0;
  for (const { name, tags } of repositories) {
    const repo = join(v2, 'repositories', name);
    const layer = Buffer.from(`shared layer of ${name} `.repeat(100));
    const layerHex = blob(layer);
    link(join(repo, '_layers', 'sha256', layerHex), layerHex);
    tags.forEach((tag, i) => {
      // One image per tag: its own config (a creation date an hour apart) over the shared layer.
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          created: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
          config: { Labels: { repository: name, tag } },
          rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] },
        }),
      );
      const configHex = blob(config);
      link(join(repo, '_layers', 'sha256', configHex), configHex);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: SCHEMA2,
          config: {
            mediaType: 'application/vnd.docker.container.image.v1+json',
            size: config.length,
            digest: `sha256:${configHex}`,
          },
          layers: [
            {
              mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
              size: layer.length,
              digest: `sha256:${layerHex}`,
            },
          ],
        }),
      );
      const manifestHex = blob(manifest);
      link(join(repo, '_manifests', 'revisions', 'sha256', manifestHex), manifestHex);
      link(join(repo, '_manifests', 'tags', tag, 'current'), manifestHex);
      link(join(repo, '_manifests', 'tags', tag, 'index', 'sha256', manifestHex), manifestHex);
      written++;
    });
  }
  return written;
}

/**
 * The storage in `dir`/storage, written once: a marker file records a complete seed, so a run
 * killed while writing starts over instead of reusing half a registry.
 */
export function ensureRegistryStorage(
  dir: string,
  repositories: () => SeedRepository[],
): { storage: string; seededNow: boolean; ms: number } {
  const storage = join(dir, 'storage');
  const marker = join(dir, 'seeded');
  if (existsSync(marker)) return { storage, seededNow: false, ms: 0 };
  const started = performance.now();
  const partial = join(dir, 'storage.partial');
  rmSync(partial, { recursive: true, force: true });
  rmSync(storage, { recursive: true, force: true });
  const tags = writeRegistryStorage(partial, repositories());
  renameSync(partial, storage);
  const ms = performance.now() - started;
  writeFileSync(marker, `${tags} tags written in ${(ms / 1000).toFixed(1)} s\n`);
  return { storage, seededNow: true, ms };
}

/** The benchmark's mix per repository: versions, CI builds and test tags, as a real registry holds. */
export function mixedTags(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    i % 10 === 0 ? `test-${i}` : i % 3 === 0 ? `build-${i}` : `1.${Math.floor(i / 100)}.${i % 100}`,
  );
}
