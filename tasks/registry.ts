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
 * Edit the policy below; the mechanisms live in lib/registry/.
 */
import { join } from 'node:path';
import { messageOf } from '../lib/errors.ts';
import { isEntryPoint, main } from '../lib/pipeline.ts';
import { defineTask, emptyOutcome, type Check, type TaskContext } from '../lib/task.ts';
import { applyRegistryPlan } from '../lib/registry/apply.ts';
import { addCollectionStep, collectionFigures, collectionStateFile, readCollectionState } from '../lib/registry/collection.ts';
import { registryGuard } from '../lib/registry/guard.ts';
import { checkKeptTags } from '../lib/registry/integrity.ts';
import { planRegistry, type RegistryPlan, type RegistryState } from '../lib/registry/plan.ts';
import { needsCreationDates, rulesFor, type RegistryPolicy } from '../lib/registry/policy.ts';
import { readRegistry } from '../lib/registry/read.ts';
import type { RegistryClient } from '../lib/registry/client.ts';
import { diskUsage } from '../lib/registry/storage.ts';
import { gcCommands, registryClient, registryHostRunner, registryInUseSettings, registrySettings, sshDefaults, type RegistrySettings } from '../lib/registry/settings.ts';
import { readJournal } from '../lib/registry/journal.ts';
import { planRestore } from '../lib/registry/restore.ts';
import { readHostsInUse, registryNames, type HostsToRead } from '../lib/registry/in-use.ts';

export const registryPolicy: RegistryPolicy = {
  // 1. Keep the last 3 versions of each image (semver order; otherwise the image's creation date).
  keepVersions: 3,
  // 2. Delete every test image: a tag split on - _ . with a part that is one of these tokens,
  //    optionally followed by digits (test, test2, ci-test-3, temp_1, debug.4). A token inside a
  //    word is no match: latest, attestation, contest, temperature, hotfix-attempt-2 are not tests.
  //    REGISTRY_DELETE_TAG_TOKENS replaces this list.
  deleteTagTokens: ['test', 'temp', 'debug'],
  // 3. Keep the production images, whatever rules 1 and 2 say. REGISTRY_PROTECT_TAGS (default
  //    latest,final) protects those tags in every repository; these pairs are protected besides.
  protect: ['webhook-api:final', 'nginx-webhook:latest'],
  // Per-repository exceptions, for example: { 'nginx-webhook': { keepVersions: 5 } }.
  repositories: {},
};

/** The policy with what the settings add: the tags protected everywhere, and the delete tokens when set. */
export function withSettings(policy: RegistryPolicy, settings: Pick<RegistrySettings, 'REGISTRY_PROTECT_TAGS' | 'REGISTRY_DELETE_TAG_TOKENS'>): RegistryPolicy {
  return {
    ...policy,
    protectTags: [...new Set([...(policy.protectTags ?? []), ...settings.REGISTRY_PROTECT_TAGS])],
    deleteTagTokens: settings.REGISTRY_DELETE_TAG_TOKENS ?? policy.deleteTagTokens,
  };
}

/** Reads the registry and plans against the policy: the plan phase, callable on its own. */
export async function planRegistryCleanup(
  settings: RegistrySettings,
  options: {
    policy?: RegistryPolicy;
    client?: RegistryClient;
    progress?: (m: string) => void;
    signal?: AbortSignal;
    repositories?: string[];
    /** Plan the garbage collection when deletions leave garbage (default true; false is --no-gc). */
    collect?: boolean;
    /** Who deletes, as the record of pending collection names it. */
    by?: string;
    /** Read what these hosts run or keep for rollback first, and keep it (in use means kept). */
    hosts?: HostsToRead;
  } = {},
) {
  const policy = withSettings(options.policy ?? registryPolicy, settings);
  const client = options.client ?? registryClient(settings);
  try {
    const inUse = options.hosts ? await readHostsInUse(options.hosts, registryNames(settings.REGISTRY_URL, settings.REGISTRY_ALIASES), options.progress) : undefined;
    const state = await readRegistry(client, {
      pageSize: settings.REGISTRY_CATALOG_PAGE_SIZE,
      concurrency: settings.REGISTRY_CONCURRENCY,
      needsDates: (repository, tags) => needsCreationDates(tags, rulesFor(policy, repository)),
      progress: options.progress,
      signal: options.signal,
      repositories: options.repositories,
    });
    const plan = planRegistry(state, policy, settings.REGISTRY_SIZE_LIMIT, Date.now(), inUse?.refs);
    if (inUse) describeHostsRead(plan, inUse);
    // Collection: when this plan deletes, or earlier deletions (a deploy's) wait for it.
    const registry = settings.REGISTRY_URL.origin;
    const stateFile = collectionStateFile(settings.REGISTRY_STATE_DIR, settings.REGISTRY_URL);
    const collection = readCollectionState(stateFile, registry);
    const gc = gcCommands(settings);
    const host = settings.REGISTRY_HOST || 'local';
    addCollectionStep(plan, gc && { collect: options.collect ?? true, state: collection, manifests: state.manifests.size, host, ssh: sshDefaults(settings), commands: gc, stateFile }, collection.pending);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    plan.bookkeeping = { registry, stateFile, journalFile: join(settings.REGISTRY_STATE_DIR, `undo-${stamp}.jsonl`), by: options.by ?? 'clean:registry' };
    return { state, plan, requests: client.requests };
  } finally {
    if (!options.client) await client.close();
  }
}

function describeHostsRead(plan: RegistryPlan, inUse: { refs: unknown[]; read: string[]; unread: string[] }): void {
  if (inUse.read.length) plan.figures.push({ label: 'hosts read', value: `${inUse.read.join(', ')}: ${inUse.refs.length} references to this registry kept (running or kept containers, retained releases)` });
  else if (!inUse.unread.length) plan.notes.push('Neither DEPLOY_HOST nor SERVER_HOSTS is set: what the Docker hosts run is not known, so only the policy protects images. Set them to keep what runs.');
  for (const problem of inUse.unread) plan.notes.push(`--force: planned WITHOUT knowing what this host runs (it could not be read), so an image it runs may be deleted: ${problem}`);
}

/**
 * The registry's size for plan section 7: measured on its storage on disk (REGISTRY_STORAGE_PATH
 * on REGISTRY_HOST), else, when no storage path is given, the unique blobs its tags reference.
 */
export async function measureRegistrySize(settings: RegistrySettings): Promise<{ bytes: number; basis: string }> {
  if (settings.REGISTRY_STORAGE_PATH) {
    const runner = registryHostRunner(settings);
    try {
      return { bytes: await diskUsage(runner, settings.REGISTRY_STORAGE_PATH), basis: `storage on disk, du -sb ${settings.REGISTRY_STORAGE_PATH} on ${runner.name}` };
    } finally {
      await runner.close();
    }
  }
  const { plan } = await planRegistryCleanup(settings, { collect: false });
  return { bytes: plan.sizeNow, basis: 'unique blobs of every tag; set REGISTRY_STORAGE_PATH to measure the storage on disk' };
}

/** One client per run, shared by plan, apply and check, so connections and tokens are reused. */
function clientOf(ctx: TaskContext<typeof registryTaskSettings>): RegistryClient {
  return ctx.memo('registry:client', () => {
    const client = registryClient(ctx.settings);
    ctx.onClose(() => client.close());
    return client;
  });
}

const registryTaskSettings = { ...registrySettings, ...registryInUseSettings };

export const registryTask = defineTask({
  name: 'registry',
  title: 'Registry clean-up (plan section 4)',
  settings: registryTaskSettings,
  options: {
    'no-gc': { type: 'boolean', help: 'delete now, collect garbage in a later run (the run stays undoable until then)' },
    restore: { type: 'string', alone: true, help: 'put back what the run of this report deleted (until garbage collection removed its blobs)' },
  },

  async plan(ctx) {
    const s = ctx.settings;
    if (typeof ctx.options.restore === 'string') {
      // Undo: the journal of the run named, against what the registry holds now.
      const { plan, state } = await planRestore(clientOf(ctx), readJournal(ctx.options.restore), ctx.options.restore, s.REGISTRY_CONCURRENCY);
      ctx.memo('registry:planned', () => ({ state, plan }));
      return plan;
    }
    // A run killed while the registry was stopped for collection: start it again first.
    const gc = gcCommands(s);
    const recovered = gc && (await registryGuard(ctx).recoverStopped(gc));
    const hosts = { deployHost: s.DEPLOY_HOST, deployDir: s.DEPLOY_DIR, serverHosts: s.SERVER_HOSTS, ssh: sshDefaults(s), force: ctx.options.force };
    const { state, plan, requests } = await planRegistryCleanup(s, { client: clientOf(ctx), progress: ctx.progress, signal: ctx.signal, collect: !ctx.options.noGc, hosts });
    if (recovered) plan.notes.push(recovered);
    ctx.memo('registry:planned', () => ({ state, plan }));
    plan.figures.push({ label: 'requests', value: `${requests} to read the registry` });
    return plan;
  },

  async apply(plan, ctx) {
    const client = clientOf(ctx);
    const before = client.requests;
    const outcome = emptyOutcome();
    // One run at a time deletes and collects: another waits, then stops naming who holds the lock.
    const guard = registryGuard(ctx);
    await guard.lock();
    // A registry failing request after request stops the apply, as an interrupt would.
    const stop = AbortSignal.any([ctx.signal, client.unavailable]);
    const result = await applyRegistryPlan(client, plan as RegistryPlan, ctx.settings.REGISTRY_CONCURRENCY, stop, ctx.progress, guard.gcHooks());
    outcome.done.push(...result.done);
    outcome.failed.push(...result.failed);
    outcome.undo = result.journal;
    if (client.unavailable.aborted) {
      const notStarted = plan.changes.length - result.done.length - result.failed.length;
      outcome.failed.push({ action: 'apply', target: client.base, error: `${messageOf(client.unavailable.reason)} ${notStarted} changes were not started.` });
      return outcome;
    }
    outcome.figures.push({ label: 'requests to apply', value: String(client.requests - before) });
    if (result.collection) outcome.figures.push(...collectionFigures(result.collection));
    // After apply (and GC), every tag the plan kept must still pull: its manifest and every blob.
    const planned = ctx.memo<{ state: RegistryState; plan: RegistryPlan } | undefined>('registry:planned', () => undefined);
    if (planned) {
      const integrity = await checkKeptTags(client, planned.plan.keptTags, planned.state.manifests, ctx.settings.REGISTRY_CONCURRENCY);
      ctx.memo('registry:integrity', () => integrity);
    }
    return outcome;
  },

  async check(ctx) {
    // Measured at the end of apply, before any later task of a chain changes the registry.
    return ctx.memo<Check[]>('registry:integrity', () => []);
  },
});

if (isEntryPoint(import.meta.url)) await main('clean:registry', [registryTask]);
