/**
 * Moves a tag (final, latest) to a digest the registry already holds: the manifest's exact bytes
 * are read by digest and put under the tag, so the tag's digest is that digest, byte for byte.
 */
import { sha256, putManifest, headManifest } from '../registry/api.ts';
import type { RegistryClient } from '../registry/client.ts';
import { header } from '../registry/http-errors.ts';
import { MANIFEST_ACCEPT } from '../registry/media-types.ts';
import { TaskError } from '../errors.ts';

export async function moveTag(client: RegistryClient, repository: string, tag: string, digest: string): Promise<void> {
  const response = await client.call('GET', `/v2/${repository}/manifests/${digest}`, {
    headers: { accept: MANIFEST_ACCEPT },
  });
  if (sha256(response.body) !== digest)
    throw new TaskError(
      `${repository}@${digest}: the registry served a manifest with another digest; ${tag} was not moved.`,
    );
  const mediaType = header(response.headers, 'content-type')?.split(';')[0] ?? '';
  await putManifest(client, repository, tag, mediaType, response.body);
}

export async function digestOf(client: RegistryClient, repository: string, tag: string): Promise<string | undefined> {
  return headManifest(client, repository, tag);
}
