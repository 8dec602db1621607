/**
 * Plan section 4: Docker registry clean-up.
 *
 *   1. Keep the last 3 versions of each image.
 *   2. Delete every test image (tags with a token test, temp or debug: test2, ci-test-3, temp_1;
 *      never latest, attestation, contest, temperature, hotfix-attempt-2).
 *   3. Keep the production images (latest and final in every repository; webhook-api:final,
 *      nginx-webhook:latest).
 *
 * And what the deploy host and the servers run or keep for rollback is never deleted (read over
 * ssh before planning). Deleting an index takes its children no kept image needs. Garbage
 * collection, a planned step of its own, gives the space back; every kept tag is then checked to
 * still pull. Each deletion is journaled first, so `--restore REPORT` undoes a run until then.
 * The policy is lib/registry/cleanup-policy.ts, in the plan's words; the mechanisms live in
 * lib/registry/ too (the plan phase, shared with deploy and verify: lib/registry/cleanup.ts).
 */
import { messageOf } from '../lib/errors.ts';
import { isEntryPoint, main } from '../lib/pipeline/run.ts';
import { defineTask, emptyOutcome, type TaskContext } from '../lib/task.ts';
import { applyRegistryPlan } from '../lib/registry/apply.ts';
import { planLeftStopped, planRegistryCleanup } from '../lib/registry/cleanup.ts';
import { collectionFigures } from '../lib/registry/collection.ts';
import { registryGuard } from '../lib/registry/guard.ts';
import { checkKeptTags } from '../lib/registry/integrity.ts';
import type { RegistryPlan, RegistryState } from '../lib/registry/plan.ts';
import type { RegistryClient } from '../lib/registry/client.ts';
import {
  gcCommands,
  registryClient,
  registryHostRunner,
  registryInUseSettings,
  registrySettings,
  sshDefaults,
} from '../lib/registry/settings.ts';
import { readJournal } from '../lib/registry/journal.ts';
import { planRestore } from '../lib/registry/restore.ts';
import { hostPlaces } from '../lib/operations/audit.ts';

/** One client per run, shared by plan, apply and check, so connections and tokens are reused. */
function clientOf(ctx: TaskContext<typeof registryTaskSettings>): RegistryClient {
  return ctx.memo('registry:client', () => {
    const client = registryClient(ctx.settings);
    ctx.onClose(() => client.close());
    return client;
  });
}

const registryTaskSettings = { ...registrySettings, ...registryInUseSettings };

/** The plan, with the manifests it was read from: after apply, every kept tag is checked to pull from them. */
interface RegistryTaskPlan extends RegistryPlan {
  manifests: RegistryState['manifests'];
}

export const registryTask = defineTask({
  name: 'registry',
  title: 'Registry clean-up (plan section 4)',
  settings: registryTaskSettings,
  options: {
    'no-gc': {
      type: 'boolean',
      help: 'delete now, collect garbage in a later run (the run stays undoable until then)',
    },
    restore: {
      type: 'string',
      alone: true,
      help: 'put back what the run of this report deleted (until garbage collection removed its blobs)',
    },
  },

  async plan(ctx): Promise<RegistryTaskPlan> {
    const s = ctx.settings;
    if (typeof ctx.options.restore === 'string') {
      // Undo: the journal of the run named, against what the registry holds now.
      const { plan, state } = await planRestore(
        clientOf(ctx),
        readJournal(ctx.options.restore),
        ctx.options.restore,
        s.REGISTRY_CONCURRENCY,
      );
      return { ...plan, manifests: state.manifests };
    }
    // A run killed while the registry was stopped for collection: planning only looks (a dry run
    // and --check change nothing); starting it is the plan's first item when it does not answer.
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
        `A collection marker of ${stopped.marker.run} (since ${stopped.marker.since}) is at ${stopped.markerPath}, but the registry answers: nothing to start.`,
      );
    plan.figures.push({ label: 'requests', value: `${requests} to read the registry` });
    return { ...plan, manifests: state.manifests };
  },

  async apply(plan, ctx) {
    const client = clientOf(ctx);
    const before = client.requests;
    const outcome = emptyOutcome();
    // One run at a time deletes and collects: another waits, then stops naming who holds the lock.
    const guard = registryGuard(ctx);
    const { tookOver } = await guard.lock();
    if (tookOver) outcome.notes.push(tookOver);
    // A registry failing request after request stops the apply, as an interrupt would.
    const stop = AbortSignal.any([ctx.signal, client.unavailable]);
    const result = await applyRegistryPlan(
      client,
      plan,
      ctx.settings.REGISTRY_CONCURRENCY,
      stop,
      ctx.progress,
      guard.gcHooks(),
    );
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
    // After apply (and GC), every tag the plan kept must still pull: its manifest and every blob. Measured
    // here, before a later task of a chain changes the registry.
    outcome.checks = await checkKeptTags(client, plan.keptTags, plan.manifests, ctx.settings.REGISTRY_CONCURRENCY);
    return outcome;
  },

  /** The registry host, when the collection ran there over ssh (deletions go through the API and change no host's files). */
  auditPlaces(_plan, outcome, ctx) {
    const collected = outcome.done.some((change) => (change.op as { kind?: string }).kind === 'collect');
    const host = ctx.settings.REGISTRY_HOST;
    return collected && host ? hostPlaces([host], () => registryHostRunner(ctx.settings)) : [];
  },
});

if (isEntryPoint(import.meta.url)) await main('clean:registry', [registryTask]);
