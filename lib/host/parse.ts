/**
 * Parsers of docker and df output into the host state, and of docker's failures into what the
 * user should do about them; pure, tested on recorded output.
 */
import { parseBytes } from '../units.ts';
import { TaskError } from '../errors.ts';
import { CommandFailed } from '../runner.ts';

export interface Container {
  id: string;
  name: string;
  /** The image ID the container runs. */
  image: string;
  /** The image reference it was created from (e.g. webhook-api:1.4.0). */
  imageRef: string;
  state: string;
  created: number;
  /** When it stopped; undefined while running or never started. */
  finished?: number;
  labels: Record<string, string>;
  /** Names of the volumes it mounts (named and anonymous). */
  volumes: string[];
  /** Everything it mounts; bind mounts of host folders are data too. */
  mounts?: Mount[];
  /** Bytes of its writable layer, as `docker system df -v` counts them. */
  sizeRw: number;
}

export interface Mount {
  type: string;
  /** The volume name (volume mounts). */
  name?: string;
  /** The host path (bind mounts). */
  source?: string;
  destination: string;
  writable: boolean;
}

export interface Image {
  id: string;
  tags: string[];
  created: number;
  size: number;
  /** Bytes of the layers only this image uses (what removing it alone frees). */
  uniqueSize: number;
  /** Bytes of its layers other images use too, as `docker system df -v` counts; undefined when Docker did not list it. */
  sharedSize?: number;
  /** Its layers' diff IDs, base first (RootFS.Layers): where images share layers. */
  layers?: string[];
}

export interface Volume {
  name: string;
  anonymous: boolean;
  labels: Record<string, string>;
  size: number;
}

export interface CacheRecord {
  id: string;
  size: number;
  lastUsed: number;
  inUse: boolean;
  /** The record this one builds on: BuildKit removes a parent only once no record builds on it. */
  parent?: string;
  /** BuildKit's own words for it ("fileop target", "local source for context"). */
  description?: string;
}

export interface Disk {
  path: string;
  mount: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
}

/** `--format '{{json .}}'` prints one JSON object per line. */
export function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

const time = (text: string | undefined): number | undefined => {
  if (!text || text.startsWith('0001-')) return undefined;
  const value = Date.parse(text);
  return Number.isFinite(value) ? value : undefined;
};

interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  State: { Status: string; FinishedAt?: string };
  Config: { Image: string; Labels: Record<string, string> | null };
  Mounts?: { Type: string; Name?: string; Source?: string; Destination: string; RW?: boolean }[];
  SizeRw?: number;
}

/** `sizes`: writable layers by container ID (system df -v); else the inspect's SizeRw (with --size). */
export function parseContainers(json: string, sizes?: Map<string, number>): Container[] {
  return (JSON.parse(json || '[]') as ContainerInspect[]).map((c) => ({
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Image,
    imageRef: c.Config.Image,
    state: c.State.Status,
    created: time(c.Created) ?? 0,
    ...(c.State.Status !== 'running' && time(c.State.FinishedAt) ? { finished: time(c.State.FinishedAt) } : {}),
    labels: c.Config.Labels ?? {},
    volumes: (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!),
    mounts: (c.Mounts ?? []).map((m) => ({
      type: m.Type,
      ...(m.Name ? { name: m.Name } : {}),
      ...(m.Source ? { source: m.Source } : {}),
      destination: m.Destination,
      writable: m.RW !== false,
    })),
    sizeRw: sizes?.get(c.Id) ?? c.SizeRw ?? 0,
  }));
}

interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
  Created: string;
  Size: number;
  RootFS?: { Layers?: string[] };
}

export function parseImages(json: string, uniqueSizes: Map<string, number>): Image[] {
  return (JSON.parse(json || '[]') as ImageInspect[]).map((i) => {
    const unique = uniqueSizes.get(i.Id);
    return {
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      created: time(i.Created) ?? 0,
      size: i.Size,
      uniqueSize: unique ?? i.Size,
      ...(unique !== undefined ? { sharedSize: Math.max(0, i.Size - unique) } : {}),
      ...(i.RootFS?.Layers?.length ? { layers: i.RootFS.Layers } : {}),
    };
  });
}

interface VolumeInspect {
  Name: string;
  Labels: Record<string, string> | null;
}

export function parseVolumes(json: string, sizes: Map<string, number>): Volume[] {
  return (JSON.parse(json || '[]') as VolumeInspect[]).map((v) => {
    const labels = v.Labels ?? {};
    return {
      name: v.Name,
      labels,
      anonymous: 'com.docker.volume.anonymous' in labels || /^[0-9a-f]{64}$/.test(v.Name),
      size: sizes.get(v.Name) ?? 0,
    };
  });
}

interface SystemDf {
  Images?: { ID: string; UniqueSize: string }[];
  Volumes?: { Name: string; Size: string }[];
  /** Size is the writable layer, "12.3kB", or "12.3kB (virtual 45.6MB)" when the daemon adds the image. */
  Containers?: { ID: string; Size: string }[];
  BuildCache?: {
    ID: string;
    Size: string;
    LastUsedAt?: string;
    CreatedAt?: string;
    InUse: string | boolean;
    Parent?: string;
    Description?: string;
  }[];
}

/** Volume, image and container sizes and build cache records from `docker system df -v --format '{{json .}}'`. */
export function parseSystemDf(text: string): {
  volumeSizes: Map<string, number>;
  imageUniqueSizes: Map<string, number>;
  containerSizes: Map<string, number>;
  cache: CacheRecord[];
} {
  const df = (JSON.parse(text.trim() || '{}') as SystemDf) ?? {};
  const bytes = (s: string) => parseBytes(s.replace(/B$/i, 'B')) ?? 0;
  return {
    volumeSizes: new Map((df.Volumes ?? []).map((v) => [v.Name, bytes(v.Size)])),
    // What removing the image alone frees: layers no other image shares.
    imageUniqueSizes: new Map((df.Images ?? []).map((i) => [i.ID, bytes(i.UniqueSize)])),
    containerSizes: new Map((df.Containers ?? []).map((c) => [c.ID, bytes(c.Size.split(' ')[0])])),
    cache: (df.BuildCache ?? []).map((c) => ({
      id: c.ID,
      size: bytes(c.Size),
      lastUsed:
        time(c.LastUsedAt?.replace(/ \+0000 UTC$/, 'Z').replace(' ', 'T')) ??
        time(c.CreatedAt?.replace(/ \+0000 UTC$/, 'Z').replace(' ', 'T')) ??
        0,
      inUse: c.InUse === true || c.InUse === 'true',
      ...(c.Parent ? { parent: c.Parent } : {}),
      ...(c.Description ? { description: c.Description } : {}),
    })),
  };
}

/** What Docker itself counts as used, per kind, from `docker system df --format '{{json .}}'`. */
export interface DockerUsage {
  images: number;
  containers: number;
  volumes: number;
  buildCache: number;
  total: number;
}

/**
 * One JSON line per kind (Images, Containers, Local Volumes, Build Cache) with human sizes of four
 * significant digits: exact to about 0.05%, and the same counting as the per-item sizes of `-v`.
 */
export function parseDockerUsage(text: string): DockerUsage {
  const rows = jsonLines<{ Type: string; Size: string }>(text);
  const of = (type: string) => parseBytes(rows.find((r) => r.Type === type)?.Size ?? '0B') ?? 0;
  const usage = {
    images: of('Images'),
    containers: of('Containers'),
    volumes: of('Local Volumes'),
    buildCache: of('Build Cache'),
  };
  return { ...usage, total: usage.images + usage.containers + usage.volumes + usage.buildCache };
}

/** `df -P -k a b`: one line per path after the header; the mount point is the last column. */
export function parseDf(text: string, paths: string[]): Disk[] {
  const rows = text.trim().split('\n').slice(1);
  return rows.map((row, i) => {
    const cols = row.trim().split(/\s+/);
    const [total, used, available] = cols.slice(-5, -2).map((n) => Number(n) * 1024);
    return {
      path: paths[i],
      mount: cols[cols.length - 1],
      totalBytes: total,
      usedBytes: used,
      availableBytes: available,
    };
  });
}

/** Used share of the disk as df computes it: used / (used + available). */
export function usedPercent(disk: Pick<Disk, 'usedBytes' | 'availableBytes'>): number {
  return (100 * disk.usedBytes) / (disk.usedBytes + disk.availableBytes);
}

/** Turns a failed docker call into what the user should do about it. */
export function dockerProblem(host: string, error: unknown): Error {
  if (!(error instanceof CommandFailed)) return error as Error;
  const text = `${error.result.stderr}\n${error.result.stdout}`;
  if (error.result.exitCode === 127 || /docker: (command )?not found|No such file or directory/.test(text))
    return new TaskError(
      `${host}: docker is not installed (or not on the PATH of the ssh user). Install Docker there, or fix the PATH. Nothing was changed there.`,
    );
  if (/permission denied.*docker(\.sock| daemon socket)/i.test(text))
    return new TaskError(
      `${host}: the ssh user may not use the Docker socket (permission denied). Add it to the ` +
        `docker group (sudo usermod -aG docker <user>) and log in again. Nothing was changed there.`,
    );
  if (/Cannot connect to the Docker daemon|Is the docker daemon running/i.test(text))
    return new TaskError(
      `${host}: the Docker daemon is not running or not reachable (${text.trim().split('\n')[0]}). Nothing was changed there.`,
    );
  return error;
}
