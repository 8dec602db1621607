/**
 * What to clean on one Docker host, as a pure function of its state and the policy (section 5
 * of the plan). Each decision, change or keep, carries its reason, in words and figures for
 * people and as exact numbers (`facts`) for the JSON report. Nothing here runs a command.
 *
 * 1. Containers. Running means kept: a running container is stopped only when SERVER_STOP_NAMES
 *    lists it (the deployed project's running containers are the deploy's to replace, never
 *    this task's). Stopped containers of the deployed compose project are removed once past the
 *    grace period, except the newest few of each service, which a rollback needs (the rule the
 *    deploy's clean-up shares: lib/host/rollback-containers.ts). Stopped
 *    containers outside it are removed past the grace period (nothing redeploys them), except
 *    protected ones and those holding data (a named volume, a host folder, a data store image):
 *    those stay unless SERVER_REMOVE_NAMES names them or --force is given.
 * 2. Images. Kept when a remaining container uses them (stopped ones count), a tag is
 *    protected, or it is a release the deploy keeps for rollback on this host. Rollback retention only where a rollback can happen: for repositories a
 *    remaining container uses (the deployed project's, or a kept container's) the newest few
 *    stay; images of every other repository are abandoned and go. Dangling images nothing uses go.
 * 3. Volumes: anonymous volumes no remaining container uses go; a named volume goes only when
 *    the policy names it; a volume any remaining container uses is never touched.
 * 4. Build cache unused for longer than the age bound goes; then, when what is left unused
 *    still exceeds the size bound, the oldest goes until it fits.
 *
 * Bytes are Docker's own: an image's share of layers (lib/server/layers.ts), a container's
 * writable layer, a volume's size, build cache records, all as `docker system df` counts them.
 *
 * About 275 lines: one pass, since each kind's decision reads the ones before it (an image a kept
 * container uses is kept, a volume a remaining container uses is kept).
 */
import { ago, formatBytes } from '../units.ts';
import { cacheLabel, planBuildCache } from './build-cache.ts';
import type { Change, Kept } from '../plan.ts';
import { dataHeldIn } from './data.ts';
import { bytesFreedInOrder } from './layers.ts';
import { matchingPattern } from './names.ts';
import type { Container, Image } from '../host/parse.ts';
import { repositoryOf, withoutRegistry } from '../host/names.ts';
import {
  COMPOSE_PROJECT,
  COMPOSE_SERVICE,
  decideStoppedProjectContainers,
  newestFirst,
  RUNNING,
  status,
  stoppedAt,
} from '../host/rollback-containers.ts';
import type { HostState } from './state.ts';
import { appendTo } from '../group.ts';

export { repositoryOf };

export interface ServerPolicy {
  /** The deployed compose project: its running containers are the deploy's, its stopped ones a rollback's. */
  composeProject: string;
  protectNames: string[];
  /** `key=value`, or `key` for any value. */
  protectLabels: string[];
  /** Image references never removed, e.g. webhook-api:final (any registry prefix matches). */
  protectImages: string[];
  rollbackKeep: number;
  /**
   * Images of the releases the deploy keeps for rollback on this host (its deploy-state.json,
   * DEPLOY_KEEP_RELEASES), matched under any registry name: a host may pull them through an alias.
   */
  retainedReleases?: string[];
  gracePeriodHours: number;
  removeNamedVolumes: string[];
  buildCacheMaxAgeHours: number;
  /** Bytes of unused build cache kept at most; 0 for no size bound. */
  buildCacheMaxBytes: number;
  /** Running containers outside the deployed project that are stopped: name globs (SERVER_STOP_NAMES). */
  stopNames?: string[];
  /** Stopped containers holding data that may still be removed: name globs (SERVER_REMOVE_NAMES). */
  removeNames?: string[];
  /** Images whose containers hold data (postgres, mysql, …), matched on the repository's last segment. */
  dataImages?: string[];
  /** --force: a container holding data is treated like any other (its named volumes still stay). */
  force?: boolean;
}

export type ServerOp =
  | { kind: 'stop-container'; id: string }
  | { kind: 'remove-container'; id: string }
  | { kind: 'remove-image'; id: string; refs: string[] }
  | { kind: 'remove-volume'; name: string }
  | { kind: 'remove-build-cache'; id: string };

/** Exact figures behind a decision (times as ISO strings, sizes in bytes), for the JSON report. */
export type Facts = Record<string, string | number | boolean | null | string[]>;
export type ServerChange = Change<ServerOp> & { facts?: Facts };
export type ServerKept = Kept & { facts?: Facts };

export interface HostPlan {
  changes: ServerChange[];
  kept: ServerKept[];
}

const HOUR = 3_600_000;
const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const iso = (time: number | undefined) => (time ? new Date(time).toISOString() : null);

export function isProtected(
  c: Pick<Container, 'name' | 'labels'>,
  policy: Pick<ServerPolicy, 'protectNames' | 'protectLabels'>,
): string | undefined {
  if (policy.protectNames.includes(c.name)) return `protected by name (${c.name})`;
  for (const rule of policy.protectLabels) {
    const [key, value] = rule.split('=', 2);
    if (key in c.labels && (value === undefined || c.labels[key] === value)) return `protected by label ${rule}`;
  }
  return undefined;
}

function protectedTag(image: Image, policy: ServerPolicy): string | undefined {
  return image.tags.find((tag) => policy.protectImages.some((p) => tag === p || tag.endsWith(`/${p}`)));
}

function containerFacts(c: Container): Facts {
  return {
    id: c.id,
    state: c.state,
    image: c.imageRef,
    createdAt: iso(c.created),
    finishedAt: iso(c.finished),
    writableLayerBytes: c.sizeRw,
  };
}

/** The repositories an image belongs to, one per tag's repository. */
function repositoriesOf(tags: string[]): string[] {
  return [...new Set(tags.map(repositoryOf))];
}

export function planHost(state: HostState, policy: ServerPolicy, now = Date.now()): HostPlan {
  const host = state.host;
  const changes: ServerChange[] = [];
  const kept: ServerKept[] = [];
  const keep = (target: string, reason: string, facts?: Facts) =>
    kept.push({ host, target, reason, ...(facts ? { facts } : {}) });
  const change = (action: string, target: string, reason: string, bytes: number, op: ServerOp, facts?: Facts) =>
    changes.push({ host, action, target, reason, bytes, op, ...(facts ? { facts } : {}) });
  const project = policy.composeProject;
  const grace = policy.gracePeriodHours * HOUR;

  // 1. Containers.
  const removed = new Set<string>();
  const remove = (c: Container, reason: string, extra: Facts = {}) => {
    removed.add(c.id);
    change(
      'remove container',
      `container ${c.name}`,
      reason,
      c.sizeRw,
      { kind: 'remove-container', id: c.id },
      { ...containerFacts(c), ...extra },
    );
  };
  const stoppedByService = new Map<string, Container[]>();
  for (const c of state.containers) {
    const facts = containerFacts(c);
    const target = `container ${c.name}`;
    const protection = isProtected(c, policy);
    const deployed = c.labels[COMPOSE_PROJECT] === project;
    // Another compose project on the same host (monitoring beside the app): its own compose file
    // starts, stops and recreates it, so nothing here is abandoned, running or stopped.
    const otherProject = deployed ? undefined : c.labels[COMPOSE_PROJECT];
    const managedBy = otherProject ? `part of compose project ${otherProject}, which its own compose file manages` : '';
    const data = deployed ? [] : dataHeldIn(c, policy.dataImages ?? []);
    const holds = data.length ? `holds data in ${data.join(', ')}` : '';
    const dataFacts: Facts = data.length ? { holdsDataIn: data } : {};
    let stopped = status(c, now);
    let since = stoppedAt(c);
    if (RUNNING.has(c.state)) {
      const stopPattern = matchingPattern(c.name, policy.stopNames);
      if (deployed)
        keep(
          target,
          `${c.state}, part of the deployed compose project ${project} (the deploy replaces it, this task never stops it)`,
          facts,
        );
      else if (protection) keep(target, `${c.state}, ${protection}`, facts);
      else if (!stopPattern)
        keep(
          target,
          `${c.state}, ${managedBy || 'not ours'}: kept (list it in SERVER_STOP_NAMES to stop it)` +
            (holds ? `; ${holds}` : ''),
          { ...facts, ...dataFacts },
        );
      if (deployed || protection || !stopPattern) continue;
      change(
        'stop container',
        target,
        `${c.state}, listed in SERVER_STOP_NAMES (${stopPattern})${holds ? `; it ${holds}, which stays` : ''}`,
        0,
        { kind: 'stop-container', id: c.id },
        { ...facts, ...dataFacts },
      );
      // From here on it is a stopped container like any other, stopped now.
      stopped = 'stopped by this plan';
      since = now;
    }
    if (protection) {
      keep(target, `${stopped}, ${protection}`, facts);
      continue;
    }
    if (deployed) {
      appendTo(stoppedByService, c.labels[COMPOSE_SERVICE] ?? c.imageRef, c);
      continue;
    }
    const named = data.length || otherProject ? matchingPattern(c.name, policy.removeNames) : undefined;
    // Listed in SERVER_STOP_NAMES, it was the user's choice to stop it: it goes like any stopped container.
    if (otherProject && !named && stopped !== 'stopped by this plan')
      keep(target, `${stopped}, ${managedBy}: kept (name it in SERVER_REMOVE_NAMES to remove it)`, {
        ...facts,
        ...dataFacts,
      });
    else if (named)
      remove(
        c,
        `${stopped}; ${holds || managedBy}, but SERVER_REMOVE_NAMES names it (${named}); named volumes and host folders stay`,
        dataFacts,
      );
    else if (data.length && !policy.force)
      keep(target, `${stopped}; ${holds}: kept (name it in SERVER_REMOVE_NAMES, or rerun with --force, to remove it)`, {
        ...facts,
        ...dataFacts,
      });
    else if (now - since < grace)
      keep(target, `${stopped}, within the ${policy.gracePeriodHours}h grace period${holds ? `; ${holds}` : ''}`, {
        ...facts,
        ...dataFacts,
      });
    else if (data.length)
      remove(c, `${stopped}; ${holds}, removed because of --force; named volumes and host folders stay`, dataFacts);
    else
      remove(
        c,
        `${stopped}, outside the deployed compose project ${project} and holding no data: nothing redeploys it, so no rollback needs it`,
      );
  }
  for (const { container, remove: goes, reason } of decideStoppedProjectContainers(stoppedByService, policy, now)) {
    if (goes) remove(container, reason);
    else keep(`container ${container.name}`, reason, containerFacts(container));
  }
  const remaining = state.containers.filter((c) => !removed.has(c.id));
  const gone = state.containers.filter((c) => removed.has(c.id));

  // 2. Images.
  const users = new Map<string, string[]>();
  for (const c of remaining) appendTo(users, c.image, c.name);
  const imageById = new Map(state.images.map((i) => [i.id, i]));
  // Where a rollback can happen: repositories a remaining container runs or was created from.
  const rollbackRepositories = new Map<string, string>();
  for (const c of remaining) {
    const ours = c.labels[COMPOSE_PROJECT] === project;
    // Created from an image ID (sha256:…), a container names no repository but its image's tags.
    const repositories = [
      ...(c.imageRef.startsWith('sha256:') ? [] : [repositoryOf(c.imageRef)]),
      ...repositoriesOf(imageById.get(c.image)?.tags ?? []),
    ];
    for (const repository of repositories)
      if (ours || !rollbackRepositories.has(repository))
        rollbackRepositories.set(
          repository,
          ours ? `the deployed compose project ${project}` : `kept container ${c.name}`,
        );
  }
  const retained = new Set((policy.retainedReleases ?? []).map(withoutRegistry));
  const rank = new Map<string, Map<string, number>>();
  const byRepository = new Map<string, Image[]>();
  for (const image of state.images)
    for (const repository of repositoriesOf(image.tags)) appendTo(byRepository, repository, image);
  for (const [repository, images] of byRepository)
    rank.set(repository, new Map(newestFirst(images).map((image, i) => [image.id, i])));
  const lastUse = (c: Container) => (RUNNING.has(c.state) ? now : stoppedAt(c));
  const removals: { image: Image; name: string; reason: string; facts: Facts }[] = [];
  for (const image of newestFirst(state.images)) {
    const name = image.tags.length ? image.tags.join(', ') : `dangling image ${shortId(image.id)}`;
    // Docker keeps no record of image use; the containers this plan removes are what it knows.
    const lastUser = gone.filter((c) => c.image === image.id).sort((a, b) => lastUse(b) - lastUse(a))[0];
    const facts: Facts = {
      id: image.id,
      tags: image.tags,
      createdAt: iso(image.created),
      sizeBytes: image.size,
      uniqueBytes: image.uniqueSize,
      lastUsedAt: iso(lastUser && lastUse(lastUser)),
      lastUsedBy: lastUser?.name ?? null,
    };
    const lastUsed = lastUser
      ? `last used by container ${lastUser.name} (${status(lastUser, now)}, removed in this plan)`
      : 'last use unknown (no container of it is left)';
    const usedBy = users.get(image.id);
    const protectedBy = protectedTag(image, policy);
    const release = image.tags.find((tag) => retained.has(withoutRegistry(tag)));
    const repositories = repositoriesOf(image.tags);
    const rollback = repositories.filter((r) => rollbackRepositories.has(r));
    const slot = rollback
      .map((r) => ({ repository: r, rank: rank.get(r)!.get(image.id)! }))
      .find((s) => s.rank < policy.rollbackKeep);
    if (usedBy) keep(name, `used by container ${usedBy.join(', ')}`, facts);
    else if (protectedBy) keep(name, `protected image ${protectedBy}`, facts);
    else if (release)
      keep(
        name,
        `release ${release}, which the deploy keeps for rollback (deploy-state.json, DEPLOY_KEEP_RELEASES)`,
        facts,
      );
    else if (slot)
      keep(
        name,
        `#${slot.rank + 1} of the ${policy.rollbackKeep} newest images of ${slot.repository}, ` +
          `kept for rollback (${rollbackRepositories.get(slot.repository)} uses it)`,
        facts,
      );
    else if (!image.tags.length)
      removals.push({ image, name, reason: `dangling (untagged), no container uses it; ${lastUsed}`, facts });
    else if (rollback.length)
      removals.push({
        image,
        name,
        reason:
          `used by no container and older than the ${policy.rollbackKeep} newest images of ` +
          `${rollback[0]}, which ${rollbackRepositories.get(rollback[0])} uses`,
        facts,
      });
    else
      removals.push({
        image,
        name,
        reason:
          `abandoned: no remaining container uses ${repositories.join(', ')} and the deployed ` +
          `compose project ${project} does not; ${lastUsed}, created ${ago(image.created, now)}`,
        facts,
      });
  }
  const freed = bytesFreedInOrder(
    state.images,
    removals.map((r) => r.image.id),
  );
  for (const { image, name, reason, facts } of removals) {
    const bytes = freed.get(image.id)!;
    const shared = bytes - image.uniqueSize;
    // Docker's sizes are rounded to four digits: a few bytes either way are not a shared layer.
    const detail =
      shared > Math.max(1000, bytes / 100)
        ? ` (${formatBytes(image.uniqueSize)} of its own, ${formatBytes(shared)} of layers it shared only with images removed before it)`
        : '';
    change(
      'remove image',
      name,
      reason + detail,
      bytes,
      { kind: 'remove-image', id: image.id, refs: image.tags.length ? image.tags : [image.id] },
      facts,
    );
  }

  // 3. Volumes.
  const volumeUsers = new Map<string, string[]>();
  for (const c of remaining) for (const v of c.volumes) appendTo(volumeUsers, v, c.name);
  const formerUsers = new Map<string, string[]>();
  for (const c of gone) for (const v of c.volumes) appendTo(formerUsers, v, c.name);
  for (const volume of state.volumes) {
    const label = volume.anonymous ? `anonymous volume ${volume.name.slice(0, 12)}` : `volume ${volume.name}`;
    const usedBy = volumeUsers.get(volume.name);
    const former = formerUsers.get(volume.name);
    const was = former ? ` (it was used by container ${former.join(', ')}, removed in this plan)` : '';
    const facts: Facts = { name: volume.name, sizeBytes: volume.size };
    if (usedBy) keep(label, `used by container ${usedBy.join(', ')} (running or stopped)`, facts);
    else if (volume.anonymous)
      change(
        'remove volume',
        label,
        `anonymous, and no remaining container uses it${was}`,
        volume.size,
        { kind: 'remove-volume', name: volume.name },
        facts,
      );
    else if (policy.removeNamedVolumes.includes(volume.name))
      change(
        'remove volume',
        label,
        `named volume listed in SERVER_REMOVE_VOLUMES, and no remaining container uses it${was}`,
        volume.size,
        { kind: 'remove-volume', name: volume.name },
        facts,
      );
    else keep(label, `named volume: removed only when SERVER_REMOVE_VOLUMES names it${was}`, facts);
  }

  // 4. Build cache, record by record: the plan names each record it removes, and apply removes
  // exactly those (lib/server/build-cache.ts).
  for (const item of planBuildCache(state.cache, policy, now))
    if (item.remove)
      change('remove build cache', cacheLabel(item.record), item.reason, item.record.size, {
        kind: 'remove-build-cache',
        id: item.record.id,
      });
    else keep(cacheLabel(item.record), item.reason);
  return { changes, kept };
}
