/**
 * Applies a deploy or rollback plan for a task: gathers what apply needs (the host, the builder,
 * the registry and its collection) and runs the steps with the downtime probe running, when a
 * front URL is set.
 */
import { hostname } from 'node:os';
import { localRunner } from '../runner.ts';
import { emptyOutcome, type ApplyOutcome, type AuditPlace } from '../task.ts';
import { waitUntilServing } from '../registry/api.ts';
import { collectionStateFile, markCollected, markCollectionPending } from '../registry/collection.ts';
import { garbageCollect } from '../registry/gc.ts';
import { gcCommands, registryClient, registryHostRunner } from '../registry/settings.ts';
import { applyDeploy, type DeployDeps } from './apply.ts';
import { plannedBackend } from './backend.ts';
import { deployRegistry, deployServer, imageRepository, type DeployCtx } from './context.ts';
import { takeDeployLock } from '../host/deploy-lock.ts';
import { describeDowntime, startDowntimeProbe } from './downtime.ts';
import type { DeployPlan } from './steps.ts';
import { join } from 'node:path';
import { serverRunner } from '../server/settings.ts';
import type { DeploySettings } from './settings.ts';

async function deps(ctx: DeployCtx, purpose: string, dirty: string[]): Promise<DeployDeps> {
  const server = await deployServer(ctx);
  const backend = await plannedBackend(ctx);
  const gc = gcCommands(ctx.settings);
  // The registry task's record of deletions that wait for a collection (lib/registry/collection.ts).
  const collectionState = collectionStateFile(ctx.settings.REGISTRY_STATE_DIR, ctx.settings.REGISTRY_URL);
  return {
    server,
    builder: {
      runner: localRunner(),
      dockerHost: ctx.settings.DEPLOY_BUILD_DOCKER_HOST,
      timeoutMs: ctx.settings.DEPLOY_BUILD_TIMEOUT_SECONDS * 1000,
    },
    repo: ctx.settings.BACKEND_DIR,
    projectDir: backend.projectDir,
    composeFile: backend.composeFile,
    image: ctx.settings.DEPLOY_IMAGE,
    repository: imageRepository(ctx.settings.DEPLOY_IMAGE),
    extraEnv: ctx.settings.DEPLOY_COMPOSE_ENV,
    contentInputs: backend.inputs,
    repoPath: backend.repoPath,
    shipped: backend.files,
    dirty,
    registry: deployRegistry(ctx),
    markCollectionPending: () =>
      markCollectionPending(collectionState, ctx.settings.REGISTRY_URL.origin, 0, 'deploy:clean'),
    async collect() {
      const result = await garbageCollect(registryHostRunner(ctx.settings), gc!, async () => {
        const client = registryClient(ctx.settings);
        await waitUntilServing(client).finally(() => client.close());
      });
      markCollected(collectionState, ctx.settings.REGISTRY_URL.origin, result.downtimeMs);
      return result.before !== undefined && result.after !== undefined
        ? `storage ${result.before} → ${result.after} bytes`
        : 'done';
    },
    probeTimeoutMs: ctx.settings.DEPLOY_HEALTH_PROBE_TIMEOUT_SECONDS * 1000,
    drainMs: ctx.settings.DEPLOY_DRAIN_SECONDS * 1000,
    run: `${purpose} pid ${process.pid} on ${hostname()}`,
    lock: () =>
      takeDeployLock(server.runner, server.dir, purpose, {
        waitSeconds: ctx.settings.DEPLOY_LOCK_WAIT_SECONDS,
        ttlSeconds: ctx.settings.DEPLOY_LOCK_TTL_SECONDS,
        force: ctx.options.force,
        progress: ctx.progress,
      }),
    onClose: (close) => ctx.onClose(close),
    progress: (m) => ctx.progress(m),
    signal: ctx.signal,
  };
}

/** Applies the steps with the downtime probe running, when a front URL is set. `purpose` is what the lock says the run does. */
export async function applyMeasured(plan: DeployPlan, ctx: DeployCtx, purpose: string): Promise<ApplyOutcome> {
  const outcome = emptyOutcome();
  const probe = ctx.settings.DEPLOY_PROBE_URL ? startDowntimeProbe(ctx.settings.DEPLOY_PROBE_URL) : undefined;
  try {
    await applyDeploy(plan.changes, await deps(ctx, purpose, plan.allowedDirty), outcome);
  } finally {
    if (probe) {
      const measured = await probe.stop();
      outcome.figures.push({ label: 'downtime', value: describeDowntime(measured) });
      outcome.charts = [measured.chart];
    }
  }
  if (!probe) outcome.notes.push('downtime not measured: set DEPLOY_PROBE_URL to the front URL');
  return outcome;
}

// Where a deploy or rollback leaves its audit line: in the deploy folder, beside deploy-state.json (Kamal
// keeps its log in the app's folder too).
export const deployAuditFile = 'cleanup-audit.jsonl';

export function deployAuditPlaces(outcome: ApplyOutcome, settings: DeploySettings): AuditPlace[] {
  if (!outcome.done.length && !outcome.failed.length) return [];
  return [
    {
      host: settings.DEPLOY_HOST,
      path: join(settings.DEPLOY_DIR, deployAuditFile),
      runner: () => serverRunner(settings, settings.DEPLOY_HOST),
    },
  ];
}
