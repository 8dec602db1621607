/**
 * The plan phase of the registry clean-up, shared by tasks/registry.ts, the deploy's registry
 * step, verify's size criterion and the bench: read what the hosts run, read the registry, plan
 * against the policy, add the garbage collection.
 */
import { messageOf } from '../errors.ts';
import { join } from 'node:path';
import { registryPolicy } from './cleanup-policy.ts';
import { addCollectionStep, collectionStateFile, readCollectionState } from './collection.ts';
import type { RegistryClient } from './client.ts';
import { readHostsInUse, registryNames, type HostsToRead } from './in-use.ts';
import { emptyPlan } from '../plan.ts';
import type { GcMarker } from './gc.ts';
import { mayRemove, planRegistry, type RegistryOp, type RegistryPlan, type RegistryState } from './plan.ts';
import { leftStoppedBy, startRegistryItem } from './recovery.ts';
import { needsCreationDates, rulesFor, type RegistryPolicy } from './policy.ts';
import { readRegistry } from './read.ts';
import { gcCommands, registryClient, registryHostRunner, sshDefaults, type RegistrySettings } from './settings.ts';
import { diskUsage, volumeBytes } from './storage.ts';

/** The policy planned against unless another is given (the deploy's registry step names it too). */
export { registryPolicy };

/** The policy with what the settings add: the tags protected everywhere, the delete tokens when set, the age floor. */
export function withSettings(
  policy: RegistryPolicy,
  settings: Pick<RegistrySettings, 'REGISTRY_PROTECT_TAGS' | 'REGISTRY_DELETE_TAG_TOKENS' | 'REGISTRY_MIN_AGE_HOURS'>,
): RegistryPolicy {
  return {
    ...policy,
    minAgeHours: settings.REGISTRY_MIN_AGE_HOURS,
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
    /** The time ages are judged at (default: now). */
    now?: number;
    /** Read what these hosts run or keep for rollback first, and keep it (in use means kept). */
    hosts?: HostsToRead;
  } = {},
) {
  const policy = withSettings(options.policy ?? registryPolicy, settings);
  const client = options.client ?? registryClient(settings);
  try {
    const inUse = options.hosts
      ? await readHostsInUse(
          options.hosts,
          registryNames(settings.REGISTRY_URL, settings.REGISTRY_ALIASES),
          options.progress,
        )
      : undefined;
    const now = options.now ?? Date.now();
    const state = await readRegistry(client, {
      pageSize: settings.REGISTRY_CATALOG_PAGE_SIZE,
      concurrency: settings.REGISTRY_CONCURRENCY,
      needsDates: (repository, tags) => needsCreationDates(tags, rulesFor(policy, repository), now),
      keepBytesOf: (repository, tags, manifests) => mayRemove(repository, tags, manifests, policy, now, inUse?.refs),
      progress: options.progress,
      signal: options.signal,
      repositories: options.repositories,
    });
    const plan = planRegistry(state, policy, settings.REGISTRY_SIZE_LIMIT, now, inUse?.refs);
    // The deletions carry the bytes they need now; the rest is not held for the run.
    state.bytes = undefined;
    if (inUse) describeHostsRead(plan, inUse);
    addCollectionAndBookkeeping(plan, settings, state.manifests.size, options);
    return { state, plan, requests: client.requests };
  } finally {
    if (!options.client) await client.close();
  }
}

/** Collection: when this plan deletes, or earlier deletions (a deploy's) wait for it; and where apply keeps its records. */
function addCollectionAndBookkeeping(
  plan: RegistryPlan,
  settings: RegistrySettings,
  manifests: number,
  options: { collect?: boolean; by?: string },
): void {
  const registry = settings.REGISTRY_URL.origin;
  const stateFile = collectionStateFile(settings.REGISTRY_STATE_DIR, settings.REGISTRY_URL);
  const collection = readCollectionState(stateFile, registry);
  const gc = gcCommands(settings);
  addCollectionStep(
    plan,
    gc && {
      collect: options.collect ?? true,
      state: collection,
      manifests,
      host: settings.REGISTRY_HOST || 'local',
      ssh: sshDefaults(settings),
      commands: gc,
      stateFile,
    },
    collection.pending,
  );
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  plan.bookkeeping = {
    registry,
    stateFile,
    journalFile: join(settings.REGISTRY_STATE_DIR, `undo-${stamp}.jsonl`),
    by: options.by ?? 'clean:registry',
  };
}

/**
 * The plan while a killed run's collection left the registry stopped: its tags cannot be read,
 * so starting it is the first item, then the collection that run left pending; the tags are
 * planned by the next run, once it serves. Without a start command nothing can start it: refused.
 */
export function planLeftStopped(
  settings: RegistrySettings,
  stopped: { marker: GcMarker; markerPath: string },
  options: { collect?: boolean } = {},
): { state: RegistryState; plan: RegistryPlan; requests: number } {
  const plan: RegistryPlan = { ...emptyPlan<RegistryOp>('registry'), keptTags: [], sizeNow: 0, sizeAfter: 0 };
  const state: RegistryState = { repositories: new Map(), manifests: new Map() };
  const start = gcCommands(settings)?.start;
  const host = settings.REGISTRY_HOST || 'local';
  if (!start) {
    plan.refused.push({
      target: `${settings.REGISTRY_URL.origin} on ${host}`,
      reason: `the registry was ${leftStoppedBy(stopped.marker)} and does not answer, but REGISTRY_GC_START_COMMAND is empty, so this run cannot start it`,
      remedy:
        `start the registry by hand, or set ` +
        `REGISTRY_GC_START_COMMAND${stopped.marker.start ? ` (the run that stopped it had: ${stopped.marker.start})` : ''}`,
    });
    return { state, plan, requests: 0 };
  }
  addCollectionAndBookkeeping(plan, settings, 0, options);
  plan.changes.unshift(
    startRegistryItem(settings.REGISTRY_URL.origin, stopped.marker, {
      host,
      ssh: sshDefaults(settings),
      markerPath: stopped.markerPath,
      start,
    }),
  );
  plan.notes.push(
    'The registry does not answer, so its tags were not read: this plan only starts it (and ' +
      "finishes the collection left pending). Run again once it serves to plan the tags' clean-up.",
  );
  return { state, plan, requests: 0 };
}

function describeHostsRead(plan: RegistryPlan, inUse: { refs: unknown[]; read: string[]; unread: string[] }): void {
  if (inUse.read.length)
    plan.figures.push({
      label: 'hosts read',
      value: `${inUse.read.join(', ')}: ${inUse.refs.length} references to this registry kept (running or kept containers, retained releases)`,
    });
  else if (!inUse.unread.length)
    plan.notes.push(
      'Neither DEPLOY_HOST nor SERVER_HOSTS is set: what the Docker hosts run is not known, so only the policy protects images. Set them to keep what runs.',
    );
  for (const problem of inUse.unread)
    plan.notes.push(
      `--force: planned WITHOUT knowing what this host runs (it could not be read), so an image it runs may be deleted: ${problem}`,
    );
}

/**
 * The registry's size for plan section 7: measured on its storage on disk (REGISTRY_STORAGE_PATH
 * on REGISTRY_HOST), else, when no storage path is given, the unique blobs its tags reference.
 */
export async function measureRegistrySize(settings: RegistrySettings): Promise<{ bytes: number; basis: string }> {
  let unmeasured = '';
  if (settings.REGISTRY_STORAGE_VOLUME && !settings.REGISTRY_STORAGE_PATH) {
    const runner = registryHostRunner(settings);
    try {
      return {
        bytes: await volumeBytes(runner, settings.REGISTRY_STORAGE_VOLUME),
        basis: `volume ${settings.REGISTRY_STORAGE_VOLUME} as docker system df -v counts it on ${runner.name}`,
      };
    } catch (error) {
      unmeasured = `; the storage could not be measured: ${messageOf(error)}`;
    } finally {
      await runner.close();
    }
  }
  if (settings.REGISTRY_STORAGE_PATH) {
    const runner = registryHostRunner(settings);
    try {
      return {
        bytes: await diskUsage(runner, settings.REGISTRY_STORAGE_PATH),
        basis: `storage on disk, du -sb ${settings.REGISTRY_STORAGE_PATH} on ${runner.name}`,
      };
    } catch (error) {
      // Storage the ssh user may not read (a volume under Docker's data root): the registry's own count.
      unmeasured = `; the storage could not be measured: ${messageOf(error)}`;
    } finally {
      await runner.close();
    }
  }
  const { plan } = await planRegistryCleanup(settings, { collect: false });
  return {
    bytes: plan.sizeNow,
    basis: unmeasured
      ? `unique blobs of every tag${unmeasured}`
      : 'unique blobs of every tag; set REGISTRY_STORAGE_PATH to measure the storage on disk',
  };
}
