/**
 * Pushes fixture images straight through the registry API with plain fetch (independent of the
 * code under test): blobs by monolithic upload, then manifests, Docker v2 or OCI, and indexes.
 */
import { createHash } from 'node:crypto';

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** fetch that survives the registry restarting under a kept-alive connection (GC restarts it). */
async function fetch(input: string | URL, init?: RequestInit): Promise<Response> {
  try {
    return await globalThis.fetch(input, init);
  } catch {
    return globalThis.fetch(input, init);
  }
}

export interface Pusher {
  url: string;
  authorization?: string;
}

async function check(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  return response;
}

export async function pushBlob(to: Pusher, repository: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  const headers: Record<string, string> = to.authorization ? { authorization: to.authorization } : {};
  const head = await fetch(`${to.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD', headers });
  if (head.ok) return { digest, size: data.length };
  const opened = await check(await fetch(`${to.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers }), `open upload ${repository}`);
  const location = new URL(opened.headers.get('location')!, to.url);
  location.searchParams.set('digest', digest);
  await check(await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) }), `upload ${repository} ${digest}`);
  return { digest, size: data.length };
}

export async function pushManifest(to: Pusher, repository: string, reference: string, mediaType: string, manifest: object): Promise<string> {
  const data = Buffer.from(JSON.stringify(manifest));
  const headers: Record<string, string> = { 'content-type': mediaType, ...(to.authorization ? { authorization: to.authorization } : {}) };
  await check(await fetch(`${to.url}/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers, body: new Uint8Array(data) }), `push ${repository}:${reference}`);
  return sha256(data);
}

export interface ImageSpec {
  /** Layer contents; equal contents across images make shared layers. */
  layers: (string | Buffer)[];
  created?: string;
  format?: 'docker' | 'oci';
  /** Distinguishes otherwise identical images. */
  label?: string;
}

export interface PushedImage {
  digest: string;
  mediaType: string;
  size: number;
  /** Configs and layers (the children's too, for an index). */
  blobs: { digest: string; size: number }[];
  /** The manifest's digest, and its children's for an index. */
  manifests: string[];
}

export async function pushImage(to: Pusher, repository: string, tags: string[], spec: ImageSpec): Promise<PushedImage> {
  const oci = spec.format === 'oci';
  const layers = [];
  for (const content of spec.layers) layers.push(await pushBlob(to, repository, Buffer.from(content)));
  const config = await pushBlob(
    to,
    repository,
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: spec.created, config: { Labels: { fixture: spec.label ?? '' } }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })),
  );
  const mediaType = oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...l })),
  };
  const data = JSON.stringify(manifest);
  let digest = sha256(data);
  if (!tags.length) digest = await pushManifest(to, repository, digest, mediaType, manifest);
  for (const tag of tags) digest = await pushManifest(to, repository, tag, mediaType, manifest);
  return { digest, mediaType, size: Buffer.byteLength(data), blobs: [config, ...layers], manifests: [digest] };
}

/** An OCI index over child images (pushed by digest first). */
export async function pushIndex(to: Pusher, repository: string, tags: string[], children: PushedImage[]): Promise<PushedImage> {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: { architecture: i ? 'arm64' : 'amd64', os: 'linux' } })),
  };
  let digest = sha256(JSON.stringify(index));
  for (const tag of tags) digest = await pushManifest(to, repository, tag, mediaType, index);
  const size = Buffer.byteLength(JSON.stringify(index));
  return { digest, mediaType, size, blobs: children.flatMap((c) => c.blobs), manifests: [...children.flatMap((c) => c.manifests), digest] };
}

export async function tagsOf(to: Pusher, repository: string): Promise<string[]> {
  const headers: Record<string, string> = to.authorization ? { authorization: to.authorization } : {};
  const response = await fetch(`${to.url}/v2/${repository}/tags/list`, { headers });
  if (response.status === 404) return [];
  return (((await response.json()) as { tags: string[] | null }).tags ?? []).sort();
}

export async function resolves(to: Pusher, repository: string, tag: string): Promise<string | undefined> {
  const headers: Record<string, string> = {
    accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
    ...(to.authorization ? { authorization: to.authorization } : {}),
  };
  const response = await fetch(`${to.url}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers });
  return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
}

export async function blobPresent(to: Pusher, repository: string, digest: string): Promise<boolean> {
  const headers: Record<string, string> = to.authorization ? { authorization: to.authorization } : {};
  return (await fetch(`${to.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD', headers })).ok;
}
