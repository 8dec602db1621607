/** Image references as Docker writes them: [registry[:port]/]path[:tag][@digest]. */

/** Repository of an image reference: registry:5000/webhook-api:1.2 → registry:5000/webhook-api. */
export function repositoryOf(ref: string): string {
  const name = ref.split('@')[0];
  const at = name.lastIndexOf(':');
  return at > name.lastIndexOf('/') ? name.slice(0, at) : name;
}
