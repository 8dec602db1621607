/**
 * What the deploy wants to run, read before anything is decided: the backend as compose reads it,
 * the revision the build takes (HEAD, or the one an earlier task's commit makes in clean:all), the
 * content that revision holds, and the registry versions the new release pushes out.
 */
import { UsageError } from '../errors.ts';
import { sameHost } from '../host/names.ts';
import { tagOf, type DeployState } from '../host/deploy-state.ts';
import { planRegistryCleanup, registryPolicy, withSettings } from '../registry/cleanup.ts';
import { localRunner } from '../runner.ts';
import type { Handoffs } from '../task.ts';
import { plannedBackend } from './backend.ts';
import { contentIds, dirtyFiles, headRevision, keyOf, shippedIds } from './content.ts';
import { deployRegistry, imageRepository, type DeployCtx } from './context.ts';
import type { ReadingInputs } from './reading.ts';
import { pushedOut } from './registry-versions.ts';
import type { RevisionStatement } from './steps.ts';

/**
 * The image's versions in the registry, and the policy section 4 judges them by once the new
 * release counts among the last ones: the retained releases and the promoted tags are protected,
 * since a rollback needs them, and the registry task's own settings (REGISTRY_PROTECT_TAGS,
 * REGISTRY_DELETE_TAG_TOKENS) hold here too.
 */
async function readVersions(ctx: DeployCtx, state: DeployState) {
  const repository = imageRepository(ctx.settings.DEPLOY_IMAGE);
  const retained = [state.current, ...state.previous]
    .filter(Boolean)
    .slice(0, ctx.settings.DEPLOY_KEEP_RELEASES - 1)
    .map((r) => `${repository}:${tagOf(r!.image)}`);
  const base = withSettings(registryPolicy, ctx.settings);
  // No age floor here: what a deploy pushes out are the releases it ranks below the one it has
  // just built and gated, whose ages say nothing about use (a redeploy an hour later pushes out
  // one of an hour ago); clean:registry keeps the floor (REGISTRY_MIN_AGE_HOURS) for the rest.
  const policy = {
    ...base,
    minAgeHours: 0,
    protect: [...base.protect, ...retained, ...ctx.settings.DEPLOY_EXTRA_TAGS.map((t) => `${repository}:${t}`)],
  };
  const { state: registryState } = await planRegistryCleanup(ctx.settings, {
    repositories: [repository],
    policy,
    client: deployRegistry(ctx),
    now: ctx.now,
  });
  return { registryState, repository, policy };
}

/**
 * The backend, the revision and content to build, and what the chain's earlier tasks change first;
 * with the registry versions the new release pushes out, read as soon as the server's reading
 * names the releases it keeps (which they must not touch).
 */
export async function readWanted(
  ctx: DeployCtx,
  earlier: Handoffs,
  server: Promise<{ state: DeployState }>,
): Promise<ReadingInputs> {
  const versions = server.then(({ state }) => readVersions(ctx, state));
  // Awaited below; a plan refused before then (a dirty tree) must not leave it unhandled.
  versions.catch(() => undefined);
  const backend = await plannedBackend(ctx);
  const git = localRunner();
  const repo = ctx.settings.BACKEND_DIR;
  const paths = [...backend.inputs.trees, ...backend.inputs.blobs];
  // --allow-dirty is about tracked files: a secret is never committed, so never dirty.
  const dirty = (await dirtyFiles(git, repo, paths)).filter((p) => !backend.inputs.secrets.includes(p));
  if (dirty.length && !ctx.options.allowDirty) {
    throw new UsageError(
      `Uncommitted changes in what the deploy builds and ships: ${dirty.join(', ')}. Commit them (or stash ` +
        'them), or rerun with --allow-dirty to build them as they are. Nothing was done.',
    );
  }
  const head = await headRevision(git, repo);
  // In clean:all the inventory commits first: the build then takes the revision that commit makes.
  const by = earlier.backendCommitBy;
  const statement: RevisionStatement = by ? { kind: 'after-commit', base: head, by } : { kind: 'head', revision: head };
  const ids = by ? undefined : await contentIds(git, repo, backend.inputs, dirty);
  // The new tag's name only matters to rank it newest among the versions; pending until built.
  const newTag = by ? `${head}-next` : head;
  return {
    backend,
    statement,
    contentKey: ids && keyOf(ids),
    fileIds: ids && shippedIds(backend, ids),
    allowedDirty: dirty,
    pushedOut: await versions.then(({ registryState, repository, policy }) =>
      pushedOut(registryState, repository, newTag, policy, ctx.now),
    ),
    // In clean:all the server task removes the deploy host's stopped containers: not repeated here.
    removedByServer: (earlier.removedContainers ?? []).flatMap((c) =>
      sameHost(c.host, ctx.settings.DEPLOY_HOST) ? [c.id] : [],
    ),
  };
}
