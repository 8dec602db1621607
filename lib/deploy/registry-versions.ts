/**
 * Plan section 4 keeps the last N versions of each image. A deploy pushes a new version of the
 * webhook API, so it pushes older ones out of those N: that clean-up is planned with the deploy
 * (each tag named, with its digest), not left for the next registry run to find. Pure.
 */
import type { Change } from '../plan.ts';
import { isDeletion, planRegistry, type DeletionOp, type RegistryState } from '../registry/plan.ts';
import type { RegistryPolicy } from '../registry/policy.ts';

/** A digest no real manifest has: stands for the release not built yet. */
export const PENDING_DIGEST = `sha256:${'0'.repeat(63)}1`;

/**
 * The registry changes the policy plans once `newTag` (created `now`) is in `repository`, less
 * what it plans already without it (that is the registry task's own work, done before).
 */
export function pushedOut(
  state: RegistryState,
  repository: string,
  newTag: string,
  policy: RegistryPolicy,
  now: number,
): Change<DeletionOp>[] {
  const tags = state.repositories.get(repository) ?? [];
  const doomedNow = new Set(
    planRegistry(state, policy, Number.MAX_SAFE_INTEGER, now)
      .changes.filter(isDeletion)
      .flatMap((c) => c.op.tags),
  );
  const withNew: RegistryState = {
    repositories: new Map([
      ...state.repositories,
      [
        repository,
        [
          ...tags.filter((t) => t.tag !== newTag),
          { tag: newTag, digest: PENDING_DIGEST, created: new Date(now).toISOString() },
        ],
      ],
    ]),
    manifests: state.manifests,
  };
  return planRegistry(withNew, policy, Number.MAX_SAFE_INTEGER, now)
    .changes.filter(isDeletion)
    .filter(
      (c) =>
        c.op.repository === repository && c.op.digest !== PENDING_DIGEST && c.op.tags.some((t) => !doomedNow.has(t)),
    );
}
