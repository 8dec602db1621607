/**
 * The registry task's steps (tasks/registry.ts puts them in the plan's order): the undo of an
 * earlier run, the clean-up planned from every tag and what the hosts run, a registry left stopped
 * by a killed collection started first, and the apply: deletions journaled first, the collection,
 * then every kept tag checked to still pull.
 */
import { messageOf } from '../errors.ts';
import { hostPlaces } from '../operations/audit.ts';
import { emptyOutcome, type ApplyOutcome, type AuditPlace, type TaskContext } from '../task.ts';
import { applyRegistryPlan } from './apply.ts';
import { planLeftStopped, planRegistryCleanup } from './cleanup.ts';
import type { RegistryClient } from './client.ts';
import { collectionFigures } from './collection.ts';
import { registryGuard } from './guard.ts';
import { checkKeptTags } from './integrity.ts';
import { readJournal } from './journal.ts';
import type { RegistryPlan, RegistryState } from './plan.ts';
import { planRestore } from './restore.ts';
import {
  gcCommands,
  registryClient,
  registryHostRunner,
  registryInUseSettings,
  registrySettings,
  sshDefaults,
} from './settings.ts';

export const registryTaskSettings = { ...registrySettings, ...registryInUseSettings };

export type RegistryCtx = TaskContext<typeof registryTaskSettings>;

/** The plan, with the manifests it was read from: after apply, every kept tag is checked to pull from them. */
export interface RegistryTaskPlan extends RegistryPlan {
  manifests: RegistryState['manifests'];
}

/** One client per run, shared by plan, apply and check, so connections and tokens are reused. */
function clientOf(ctx: RegistryCtx): RegistryClient {
  return ctx.memo('registry:client', () => {
    const client = registryClient(ctx.settings);
    ctx.onClose(() => client.close());
    return client;
  });
}

/** `--restore REPORT`: the journal of the run named, against what the registry holds now. */
export async function planUndo(ctx: RegistryCtx, report: string): Promise<RegistryTaskPlan> {
  const { plan, state } = await planRestore(
    clientOf(ctx),
    readJournal(report),
    report,
    ctx.settings.REGISTRY_CONCURRENCY,
  );
  return { ...plan, manifests: state.manifests };
}

/**
 * Every tag read and decided by the policy, keeping what the hosts run or keep for rollback (read
 * over ssh first), and the collection when deletions leave garbage. A registry left stopped by a
 * killed collection is only looked at here (a dry run changes nothing): starting it is then the
 * plan's first item.
 */
export async function planCleanup(ctx: RegistryCtx): Promise<RegistryTaskPlan> {
  const s = ctx.settings;
  const guard = registryGuard(ctx);
  const stopped = gcCommands(s) ? await guard.stopped() : undefined;
  const lockNote = await guard.lockNote();
  if (stopped && !stopped.answers) {
    const { state, plan } = planLeftStopped(s, stopped, { collect: !ctx.options.noGc });
    if (lockNote) plan.notes.push(lockNote);
    return { ...plan, manifests: state.manifests };
  }
  const hosts = {
    deployHost: s.DEPLOY_HOST,
    deployDir: s.DEPLOY_DIR,
    serverHosts: s.SERVER_HOSTS,
    ssh: sshDefaults(s),
    force: ctx.options.force,
  };
  const { state, plan, requests } = await planRegistryCleanup(s, {
    client: clientOf(ctx),
    progress: ctx.progress,
    signal: ctx.signal,
    collect: !ctx.options.noGc,
    now: ctx.now,
    hosts,
  });
  if (lockNote && plan.changes.length) plan.notes.push(lockNote);
  if (stopped)
    plan.notes.push(
      `A collection marker of ${stopped.marker.run} (since ${stopped.marker.since}) is at ${stopped.markerPath}, ` +
        'but the registry answers: nothing to start.',
    );
  plan.figures.push({ label: 'requests', value: `${requests} to read the registry` });
  return { ...plan, manifests: state.manifests };
}

/**
 * Under the registry lock (one run at a time deletes and collects): each deletion journaled, then
 * made; the collection; then every kept tag checked to still pull, its manifest and every blob,
 * before a later task of a chain changes the registry. A registry failing request after request
 * stops the apply, as an interrupt would.
 */
export async function applyCleanup(plan: RegistryTaskPlan, ctx: RegistryCtx): Promise<ApplyOutcome> {
  const client = clientOf(ctx);
  const before = client.requests;
  const outcome = emptyOutcome();
  const guard = registryGuard(ctx);
  const { tookOver } = await guard.lock();
  if (tookOver) outcome.notes.push(tookOver);
  const stop = AbortSignal.any([ctx.signal, client.unavailable]);
  const concurrency = ctx.settings.REGISTRY_CONCURRENCY;
  const result = await applyRegistryPlan(client, plan, concurrency, stop, ctx.progress, guard.gcHooks());
  outcome.done.push(...result.done);
  outcome.failed.push(...result.failed);
  outcome.undo = result.journal;
  if (client.unavailable.aborted) {
    const notStarted = plan.changes.length - result.done.length - result.failed.length;
    outcome.failed.push({
      action: 'apply',
      target: client.base,
      error: `${messageOf(client.unavailable.reason)} ${notStarted} changes were not started.`,
    });
    return outcome;
  }
  outcome.figures.push({ label: 'requests to apply', value: String(client.requests - before) });
  if (result.collection) outcome.figures.push(...collectionFigures(result.collection));
  outcome.checks = await checkKeptTags(client, plan.keptTags, plan.manifests, concurrency);
  return outcome;
}

/** The registry host, when the collection ran there over ssh (deletions go through the API and change no host's files). */
export function collectionHost(outcome: ApplyOutcome, ctx: RegistryCtx): AuditPlace[] {
  const collected = outcome.done.some((change) => (change.op as { kind?: string }).kind === 'collect');
  const host = ctx.settings.REGISTRY_HOST;
  return collected && host ? hostPlaces([host], () => registryHostRunner(ctx.settings)) : [];
}
