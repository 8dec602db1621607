/**
 * The server task host by host (tasks/server.ts puts these in the plan's order): every host is read
 * at once, and one that cannot be read is refused while the others go on; each is planned by the
 * policy, applied under the deploy lock where it is the deploy host, and its disk checked.
 * Freed bytes are Docker's own count (`docker system df`) before and after; the disk criterion
 * reads the file system (df).
 */
import { formatBytes } from '../units.ts';
import { mapLimit } from '../concurrency.ts';
import { messageOf } from '../errors.ts';
import { lockDeployDir } from '../host/deploy-lock.ts';
import { retainedReleaseImages } from '../host/deploy-state.ts';
import { usedPercent, type Disk } from '../host/parse.ts';
import { sameHost } from '../host/names.ts';
import { LockHeld } from '../lock.ts';
import { emptyPlan, totalBytes, type Figure, type Plan } from '../plan.ts';
import type { Runner } from '../runner.ts';
import { emptyOutcome, type ApplyOutcome, type Check, type Handoffs, type TaskContext } from '../task.ts';
import { applyHostChanges } from './apply.ts';
import { diskChartAfter, diskChartBefore } from '../charts.ts';
import { planHost, type ServerOp, type ServerPolicy } from './policy.ts';
import { selectHosts, serverRunner, type serverSettings } from './settings.ts';
import { readDisks, readDockerUsage, readHost, type HostState } from './state.ts';

export type ServerCtx = TaskContext<typeof serverSettings>;

export interface Reading {
  host: string;
  state?: HostState;
  /** On the deploy host: the images of the releases the deploy keeps for rollback. */
  releases?: string[];
  error?: string;
}

/** The plan, and what it was read from: apply and the checks work host by host on the same readings. */
export interface ServerPlan extends Plan<ServerOp> {
  readings: Reading[];
}

/** One runner (one ssh connection) per host for the whole run; the audit log (tasks/server.ts) matches its name. */
export function hostRunner(ctx: ServerCtx, host: string): Runner {
  return ctx.memo(`server:runner:${host}`, () => {
    const runner = serverRunner(ctx.settings, host);
    ctx.onClose(() => runner.close());
    return runner;
  });
}

/** Disk use, containers, images, volumes and build cache of every host (or the one --host names), at once. */
export async function readHosts(ctx: ServerCtx): Promise<Reading[]> {
  const hosts = selectHosts(ctx.settings.SERVER_HOSTS, ctx.options.host as string | undefined);
  const readings = await mapLimit(hosts, ctx.settings.SERVER_CONCURRENCY, async (host): Promise<Reading> => {
    ctx.progress(`reading ${host}`);
    const runner = hostRunner(ctx, host);
    const [releases, state] = await Promise.all([
      sameHost(host, ctx.settings.DEPLOY_HOST) ? retainedReleaseImages(runner, ctx.settings.DEPLOY_DIR) : [],
      readHost(runner),
    ]);
    return { host, state, releases };
  });
  return readings.map((r, i) => (r.status === 'fulfilled' ? r.value : { host: hosts[i], error: messageOf(r.reason) }));
}

/** Each host readable is planned by the policy; one that is not is refused, with nothing planned there. */
export function planHosts(readings: Reading[], policy: ServerPolicy, ctx: ServerCtx): ServerPlan {
  const plan: ServerPlan = { ...emptyPlan<ServerOp>('server'), readings };
  const used = new Map<string, number>();
  for (const reading of readings) {
    if (!reading.state) {
      plan.refused.push({
        target: reading.host,
        reason: reading.error!,
        remedy: 'nothing is planned for this host until it can be read',
      });
      continue;
    }
    const hostPlan = planHost(reading.state, { ...policy, retainedReleases: reading.releases }, ctx.now);
    plan.changes.push(...hostPlan.changes);
    plan.kept.push(...hostPlan.kept);
    const freed = totalBytes(hostPlan.changes);
    used.set(reading.host, usedPercent(dockerDisk(reading.state)));
    plan.figures.push({
      label: `${reading.host} disk (${dockerDisk(reading.state).path})`,
      value: `${diskFigure(dockerDisk(reading.state), freed)}; limit ${ctx.settings.SERVER_DISK_MAX_PERCENT}%`,
    });
    if (!reading.state.compose)
      plan.notes.push(`${reading.host}: neither docker compose nor docker-compose is installed.`);
    if (sameHost(reading.host, ctx.settings.DEPLOY_HOST) && hostPlan.changes.length)
      plan.notes.push(
        `${reading.host} is the deploy host: the deploy lock (${ctx.settings.DEPLOY_DIR}/.deploy.lock) is held ` +
          "while it is pruned, and a deploy holding it stops this host's clean-up.",
      );
  }
  if (used.size) plan.charts = [diskChartBefore(used, ctx.settings.SERVER_DISK_MAX_PERCENT)];
  return plan;
}

/** The containers the plan removes, by host: what the deploy's clean-up in the same chain leaves to this task. */
export function removedContainers(plan: ServerPlan): Handoffs['removedContainers'] {
  return plan.changes.flatMap((c) =>
    c.op.kind === 'remove-container' && c.host ? [{ host: c.host, id: c.op.id }] : [],
  );
}

/**
 * Each host's changes, several hosts at once; on the deploy host under the deploy lock, since a deploy
 * starts and stops containers. One host's failure is reported with its name and the others finish.
 */
export async function applyToHosts(plan: ServerPlan, ctx: ServerCtx): Promise<ApplyOutcome> {
  const outcome = emptyOutcome();
  const usedAfter = new Map<string, number>();
  await mapLimit(plan.readings, ctx.settings.SERVER_CONCURRENCY, async ({ host, state }) => {
    const changes = plan.changes.filter((c) => c.host === hostRunner(ctx, host).name);
    if (!state || !changes.length) return;
    const runner = hostRunner(ctx, host);
    let releaseDeployLock: (() => Promise<void>) | undefined;
    // Named in the failure when a step outside the items (the lock, a measurement) fails or hangs.
    let step = 'taking the deploy lock';
    try {
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
      usedAfter.set(host, usedPercent(disk));
      outcome.figures.push(freedFigure(host, totalBytes(result.done), before.total - after.total, disk));
    } catch (error) {
      // The message of a stale lock says --force; here --force is about data, and never takes the lock.
      const remedy =
        error instanceof LockHeld
          ? ' clean:server never takes over the deploy lock: if no deploy runs, release it with ' +
            '`npm run deploy:lock -- --release --force`, then run clean:server again.'
          : '';
      outcome.failed.push({ action: 'clean host', target: host, host, error: `${step}: ${messageOf(error)}${remedy}` });
    } finally {
      await releaseDeployLock?.();
    }
  });
  const hosts = plan.readings.filter((r) => r.state).map((r) => r.host);
  if (hosts.length) outcome.charts = [diskChartAfter(hosts, usedAfter)];
  return outcome;
}

/** Plan section 7 on every host: reachable with docker usable, and (after apply) its disk under the limit. */
export async function checkHosts(readings: Reading[], ctx: ServerCtx, mode: 'plan' | 'apply'): Promise<Check[]> {
  const checks: Check[] = readings.map((r) => ({
    name: `${r.host} reachable, docker usable`,
    passed: !r.error,
    figure: r.error ? 'no' : 'yes',
    ...(r.error ? { detail: r.error } : {}),
  }));
  if (mode === 'plan') return checks;
  for (const { host, state } of readings)
    if (state)
      checks.push(await diskCheck(hostRunner(ctx, host), host, state.dockerRoot, ctx.settings.SERVER_DISK_MAX_PERCENT));
  return checks;
}

/** Plan section 7: "the server uses less than N% of its disk", on / and on the Docker root (verify's too). */
export async function diskCheck(runner: Runner, host: string, dockerRoot: string, maxPercent: number): Promise<Check> {
  const disks = await readDisks(runner, dockerRoot);
  const worst = disks.reduce((a, b) => (usedPercent(b) > usedPercent(a) ? b : a));
  return {
    name: `${host} disk under ${maxPercent}%`,
    passed: usedPercent(worst) < maxPercent,
    figure: `${usedPercent(worst).toFixed(1)}% used on ${worst.mount} (${worst.path})`,
  };
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
  const now = `${usedPercent(disk).toFixed(1)}% now${freed ? `, ${usedPercent(after).toFixed(1)}% after` : ''}`;
  return `${now} (${formatBytes(disk.usedBytes - freed)} used)`;
}
