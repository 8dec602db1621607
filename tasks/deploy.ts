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
 * Also here, as Kamal has them: `deploy:rollback [VERSION]`, `deploy:releases`, `deploy:lock`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { hostname, userInfo } from 'node:os';
import { UsageError, TaskError } from '../lib/errors.ts';
import { isEntryPoint, runPipeline } from '../lib/pipeline.ts';
import { emptyPlan, type Plan } from '../lib/plan.ts';
import { localRunner, type Runner } from '../lib/runner.ts';
import { defineTask, emptyOutcome, type ApplyOutcome, type TaskContext } from '../lib/task.ts';
import { waitUntilServing } from '../lib/registry/api.ts';
import type { RegistryClient } from '../lib/registry/client.ts';
import { collectionStateFile, markCollected, markCollectionPending } from '../lib/registry/collection.ts';
import { garbageCollect } from '../lib/registry/gc.ts';
import { gcCommands, registryClient, registryHostRunner } from '../lib/registry/settings.ts';
import { serverRunner } from '../lib/server/settings.ts';
import { pushedOut } from '../lib/deploy/registry-versions.ts';
import { planRegistryCleanup, registryPolicy } from '../lib/registry/cleanup.ts';
import { detectCompose } from '../lib/server/state.ts';
import { applyDeploy, type DeployDeps } from '../lib/deploy/apply.ts';
import { checkSources, composeServices, composeSources, listFiles, type ShippedFile } from '../lib/deploy/compose-files.ts';
import { contentKey, dirtyFiles, headRevision, type ContentInputs } from '../lib/deploy/content.ts';
import * as deployer from '../lib/deploy/deployer.ts';
import { processAlive } from '../lib/lock.ts';
import { describeDowntime, startDowntimeProbe } from '../lib/deploy/downtime.ts';
import { waitHealthy } from '../lib/deploy/health.ts';
import { deploySettings, type DeploySettings } from '../lib/deploy/settings.ts';
import { findRelease, tagOf } from '../lib/deploy/state.ts';
import { planDeploy, planRollback, type DeployOp, type DeployReading, type RevisionStatement } from '../lib/deploy/steps.ts';

type Ctx = TaskContext<typeof deploySettings>;

/** registry.example:5000/team/webhook-api → team/webhook-api (the repository name in the registry API). */
export function imageRepository(image: string): string {
  const [first, ...rest] = image.split('/');
  return rest.length && /[.:]|^localhost$/.test(first) ? rest.join('/') : image;
}

async function server(ctx: Ctx): Promise<deployer.Server> {
  const runner = ctx.memo<Runner>('deploy:runner', () => {
    const r = serverRunner(ctx.settings, ctx.settings.DEPLOY_HOST);
    ctx.onClose(() => r.close());
    return r;
  });
  const found = await ctx.memo('deploy:compose', () => detectCompose(runner));
  if (!found) throw new TaskError(`${runner.name}: neither \`docker compose\` nor \`docker-compose\` is installed. Install one of them there.`);
  return { runner, dir: ctx.settings.DEPLOY_DIR, target: { compose: found, project: ctx.settings.SERVER_COMPOSE_PROJECT, file: join(ctx.settings.DEPLOY_DIR, 'docker-compose.yml') } };
}

function registry(ctx: Ctx): RegistryClient {
  return ctx.memo('deploy:registry', () => {
    const client = registryClient(ctx.settings);
    ctx.onClose(() => client.close());
    return client;
  });
}

/** The compose file, its project folder, the files it needs and what the content key hashes. */
function readBackend(settings: DeploySettings) {
  const composePath = join(settings.BACKEND_DIR, settings.DEPLOY_COMPOSE_FILE);
  if (!existsSync(composePath)) throw new UsageError(`DEPLOY_COMPOSE_FILE: ${composePath} does not exist. Set it to the compose file, relative to BACKEND_DIR.`);
  const text = readFileSync(composePath, 'utf8');
  const projectDir = dirname(composePath);
  const env = Object.fromEntries(settings.DEPLOY_COMPOSE_ENV.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  const needed = checkSources(projectDir, composeSources(text, env), (rel) => existsSync(join(projectDir, rel)));
  const files: ShippedFile[] = listFiles(projectDir, needed);
  const inRepo = (rel: string) => relative(settings.BACKEND_DIR, join(projectDir, rel)) || '.';
  const inputs: ContentInputs = {
    trees: [settings.DEPLOY_BUILD_CONTEXT],
    blobs: [`${settings.DEPLOY_BUILD_CONTEXT}/${settings.DEPLOY_DOCKERFILE}`, settings.DEPLOY_COMPOSE_FILE, ...files.map((f) => inRepo(f.path))],
  };
  return { projectDir, composeFile: basename(composePath), services: composeServices(text), files, inputs };
}

/** Digests of the promoted tags and of every retained release tag, as the registry has them now. */
async function registryDigests(ctx: Ctx, tags: string[]): Promise<Map<string, string>> {
  const repository = imageRepository(ctx.settings.DEPLOY_IMAGE);
  const map = new Map<string, string>();
  for (const tag of new Set(tags)) {
    const digest = await deployer.registryDigest(registry(ctx), repository, tag);
    if (digest) map.set(tag, digest);
  }
  return map;
}

/** What the server has: releases, the project's containers, images, and whether it answers healthy. */
async function readServer(ctx: Ctx) {
  const s = await server(ctx);
  const state = await deployer.readState(s);
  const releaseTags = [state.current, ...state.previous].filter(Boolean).map((r) => tagOf(r!.image));
  return {
    s,
    state,
    containers: await deployer.projectContainers(s),
    composeOnHost: await deployer.composeOnHost(s),
    hostImages: await deployer.hostImageRefs(s),
    healthy: (await waitHealthy(ctx.settings.DEPLOY_HEALTH_URLS, 0)).healthy,
    registryDigests: await registryDigests(ctx, [...ctx.settings.DEPLOY_EXTRA_TAGS, ...releaseTags]),
  };
}

/**
 * In `clean:all` the inventory plans first and commits before the deploy builds: the deploy then
 * states that it builds the revision that commit makes, on top of today's HEAD.
 */
function earlierCommit(ctx: Ctx): string | undefined {
  const inventory = ctx.memo<Plan | undefined>('inventory:plan', () => undefined);
  return inventory?.changes.length ? 'inventory' : undefined;
}

/**
 * The versions section 4 drops once the new release counts among the last ones; the retained
 * releases and the promoted tags are protected, since a rollback needs them.
 */
async function versionsPushedOut(ctx: Ctx, state: DeployReading['state'], newTag: string) {
  const repository = imageRepository(ctx.settings.DEPLOY_IMAGE);
  const retained = [state.current, ...state.previous].filter(Boolean).slice(0, ctx.settings.DEPLOY_KEEP_RELEASES - 1).map((r) => `${repository}:${tagOf(r!.image)}`);
  const policy = { ...registryPolicy, protect: [...registryPolicy.protect, ...retained, ...ctx.settings.DEPLOY_EXTRA_TAGS.map((t) => `${repository}:${t}`)] };
  const { state: registryState } = await planRegistryCleanup(ctx.settings, { repositories: [repository], policy, client: registry(ctx) });
  return pushedOut(registryState, repository, newTag, policy, Date.now());
}

async function reading(ctx: Ctx, backend: ReturnType<typeof readBackend>, statement: RevisionStatement, key: string | undefined, allowedDirty: string[], newTag?: string): Promise<DeployReading> {
  const world = await readServer(ctx);
  return {
    image: ctx.settings.DEPLOY_IMAGE,
    repository: imageRepository(ctx.settings.DEPLOY_IMAGE),
    host: world.s.runner.name,
    statement,
    contentKey: key,
    allowedDirty,
    context: ctx.settings.DEPLOY_BUILD_CONTEXT,
    dockerfile: ctx.settings.DEPLOY_DOCKERFILE,
    composeFile: ctx.settings.DEPLOY_COMPOSE_FILE,
    services: backend.services,
    files: backend.files,
    state: world.state,
    containers: world.containers,
    healthy: world.healthy,
    composeOnHost: world.composeOnHost,
    promoteTags: ctx.settings.DEPLOY_EXTRA_TAGS,
    keep: ctx.settings.DEPLOY_KEEP_RELEASES,
    healthUrls: ctx.settings.DEPLOY_HEALTH_URLS,
    healthTimeoutSeconds: ctx.settings.DEPLOY_HEALTH_TIMEOUT_SECONDS,
    registryDigests: world.registryDigests,
    hostImages: world.hostImages,
    pushedOut: newTag ? await versionsPushedOut(ctx, world.state, newTag) : [],
    canCollect: Boolean(gcCommands(ctx.settings)),
  };
}

/** What apply needs to carry the steps out. */
async function deps(ctx: Ctx, dirty: string[]): Promise<DeployDeps> {
  const backend = readBackend(ctx.settings);
  const gc = gcCommands(ctx.settings);
  // The registry task's record of deletions that wait for a collection (lib/registry/collection.ts).
  const collectionState = collectionStateFile(ctx.settings.REGISTRY_STATE_DIR, ctx.settings.REGISTRY_URL);
  return {
    server: await server(ctx),
    builder: localRunner(),
    builderDockerHost: ctx.settings.DEPLOY_BUILD_DOCKER_HOST,
    repo: ctx.settings.BACKEND_DIR,
    projectDir: backend.projectDir,
    composeFile: backend.composeFile,
    image: ctx.settings.DEPLOY_IMAGE,
    repository: imageRepository(ctx.settings.DEPLOY_IMAGE),
    extraEnv: ctx.settings.DEPLOY_COMPOSE_ENV,
    contentInputs: backend.inputs,
    dirty,
    registry: registry(ctx),
    markCollectionPending: () => markCollectionPending(collectionState, ctx.settings.REGISTRY_URL.origin, 0, 'deploy:clean'),
    async collect() {
      const result = await garbageCollect(registryHostRunner(ctx.settings), gc!, async () => {
        const client = registryClient(ctx.settings);
        await waitUntilServing(client).finally(() => client.close());
      });
      markCollected(collectionState, ctx.settings.REGISTRY_URL.origin, result.downtimeMs);
      return result.before !== undefined && result.after !== undefined ? `storage ${result.before} → ${result.after} bytes` : 'done';
    },
    owner: deployer.describeHolder({ user: userInfo().username, host: hostname(), pid: process.pid, since: new Date().toISOString() }),
    onClose: (close) => ctx.onClose(close),
    progress: (m) => ctx.progress(m),
    signal: ctx.signal,
  };
}

/** Applies the steps with the downtime probe running, when a front URL is set. */
async function applyMeasured(plan: Plan<DeployOp>, ctx: Ctx, dirty: string[]): Promise<ApplyOutcome> {
  const outcome = emptyOutcome();
  const probe = ctx.settings.DEPLOY_PROBE_URL ? startDowntimeProbe(ctx.settings.DEPLOY_PROBE_URL) : undefined;
  try {
    await applyDeploy(plan.changes, await deps(ctx, dirty), outcome);
  } finally {
    if (probe) outcome.figures.push({ label: 'downtime', value: describeDowntime(await probe.stop()) });
  }
  if (!probe) outcome.notes.push('downtime not measured: set DEPLOY_PROBE_URL to the front URL');
  return outcome;
}

export const deployTask = defineTask({
  name: 'deploy',
  title: 'Clean deploy of the webhook API + nginx (plan section 6)',
  settings: deploySettings,
  options: { 'allow-dirty': { type: 'boolean', help: 'build uncommitted changes in the build context (the plan says so; the tag gets -dirty)' } },
  dependsOn: ['server'],

  async plan(ctx) {
    const backend = readBackend(ctx.settings);
    const git = localRunner();
    const repo = ctx.settings.BACKEND_DIR;
    const paths = [...backend.inputs.trees, ...backend.inputs.blobs];
    const dirty = await dirtyFiles(git, repo, paths);
    if (dirty.length && !ctx.options.allowDirty) {
      throw new UsageError(`Uncommitted changes in what the deploy builds and ships: ${dirty.join(', ')}. Commit them (or stash them), or rerun with --allow-dirty to build them as they are. Nothing was done.`);
    }
    ctx.memo('deploy:dirty', () => dirty);
    const head = await headRevision(git, repo);
    const by = earlierCommit(ctx);
    const statement: RevisionStatement = by ? { kind: 'after-commit', base: head, by } : { kind: 'head', revision: head };
    const key = by ? undefined : await contentKey(git, repo, backend.inputs, dirty);
    // The new tag's name only matters to rank it newest among the versions; pending until built.
    return planDeploy(await reading(ctx, backend, statement, key, dirty, by ? `${head}-next` : head));
  },

  async apply(plan, ctx) {
    return applyMeasured(plan, ctx, ctx.memo<string[]>('deploy:dirty', () => []));
  },
});

export const rollbackTask = defineTask({
  name: 'deploy',
  title: 'Rollback to a retained release (deploy:rollback [VERSION])',
  settings: deploySettings,
  options: { to: { type: 'string', help: 'the release to boot: its tag or revision (default: the one before the current)' } },

  async plan(ctx) {
    const backend = readBackend(ctx.settings);
    const read = await reading(ctx, backend, { kind: 'head', revision: '' }, undefined, []);
    const wanted = ctx.options.to as string | undefined;
    const release = findRelease(read.state, wanted);
    if (!release) {
      const retained = [read.state.current, ...read.state.previous].filter(Boolean).map((r) => tagOf(r!.image));
      throw new UsageError(wanted ? `${wanted} is not a retained release. Retained: ${retained.join(', ') || 'none'} (see npm run deploy:releases).` : `No previous release is recorded on ${read.host}, so there is nothing to roll back to.`);
    }
    if (release.image === read.state.current?.image && read.healthy) {
      const plan = emptyPlan<DeployOp>('deploy');
      plan.kept.push({ host: read.host, target: release.image, reason: 'already serving, healthy' });
      return plan;
    }
    return planRollback(read, release);
  },

  async apply(plan, ctx) {
    return applyMeasured(plan, ctx, []);
  },
});

type LockOp = { kind: 'release-lock'; holder: string };

export const releasesTask = defineTask({
  name: 'deploy-releases',
  title: 'Releases kept for rollback (deploy:releases)',
  settings: deploySettings,
  async plan(ctx) {
    const plan = emptyPlan<never>('deploy-releases');
    const world = await readServer(ctx);
    const repository = imageRepository(ctx.settings.DEPLOY_IMAGE);
    const promoted = (digest?: string) => ctx.settings.DEPLOY_EXTRA_TAGS.filter((t) => digest && world.registryDigests.get(t) === digest);
    for (const [i, r] of [world.state.current, ...world.state.previous].filter(Boolean).entries()) {
      const tags = promoted(r!.digest);
      plan.kept.push({ host: world.s.runner.name, target: `${repository}:${tagOf(r!.image)} ${r!.digest ?? '(digest unknown)'}`, reason: `revision ${r!.revision}, deployed ${r!.deployedAt}${i === 0 ? ', SERVING' : ''}${tags.length ? `, ${tags.join(' and ')} point here` : ''}` });
    }
    if (!plan.kept.length) plan.notes.push(`no release is recorded on ${world.s.runner.name}`);
    return plan;
  },
  async apply() {
    return emptyOutcome();
  },
});

export const lockTask = defineTask({
  name: 'deploy-lock',
  title: 'The deploy lock (deploy:lock [--release])',
  settings: deploySettings,
  options: { release: { type: 'boolean', help: 'release a lock whose holder is gone (another machine\'s: with --force)' } },
  async plan(ctx) {
    const plan = emptyPlan<LockOp>('deploy-lock');
    const s = await server(ctx);
    const held = await deployer.lockHolder(s);
    if (!held) {
      plan.kept.push({ host: s.runner.name, target: 'deploy lock', reason: 'free: no deploy holds it' });
      return plan;
    }
    plan.figures.push({ label: 'held by', value: held.text });
    if (!ctx.options.release) return plan;
    const h = held.holder;
    const here = h && h.host === hostname();
    const alive = here && processAlive(h.pid);
    if (alive) plan.refused.push({ target: 'deploy lock', reason: `its holder, pid ${h!.pid} on this machine, is still running`, remedy: 'wait for that deploy to finish' });
    else if (!here && !ctx.options.force) plan.refused.push({ target: 'deploy lock', reason: `held from ${h ? h.host : 'an unknown machine'}: whether its holder still runs cannot be seen from here`, remedy: 'check there, then rerun with --force' });
    else plan.changes.push({ action: 'release lock', target: `${s.runner.name} deploy lock`, reason: here ? `its holder, pid ${h!.pid} on this machine, is gone` : 'asked with --force', bytes: 0, host: s.runner.name, op: { kind: 'release-lock', holder: held.text } });
    return plan;
  },
  async apply(plan, ctx) {
    const outcome = emptyOutcome();
    for (const change of plan.changes) {
      await deployer.unlock(await server(ctx));
      outcome.done.push(change);
    }
    return outcome;
  },
});

/**
 * One file, four commands: the first flag names which. `deploy:rollback -- VERSION` takes the
 * version as a positional word, written here as `--to VERSION` for the common flag parser.
 */
const commands = {
  '--rollback': { name: 'deploy:rollback', task: rollbackTask },
  '--releases': { name: 'deploy:releases', task: releasesTask },
  '--lock': { name: 'deploy:lock', task: lockTask },
} as const;

if (isEntryPoint(import.meta.url)) {
  const argv = process.argv.slice(2);
  const chosen = commands[argv[0] as keyof typeof commands];
  const rest = chosen ? argv.slice(1) : argv;
  const positional = chosen?.task === rollbackTask ? rest.findIndex((a, i) => !a.startsWith('-') && !(i > 0 && ['--env-file', '--settings-file', '--to'].includes(rest[i - 1]))) : -1;
  const args = positional >= 0 ? [...rest.slice(0, positional), '--to', rest[positional], ...rest.slice(positional + 1)] : rest;
  const result = await runPipeline(chosen?.name ?? 'deploy:clean', [chosen?.task ?? deployTask], args);
  process.exitCode = result.exitCode;
}
