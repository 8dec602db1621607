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
 * failure is reported with its name and the others still finish. Freed bytes are Docker's own
 * count (`docker system df`) before and after; the disk criterion reads the file system (df).
 */
import { formatBytes } from '../lib/bytes.ts';
import { mapLimit } from '../lib/concurrency.ts';
import { messageOf } from '../lib/errors.ts';
import { LockHeld } from '../lib/lock.ts';
import { isEntryPoint, main } from '../lib/pipeline/main.ts';
import { emptyPlan, totalBytes, type Figure, type Plan } from '../lib/plan.ts';
import type { Runner } from '../lib/runner.ts';
import { defineTask, emptyOutcome, type Check, type TaskContext } from '../lib/task.ts';
import { lockDeployDir } from '../lib/host/deploy-lock.ts';
import { applyHostChanges } from '../lib/server/apply.ts';
import { retainedReleaseImages } from '../lib/host/deploy-state.ts';
import { diskCheck } from '../lib/server/disk-check.ts';
import { sameHost } from '../lib/host/same-host.ts';
import { usedPercent, type Disk } from '../lib/host/parse.ts';
import { planHost, type ServerOp, type ServerPolicy } from '../lib/server/policy.ts';
import { selectHosts, serverRunner, serverSettings, type ServerSettings } from '../lib/server/settings.ts';
import { readDisks, readDockerUsage, readHost, type HostState } from '../lib/server/state.ts';

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

type Ctx = TaskContext<typeof serverSettings>;

/** One runner (one ssh connection) per host for the whole run. */
export function hostRunner(ctx: Ctx, host: string): Runner {
  return ctx.memo(`server:runner:${host}`, () => {
    const runner = serverRunner(ctx.settings, host);
    ctx.onClose(() => runner.close());
    return runner;
  });
}

interface Reading {
  host: string;
  state?: HostState;
  /** On the deploy host: the images of the releases the deploy keeps for rollback. */
  releases?: string[];
  error?: string;
}

/** The plan, and what it was read from: apply and the checks work host by host on the same readings. */
interface ServerPlan extends Plan<ServerOp> {
  readings: Reading[];
}

function dockerDisk(state: HostState): Disk {
  return state.disks[state.disks.length - 1];
}

/** Planned against measured, both as Docker counts; exact bytes stay in the JSON report. */
interface FreedFigure extends Figure {
  plannedBytes: number;
  measuredBytes: number;
}

function freedFigure(host: string, planned: number, measured: number, disk: Disk): FreedFigure {
  const off = planned ? ` (${(((measured - planned) / planned) * 100).toFixed(1)}% off the plan)` : '';
  return {
    label: `${host} freed (measured by docker system df)`,
    value: `${formatBytes(measured)}, planned ${formatBytes(planned)}${off}; disk ${diskFigure(disk)}`,
    plannedBytes: planned,
    measuredBytes: measured,
  };
}

function diskFigure(disk: Disk, freed = 0): string {
  const after = { usedBytes: disk.usedBytes - freed, availableBytes: disk.availableBytes + freed };
  return `${usedPercent(disk).toFixed(1)}% now${freed ? `, ${usedPercent(after).toFixed(1)}% after` : ''} (${formatBytes(disk.usedBytes - freed)} used)`;
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

  async plan(ctx): Promise<ServerPlan> {
    const hosts = selectHosts(ctx.settings.SERVER_HOSTS, ctx.options.host as string | undefined);
    const policy = { ...serverPolicy(ctx.settings), force: ctx.options.force };
    const readings = await mapLimit(hosts, ctx.settings.SERVER_CONCURRENCY, async (host): Promise<Reading> => {
      ctx.progress(`reading ${host}`);
      const runner = hostRunner(ctx, host);
      const [releases, state] = await Promise.all([
        sameHost(host, ctx.settings.DEPLOY_HOST) ? retainedReleaseImages(runner, ctx.settings.DEPLOY_DIR) : [],
        readHost(runner),
      ]);
      return { host, state, releases };
    });
    const results: Reading[] = readings.map((r, i) =>
      r.status === 'fulfilled' ? r.value : { host: hosts[i], error: messageOf(r.reason) },
    );
    const plan: ServerPlan = { ...emptyPlan<ServerOp>('server'), readings: results };
    for (const reading of results) {
      if (!reading.state) {
        plan.refused.push({
          target: reading.host,
          reason: reading.error!,
          remedy: 'nothing is planned for this host until it can be read',
        });
        continue;
      }
      const hostPlan = planHost(reading.state, { ...policy, retainedReleases: reading.releases });
      plan.changes.push(...hostPlan.changes);
      plan.kept.push(...hostPlan.kept);
      const freed = totalBytes(hostPlan.changes);
      plan.figures.push({
        label: `${reading.host} disk (${dockerDisk(reading.state).path})`,
        value: `${diskFigure(dockerDisk(reading.state), freed)}; limit ${ctx.settings.SERVER_DISK_MAX_PERCENT}%`,
      });
      if (!reading.state.compose)
        plan.notes.push(`${reading.host}: neither docker compose nor docker-compose is installed.`);
      if (sameHost(reading.host, ctx.settings.DEPLOY_HOST) && hostPlan.changes.length)
        plan.notes.push(
          `${reading.host} is the deploy host: the deploy lock (${ctx.settings.DEPLOY_DIR}/.deploy.lock) is held while it is pruned, and a deploy holding it stops this host's clean-up.`,
        );
    }
    return plan;
  },

  // In clean:all the deploy, planned next, leaves to this task what it removes on the deploy host.
  handsOn: (plan) => ({
    removedContainers: plan.changes.flatMap((c) =>
      c.op.kind === 'remove-container' && c.host ? [{ host: c.host, id: c.op.id }] : [],
    ),
  }),

  async apply(plan, ctx) {
    const outcome = emptyOutcome();
    await mapLimit(plan.readings, ctx.settings.SERVER_CONCURRENCY, async ({ host, state }) => {
      const changes = plan.changes.filter((c) => c.host === hostRunner(ctx, host).name);
      if (!state || !changes.length) return;
      const runner = hostRunner(ctx, host);
      let releaseDeployLock: (() => Promise<void>) | undefined;
      // Named in the failure when a step outside the items (the lock, a measurement) fails or hangs.
      let step = 'taking the deploy lock';
      try {
        // No deploy may run on the host while it is pruned (a deploy starts and stops containers).
        if (sameHost(host, ctx.settings.DEPLOY_HOST)) {
          releaseDeployLock = await lockDeployDir(
            runner,
            ctx.settings.DEPLOY_DIR,
            'clean:server: pruning the deploy host',
            {
              waitSeconds: ctx.settings.DEPLOY_LOCK_WAIT_SECONDS,
              ttlSeconds: ctx.settings.DEPLOY_LOCK_TTL_SECONDS,
              progress: ctx.progress,
            },
          );
          ctx.onClose(releaseDeployLock);
        }
        // Measured right around apply, the way the plan's bytes were counted: Docker's own sizes,
        // not df, which every other process on the file system moves.
        step = "measuring Docker's usage before apply";
        const before = await readDockerUsage(runner);
        const result = await applyHostChanges(runner, changes, ctx.signal, ctx.progress);
        outcome.done.push(...result.done);
        outcome.failed.push(...result.failed);
        if (result.hung) return void outcome.notes.push(result.hung);
        step = "measuring Docker's usage after apply";
        const after = await readDockerUsage(runner);
        const disk = (await readDisks(runner, state.dockerRoot))[1];
        outcome.figures.push(freedFigure(host, totalBytes(result.done), before.total - after.total, disk));
      } catch (error) {
        // The message of a stale lock says --force; here --force is about data, and never takes the lock.
        const remedy =
          error instanceof LockHeld
            ? ' clean:server never takes over the deploy lock: if no deploy runs, release it with `npm run deploy:lock -- --release --force`, then run clean:server again.'
            : '';
        outcome.failed.push({
          action: 'clean host',
          target: host,
          host,
          error: `${step}: ${messageOf(error)}${remedy}`,
        });
      } finally {
        await releaseDeployLock?.();
      }
    });
    return outcome;
  },

  async check(ctx, mode, { readings }) {
    const checks: Check[] = readings.map((r) => ({
      name: `${r.host} reachable, docker usable`,
      passed: !r.error,
      figure: r.error ? 'no' : 'yes',
      ...(r.error ? { detail: r.error } : {}),
    }));
    if (mode === 'plan') return checks;
    for (const reading of readings.filter((r) => r.state))
      checks.push(
        await diskCheck(
          hostRunner(ctx, reading.host),
          reading.host,
          reading.state!.dockerRoot,
          ctx.settings.SERVER_DISK_MAX_PERCENT,
        ),
      );
    return checks;
  },
});

if (isEntryPoint(import.meta.url)) await main('clean:server', [serverTask]);
