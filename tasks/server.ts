/**
 * Plan section 5: production server clean-up, on every host of SERVER_HOSTS, over ssh.
 *
 *   Look at the current state: disk use, containers, images, volumes (and build cache).
 *   1. Stop unused containers.
 *   2. Remove old images (except the current ones, and the releases the deploy keeps for rollback).
 *   3. Clean unused volumes.
 *   4. Clean the Docker build cache.
 *
 * "Unused", "old" and "current" are defined by the policy below, stated in full in
 * lib/server/policy.ts: running means kept, data is kept, rollback retention only where a
 * rollback can happen. Hosts are cleaned several at once (or one, with --host); one host's
 * failure is reported with its name and the others still finish (lib/server/hosts.ts).
 */
import { isEntryPoint, main } from '../lib/pipeline/run.ts';
import { defineTask } from '../lib/task.ts';
import { applyToHosts, checkHosts, hostRunner, planHosts, readHosts, removedContainers } from '../lib/server/hosts.ts';
import { hostPlaces } from '../lib/operations/audit.ts';
import type { ServerPolicy } from '../lib/server/policy.ts';
import { serverRunner, serverSettings, type ServerSettings } from '../lib/server/settings.ts';

/** Images whose containers hold data, whatever their volumes say (SERVER_DATA_IMAGES adds more). */
export const dataStoreImages = ['postgres', 'mysql', 'mariadb', 'mongo', 'redis', 'elasticsearch'];

/** The policy of section 5, from the settings; edit the fixed parts here. */
export function serverPolicy(settings: ServerSettings): ServerPolicy {
  return {
    // 1. Running means kept: only containers SERVER_STOP_NAMES lists are stopped. Containers
    //    holding data (volumes, host folders, data store images) stay unless named or --force.
    composeProject: settings.SERVER_COMPOSE_PROJECT,
    protectNames: settings.SERVER_PROTECT_NAMES,
    protectLabels: settings.SERVER_PROTECT_LABELS,
    stopNames: settings.SERVER_STOP_NAMES,
    removeNames: settings.SERVER_REMOVE_NAMES,
    dataImages: [...dataStoreImages, ...settings.SERVER_DATA_IMAGES],
    // 2. The current images: the production tags of plan section 4, and the newest few of each
    //    repository a remaining container uses; other repositories' images are abandoned.
    protectImages: ['webhook-api:final', 'nginx-webhook:latest', ...settings.SERVER_PROTECT_IMAGES],
    rollbackKeep: settings.SERVER_ROLLBACK_KEEP,
    gracePeriodHours: settings.SERVER_GRACE_HOURS,
    // 3. Named volumes go only when listed; anonymous ones go when nothing uses them.
    removeNamedVolumes: settings.SERVER_REMOVE_VOLUMES,
    // 4. Build cache unused for longer than this goes.
    buildCacheMaxAgeHours: settings.SERVER_BUILD_CACHE_MAX_AGE_HOURS,
    buildCacheMaxBytes: settings.SERVER_BUILD_CACHE_MAX_SIZE,
  };
}

export const serverTask = defineTask({
  name: 'server',
  title: 'Server clean-up (plan section 5)',
  settings: serverSettings,
  options: {
    host: {
      type: 'string',
      alone: true,
      help: 'clean only this host of SERVER_HOSTS (as written there, or its host name)',
    },
  },

  async plan(ctx) {
    // Look at the current state: disk use, containers, images, volumes and build cache, every host at once.
    const readings = await readHosts(ctx);
    // 1.-4. Stop unused containers, remove old images, clean unused volumes and the build cache: the policy above.
    return planHosts(readings, { ...serverPolicy(ctx.settings), force: ctx.options.force }, ctx);
  },

  // In clean:all the deploy, planned next, leaves to this task what it removes on the deploy host.
  handsOn: (plan) => ({ removedContainers: removedContainers(plan) }),

  // Host by host, several at once; the deploy host under the deploy lock.
  apply: (plan, ctx) => applyToHosts(plan, ctx),

  /** Each host pruned (or tried): its SERVER_HOSTS entry, matched by the runner name its changes carry. */
  auditPlaces(_plan, outcome, ctx) {
    const touched = new Set([...outcome.done, ...outcome.failed].map((change) => change.host));
    const hosts = ctx.settings.SERVER_HOSTS.filter((host) => touched.has(hostRunner(ctx, host).name));
    return hostPlaces(hosts, (host) => serverRunner(ctx.settings, host));
  },

  // Plan section 7: every host reachable, its disk under SERVER_DISK_MAX_PERCENT.
  check: (ctx, mode, plan) => checkHosts(plan.readings, ctx, mode),
});

if (isEntryPoint(import.meta.url)) await main('clean:server', [serverTask]);
