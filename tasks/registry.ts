/**
 * Plan section 4: Docker registry clean-up.
 *
 *   1. Keep the last 3 versions of each image.
 *   2. Delete every test image (tags with a token test, temp or debug: test2, ci-test-3, temp_1;
 *      never latest, attestation, contest, temperature, hotfix-attempt-2).
 *   3. Keep the production images (latest and final in every repository; webhook-api:final,
 *      nginx-webhook:latest).
 *
 * Then garbage collection gives the space back, and every kept tag is checked to still pull.
 * Edit the policy below; the mechanisms live in lib/registry/.
 */
import { formatBytes } from '../lib/bytes.ts';
import { isEntryPoint, main } from '../lib/pipeline.ts';
import { defineTask, emptyOutcome, type Check, type TaskContext } from '../lib/task.ts';
import { ping } from '../lib/registry/api.ts';
import { applyRegistryPlan } from '../lib/registry/apply.ts';
import { garbageCollect } from '../lib/registry/gc.ts';
import { checkKeptTags } from '../lib/registry/integrity.ts';
import { planRegistry, type RegistryPlan, type RegistryState } from '../lib/registry/plan.ts';
import { needsCreationDates, rulesFor, type RegistryPolicy } from '../lib/registry/policy.ts';
import { readRegistry } from '../lib/registry/read.ts';
import type { RegistryClient } from '../lib/registry/client.ts';
import { gcCommands, registryClient, registryHostRunner, registrySettings, type RegistrySettings } from '../lib/registry/settings.ts';

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
  options: { policy?: RegistryPolicy; client?: RegistryClient; progress?: (m: string) => void; signal?: AbortSignal; repositories?: string[] } = {},
) {
  const policy = withSettings(options.policy ?? registryPolicy, settings);
  const client = options.client ?? registryClient(settings);
  try {
    const state = await readRegistry(client, {
      pageSize: settings.REGISTRY_CATALOG_PAGE_SIZE,
      concurrency: settings.REGISTRY_CONCURRENCY,
      needsDates: (repository, tags) => needsCreationDates(tags, rulesFor(policy, repository)),
      progress: options.progress,
      signal: options.signal,
      repositories: options.repositories,
    });
    return { state, plan: planRegistry(state, policy, settings.REGISTRY_SIZE_LIMIT), requests: client.requests };
  } finally {
    if (!options.client) await client.close();
  }
}

/** One client per run, shared by plan, apply and check, so connections and tokens are reused. */
function clientOf(ctx: TaskContext<typeof registrySettings>): RegistryClient {
  return ctx.memo('registry:client', () => {
    const client = registryClient(ctx.settings);
    ctx.onClose(() => client.close());
    return client;
  });
}

export const registryTask = defineTask({
  name: 'registry',
  title: 'Registry clean-up (plan section 4)',
  settings: registrySettings,

  async plan(ctx) {
    const { state, plan, requests } = await planRegistryCleanup(ctx.settings, { client: clientOf(ctx), progress: ctx.progress, signal: ctx.signal });
    ctx.memo('registry:planned', () => ({ state, plan }));
    plan.figures.push({ label: 'requests', value: `${requests} to read the registry` });
    if (!gcCommands(ctx.settings)) plan.notes.push('REGISTRY_GC_COMMAND is not set: deleted images stop being served, but their space comes back only after garbage collection on the registry host.');
    return plan;
  },

  async apply(plan, ctx) {
    const client = clientOf(ctx);
    const before = client.requests;
    const outcome = emptyOutcome();
    const result = await applyRegistryPlan(client, plan as RegistryPlan, ctx.settings.REGISTRY_CONCURRENCY, ctx.signal, ctx.progress);
    outcome.done.push(...result.done);
    outcome.failed.push(...result.failed);
    outcome.figures.push({ label: 'requests to apply', value: String(client.requests - before) });

    const gc = gcCommands(ctx.settings);
    if (gc && result.done.length) {
      ctx.progress('garbage collection: registry stopped, collecting, starting again');
      const runner = registryHostRunner(ctx.settings);
      ctx.onClose(() => runner.close());
      const collected = await garbageCollect(runner, gc, () => waitUntilServing(ctx.settings));
      if (collected.before !== undefined && collected.after !== undefined) {
        outcome.figures.push(
          { label: 'storage before GC', value: formatBytes(collected.before) },
          { label: 'storage after GC', value: formatBytes(collected.after) },
          { label: 'storage freed', value: formatBytes(collected.before - collected.after) },
        );
      }
    }
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

async function waitUntilServing(settings: RegistrySettings): Promise<void> {
  const client = registryClient({ ...settings, REGISTRY_RETRIES: 10 });
  try {
    await ping(client);
  } finally {
    await client.close();
  }
}

if (isEntryPoint(import.meta.url)) await main('clean:registry', [registryTask]);
