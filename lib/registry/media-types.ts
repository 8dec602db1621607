/** The manifest media types a correct client must accept (design.md, section 4). */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Sent on every manifest HEAD/GET: without it the registry answers another digest, or 404. */
export const MANIFEST_ACCEPT = [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX].join(', ');

export function isIndex(mediaType: string | undefined): boolean {
  return mediaType === DOCKER_MANIFEST_LIST || mediaType === OCI_INDEX;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

/** The parts of a manifest or index this tool reads. */
export interface ManifestBody {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

/** Marks the throwaway manifests this tool pushes to untag; a tag left on one is always doomed. */
export const UNTAG_ANNOTATION = 'org.aisha-cleanup.untag';
