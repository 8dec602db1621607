/** Image references as Docker writes them: [registry[:port]/]path[:tag][@digest]. */

/** Repository of an image reference: registry:5000/webhook-api:1.2 → registry:5000/webhook-api. */
export function repositoryOf(ref: string): string {
  const name = ref.split('@')[0];
  const at = name.lastIndexOf(':');
  return at > name.lastIndexOf('/') ? name.slice(0, at) : name;
}

/**
 * The reference without its registry: registry.example:5000/team/webhook-api:r1 → team/webhook-api:r1.
 * The first part names a registry when it has a dot or a port, or is localhost (Docker's own rule).
 */
export function withoutRegistry(ref: string): string {
  const [first, ...rest] = ref.split('/');
  return rest.length && /[.:]|^localhost$/.test(first) ? rest.join('/') : ref;
}
