/**
 * The Docker Registry v2 calls this tool makes, one small function each, on top of the client.
 * Pagination follows the `Link` header (relative, `rel="next"`); manifests are always asked for
 * with every accepted media type; a missing manifest or blob on delete counts as already done.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskError } from '../errors.ts';
import type { RegistryClient } from './client.ts';
import { header, RegistryError } from './http-errors.ts';
import { MANIFEST_ACCEPT, type ManifestBody } from './media-types.ts';

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The path of the next page from a `Link: <…>; rel="next"` header (relative or absolute). */
function nextPage(client: RegistryClient, link: string | undefined): string | undefined {
  const match = link && /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!match) return undefined;
  const url = new URL(match[1], client.base + '/');
  return url.pathname + url.search;
}

/** Follows every page of a listing; a 404 (a repository gone meanwhile) is an empty list. */
async function paginate(
  client: RegistryClient,
  first: string,
  items: (page: Record<string, string[] | null | undefined>) => string[] | null | undefined,
): Promise<string[]> {
  const all: string[] = [];
  let path: string | undefined = first;
  while (path) {
    const response = await client.call('GET', path, { accept: [404] });
    if (response.status === 404) return all;
    all.push(...(items(JSON.parse(response.body.toString('utf8'))) ?? []));
    path = nextPage(client, header(response.headers, 'link'));
  }
  return all;
}

/** Checks the endpoint speaks the v2 API (and that the credentials work). */
export async function ping(client: RegistryClient): Promise<void> {
  const response = await client.call('GET', '/v2/', { accept: [404] });
  if (response.status === 404)
    throw new TaskError(
      `${client.base} does not answer the Docker Registry v2 API (GET /v2/ is 404). Check REGISTRY_URL.`,
    );
}

/**
 * Waits until the registry answers again after a restart, up to two minutes. Give it a client of
 * its own: pings failing in a row while the registry starts would otherwise count against the
 * run's client (REGISTRY_MAX_CONSECUTIVE_FAILURES).
 */
export async function waitUntilServing(client: RegistryClient, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await ping(client);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** Every repository; the page size stays at most 1000, above which distribution answers 400. */
export function listRepositories(client: RegistryClient, pageSize: number): Promise<string[]> {
  return paginate(client, `/v2/_catalog?n=${Math.min(pageSize, 1000)}`, (page) => page.repositories);
}

/** All tags of a repository; `tags: null` (an emptied repository) is an empty list. */
export function listTags(client: RegistryClient, repository: string): Promise<string[]> {
  return paginate(client, `/v2/${repository}/tags/list`, (page) => page.tags);
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  body: ManifestBody;
  /** The exact bytes served: what the digest is of, and what an undo pushes back. */
  raw: Buffer;
}

/** GET a manifest by tag or digest; undefined when it is gone. */
export async function getManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
): Promise<FetchedManifest | undefined> {
  const response = await client.call('GET', `/v2/${repository}/manifests/${reference}`, {
    headers: { accept: MANIFEST_ACCEPT },
    accept: [404],
  });
  if (response.status === 404) return undefined;
  const body = JSON.parse(response.body.toString('utf8')) as ManifestBody;
  // The digest is of the exact bytes served; the header is checked against it, not trusted.
  const digest = sha256(response.body);
  const claimed = header(response.headers, 'docker-content-digest');
  if (claimed && claimed !== digest)
    throw new TaskError(
      `${repository}:${reference}: the registry's digest ${claimed} does not match the manifest it served (${digest}).`,
    );
  return {
    digest,
    mediaType: header(response.headers, 'content-type')?.split(';')[0] ?? body.mediaType ?? '',
    size: response.body.length,
    body,
    raw: response.body,
  };
}

/** HEAD a manifest: its digest, or undefined when it is gone. */
export async function headManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
): Promise<string | undefined> {
  const response = await client.call('HEAD', `/v2/${repository}/manifests/${reference}`, {
    headers: { accept: MANIFEST_ACCEPT },
    accept: [404],
  });
  return response.status === 404 ? undefined : header(response.headers, 'docker-content-digest');
}

export async function getJsonBlob<T>(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<T | undefined> {
  const response = await client.call('GET', `/v2/${repository}/blobs/${digest}`, { accept: [404] });
  if (response.status === 404) return undefined;
  try {
    return JSON.parse(response.body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function blobExists(client: RegistryClient, repository: string, digest: string): Promise<boolean> {
  const response = await client.call('HEAD', `/v2/${repository}/blobs/${digest}`, { accept: [404] });
  return response.status !== 404;
}

/** Monolithic upload: POST to open, PUT with the digest to close. No-op when the blob exists. */
export async function pushBlob(client: RegistryClient, repository: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  if (await blobExists(client, repository, digest)) return digest;
  const opened = await client.call('POST', `/v2/${repository}/blobs/uploads/`);
  const location = header(opened.headers, 'location');
  if (!location) throw new TaskError(`${repository}: the registry opened an upload without a Location.`);
  const target = new URL(location, client.base + '/');
  target.searchParams.set('digest', digest);
  await client.call('PUT', target.pathname + target.search, {
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  return digest;
}

export async function putManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  mediaType: string,
  data: Buffer,
): Promise<string> {
  await client.call('PUT', `/v2/${repository}/manifests/${reference}`, {
    headers: { 'content-type': mediaType },
    body: data,
  });
  return sha256(data);
}

/** Deletes a manifest by digest (every tag on it goes with it). False when it was already gone. */
/**
 * False only when the manifest was gone before this delete (404 at the first attempt): a 404
 * after a retried attempt may be that attempt's own deletion, answered on a dropped connection.
 */
export async function deleteManifest(client: RegistryClient, repository: string, digest: string): Promise<boolean> {
  try {
    const response = await client.call('DELETE', `/v2/${repository}/manifests/${digest}`, { accept: [404] });
    return response.status !== 404 || response.attempts > 1;
  } catch (error) {
    if (error instanceof RegistryError && error.status === 405) throw deleteRefused(error);
    throw error;
  }
}

export function deleteRefused(error: RegistryError): TaskError {
  return error.code === 'UNSUPPORTED' && !/read.?only/i.test(error.message)
    ? new TaskError(
        'The registry refuses deletes (405 UNSUPPORTED): deletion is disabled in its ' +
          'configuration. Enable it with `storage: delete: enabled: true` in the registry ' +
          'config.yml (or REGISTRY_STORAGE_DELETE_ENABLED=true in its environment), restart it, ' +
          'and run again. Nothing was deleted.',
      )
    : new TaskError(
        `The registry refuses deletes (405${error.code ? ` ${error.code}` : ''}): it is probably ` +
          `in read-only mode (storage.maintenance.readonly). Turn read-only off and run again. Nothing was deleted.`,
      );
}
