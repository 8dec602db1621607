/**
 * Plan section 6: clean deploy of the webhook API + nginx only.
 *
 *   1. Stop all services (of the project that the compose file no longer has).
 *   2. Clean old containers and images: those of releases beyond the ones kept for rollback.
 *   3. Build a new webhook-api image, tagged with the backend's git revision; push it.
 *   4. Deploy nginx + webhook API (docker-compose.webhook.prod.yml), with every file it mounts.
 *   5. Check that it works: every health URL answers; only then `final` moves to the new image.
 *      Otherwise what ran before is brought back (or, on a first deploy, nothing is left half-started).
 *   6. Run the full tests: that is `npm run verify` (plan section 7).
 *
 * Every step is an item of the plan (lib/deploy/steps.ts), applied in order (lib/deploy/apply.ts).
 * Also from this entry, as Kamal has them: `deploy:rollback [VERSION]`, `deploy:releases`, `deploy:lock`
 * (lib/deploy/rollback-task.ts, releases-task.ts, lock-task.ts; the flag that picks one: lib/deploy/modes.ts).
 */
import { UsageError } from '../lib/errors.ts';
import { isEntryPoint, runPipeline } from '../lib/pipeline/run.ts';
import { localRunner } from '../lib/runner.ts';
import { defineTask } from '../lib/task.ts';
import { pushedOut } from '../lib/deploy/registry-versions.ts';
import { planRegistryCleanup, registryPolicy, withSettings } from '../lib/registry/cleanup.ts';
import { readBackend } from '../lib/deploy/backend.ts';
import { contentIds, dirtyFiles, headRevision, keyOf, shippedIds } from '../lib/deploy/content.ts';
import { deployRegistry, imageRepository, type DeployCtx } from '../lib/deploy/context.ts';
import { lockTask } from '../lib/deploy/lock-task.ts';
import { chooseMode } from '../lib/deploy/modes.ts';
import { readDeploy } from '../lib/deploy/reading.ts';
import { releasesTask } from '../lib/deploy/releases-task.ts';
import { rollbackTask } from '../lib/deploy/rollback-task.ts';
import { applyMeasured } from '../lib/deploy/run.ts';
import { deploySettings } from '../lib/deploy/settings.ts';
import { tagOf, type DeployState } from '../lib/host/deploy-state.ts';
import { planDeploy, type RevisionStatement } from '../lib/deploy/steps.ts';
import { sameHost } from '../lib/host/names.ts';
import { deployAuditPlaces } from '../lib/deploy/audit-place.ts';

/**
 * The versions section 4 drops once the new release counts among the last ones; the retained
 * releases and the promoted tags are protected, since a rollback needs them, and the registry
 * task's own settings (REGISTRY_PROTECT_TAGS, REGISTRY_DELETE_TAG_TOKENS) hold here too.
 */
async function versionsPushedOut(ctx: DeployCtx, state: DeployState, newTag: string) {
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
  return pushedOut(registryState, repository, newTag, policy, ctx.now);
}

export const deployTask = defineTask({
  name: 'deploy',
  title: 'Clean deploy of the webhook API + nginx (plan section 6)',
  settings: deploySettings,
  options: {
    'allow-dirty': {
      type: 'boolean',
      help: 'build uncommitted changes in the build context (the plan says so; the tag gets -dirty)',
    },
  },
  dependsOn: ['server'],

  async plan(ctx, earlier) {
    const backend = await readBackend(ctx.settings);
    const git = localRunner();
    const repo = ctx.settings.BACKEND_DIR;
    const paths = [...backend.inputs.trees, ...backend.inputs.blobs];
    // --allow-dirty is about tracked files: a secret is never committed, so never dirty.
    const dirty = (await dirtyFiles(git, repo, paths)).filter((p) => !backend.inputs.secrets.includes(p));
    if (dirty.length && !ctx.options.allowDirty) {
      throw new UsageError(
        `Uncommitted changes in what the deploy builds and ships: ${dirty.join(', ')}. Commit them (or stash them), or rerun with --allow-dirty to build them as they are. Nothing was done.`,
      );
    }
    const head = await headRevision(git, repo);
    // In clean:all the inventory commits first: the build then takes the revision that commit makes.
    const by = earlier.backendCommitBy;
    const statement: RevisionStatement = by
      ? { kind: 'after-commit', base: head, by }
      : { kind: 'head', revision: head };
    const ids = by ? undefined : await contentIds(git, repo, backend.inputs, dirty);
    // The new tag's name only matters to rank it newest among the versions; pending until built.
    const newTag = by ? `${head}-next` : head;
    return planDeploy(
      await readDeploy(ctx, {
        backend,
        statement,
        contentKey: ids && keyOf(ids),
        fileIds: ids && shippedIds(backend, ids),
        allowedDirty: dirty,
        pushedOut: (state) => versionsPushedOut(ctx, state, newTag),
        // In clean:all the server task removes the deploy host's stopped containers: not repeated here.
        removedByServer: (earlier.removedContainers ?? []).flatMap((c) =>
          sameHost(c.host, ctx.settings.DEPLOY_HOST) ? [c.id] : [],
        ),
      }),
    );
  },

  async apply(plan, ctx) {
    return applyMeasured(plan, ctx, 'deploy:clean');
  },

  auditPlaces: (_plan, outcome, ctx) => deployAuditPlaces(outcome, ctx.settings),
});

if (isEntryPoint(import.meta.url)) {
  const { mode, args } = chooseMode(process.argv.slice(2));
  const task = {
    'deploy:clean': deployTask,
    'deploy:rollback': rollbackTask,
    'deploy:releases': releasesTask,
    'deploy:lock': lockTask,
  }[mode];
  const result = await runPipeline(mode, [task], args);
  process.exitCode = result.exitCode;
}
