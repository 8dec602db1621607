/**
 * Reads what a deploy plans from: the releases the host records, the project's containers, the
 * images there, whether it answers healthy, and the registry digests of the promoted and release
 * tags. Read only; the plan (lib/deploy/steps.ts) decides.
 */
import type { Change } from '../plan.ts';
import type { DeletionOp } from '../registry/plan.ts';
import { gcCommands } from '../registry/settings.ts';
import { mapLimitAll } from '../concurrency.ts';
import { UsageError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import type { Backend } from './backend.ts';
import { host } from './commands.ts';
import type { HostPath } from './compose-files.ts';
import { deployRegistry, deployServer, imageRepository, type DeployCtx } from './context.ts';
import * as deployer from './deployer.ts';
import { waitHealthy } from './health.ts';
import { readMarker } from './marker.ts';
import { deployLockState } from '../host/deploy-lock.ts';
import { holderStatus } from '../lock.ts';
import { paths, tagOf, type DeployState } from '../host/deploy-state.ts';
import type { DeployReading, RevisionStatement } from './steps.ts';

/** Digests of the promoted tags and of every retained release tag, as the registry has them now. */
async function registryDigests(ctx: DeployCtx, tags: string[]): Promise<Map<string, string>> {
  const repository = imageRepository(ctx.settings.DEPLOY_IMAGE);
  const unique = [...new Set(tags)];
  const digests = await mapLimitAll(unique, ctx.settings.REGISTRY_CONCURRENCY, (tag) =>
    deployer.registryDigest(deployRegistry(ctx), repository, tag),
  );
  return new Map(unique.flatMap((tag, i) => (digests[i] ? [[tag, digests[i]] as const] : [])));
}

export type ServerReading = Awaited<ReturnType<typeof readServer>>;

/** What the server has: releases, the project's containers, images, and whether it answers healthy. */
export async function readServer(ctx: DeployCtx) {
  const s = await deployServer(ctx);
  // First alone: it opens the ssh connection the reads below share, side by side.
  const state = await deployer.readState(s);
  const releaseTags = [state.current, ...state.previous].filter(Boolean).map((r) => tagOf(r!.image));
  const [containers, composeOnHost, hostImages, health, registryDigestsNow, marker, hostEnv, lock] = await Promise.all([
    deployer.projectContainers(s),
    deployer.composeOnHost(s),
    deployer.hostImageRefs(s),
    waitHealthy(ctx.settings.DEPLOY_HEALTH_URLS, 0, undefined, ctx.settings.DEPLOY_HEALTH_PROBE_TIMEOUT_SECONDS * 1000),
    registryDigests(ctx, [...ctx.settings.DEPLOY_EXTRA_TAGS, ...releaseTags]),
    readMarker(s.runner, s.dir),
    s.runner.run(host.read(paths(s.dir).env), { allowFailure: true }),
    deployLockState(s.runner, s.dir),
  ]);
  return {
    s,
    state,
    containers,
    composeOnHost,
    hostImages,
    healthy: health.healthy,
    registryDigests: registryDigestsNow,
    marker,
    hostEnv: hostEnv.stdout,
    lock,
  };
}

/**
 * Whether compose would find nothing to change besides the image: the compose file's id is the one
 * the serving release recorded, and the host's .env holds the DEPLOY_COMPOSE_ENV lines it will get
 * (the image and the blue/green port aside). Unknown (in clean:all, before the inventory's commit): false.
 */
function composeUnchanged(
  world: { state: DeployState; hostEnv: string },
  inputs: ReadingInputs,
  composeEnvLines: string[],
): boolean {
  const file = inputs.backend.composeFile;
  const id = inputs.fileIds?.[file];
  if (!id || world.state.current?.files?.[file] !== id) return false;
  const port = inputs.backend.rollout.secondPort?.key;
  const settings = (lines: string[]) =>
    lines
      .filter((line) => line && !line.startsWith('WEBHOOK_IMAGE=') && !(port && line.startsWith(`${port}=`)))
      .sort()
      .join('\n');
  return settings(world.hostEnv.split('\n')) === settings(composeEnvLines);
}

/** The port DEPLOY_SECOND_PORT's variable has in the host's .env: the one the serving release listens on. */
function servingPort(envText: string, key: string | undefined): { servingPort?: number } {
  const value =
    key &&
    envText
      .split('\n')
      .find((line) => line.startsWith(`${key}=`))
      ?.slice(key.length + 1);
  return value && /^\d+$/.test(value) ? { servingPort: Number(value) } : {};
}

/** The host's own paths the compose file mounts must be there: a missing one stops the plan (exit 2), naming it. */
async function hostPathsThere(runner: Runner, paths: HostPath[]): Promise<HostPath[]> {
  const missing: string[] = [];
  for (const p of paths)
    if ((await runner.run(host.exists(p.path), { allowFailure: true })).exitCode !== 0)
      missing.push(`${p.path} (${p.services.map((s) => `service ${s}`).join(', ')})`);
  if (missing.length)
    throw new UsageError(
      `The compose file mounts paths of the host that ${runner.name} does not have: ` +
        `${missing.join(', ')}. Create them there (they are the host's, never shipped), or ` +
        `change the compose file. Nothing was done.`,
    );
  return paths;
}

export interface ReadingInputs {
  backend: Backend;
  statement: RevisionStatement;
  contentKey?: string;
  fileIds?: Record<string, string>;
  allowedDirty: string[];
  /** The registry versions the new release pushes out of section 4's keep (none for a rollback). */
  pushedOut?: Change<DeletionOp>[];
  /** Containers the server task removes from the deploy host earlier in this run (clean:all). */
  removedByServer?: string[];
}

/** The deploy's reading: what to run (`inputs`) against what the server has (`world`, from readServer). */
export async function readDeploy(ctx: DeployCtx, inputs: ReadingInputs, world: ServerReading): Promise<DeployReading> {
  const s = ctx.settings;
  return {
    image: s.DEPLOY_IMAGE,
    repository: imageRepository(s.DEPLOY_IMAGE),
    host: world.s.runner.name,
    statement: inputs.statement,
    contentKey: inputs.contentKey,
    allowedDirty: inputs.allowedDirty,
    context: s.DEPLOY_BUILD_CONTEXT,
    dockerfile: s.DEPLOY_DOCKERFILE,
    composeFile: s.DEPLOY_COMPOSE_FILE,
    services: inputs.backend.services,
    files: inputs.backend.files,
    rollout: inputs.backend.rollout,
    ...servingPort(world.hostEnv, inputs.backend.rollout.secondPort?.key),
    composeUnchanged: composeUnchanged(world, inputs, s.DEPLOY_COMPOSE_ENV),
    fileIds: inputs.fileIds,
    hostPaths: await hostPathsThere(world.s.runner, inputs.backend.hostPaths),
    state: world.state,
    containers: world.containers,
    rollback: {
      composeProject: s.SERVER_COMPOSE_PROJECT,
      rollbackKeep: s.SERVER_ROLLBACK_KEEP,
      gracePeriodHours: s.SERVER_GRACE_HOURS,
      protectNames: s.SERVER_PROTECT_NAMES,
      protectLabels: s.SERVER_PROTECT_LABELS,
    },
    removedByServer: inputs.removedByServer ?? [],
    now: ctx.now,
    healthy: world.healthy,
    composeOnHost: world.composeOnHost,
    promoteTags: s.DEPLOY_EXTRA_TAGS,
    keep: s.DEPLOY_KEEP_RELEASES,
    healthUrls: s.DEPLOY_HEALTH_URLS,
    healthTimeoutSeconds: s.DEPLOY_HEALTH_TIMEOUT_SECONDS,
    drainSeconds: s.DEPLOY_DRAIN_SECONDS,
    registryDigests: world.registryDigests,
    hostImages: world.hostImages,
    pushedOut: inputs.pushedOut ?? [],
    canCollect: Boolean(gcCommands(s)),
    registryHost: s.REGISTRY_HOST ?? 'local',
    marker: world.marker,
    lockHolder: world.lock?.owner && holderStatus(world.lock.owner),
  };
}
