/**
 * What to clean on one Docker host, as a pure function of its state and the policy (section 5
 * of the plan). Each decision, change or keep, carries its reason. Nothing here runs a command.
 *
 * 1. Containers: a running container is stopped only when it is outside the keep set (the
 *    deployed compose project, protected names and labels). Stopped containers are removed
 *    once past the grace period, except protected ones and the newest few of each compose
 *    service (or image), which a rollback needs.
 * 2. Images: removed when no remaining container uses them (stopped ones count), unless they
 *    are among the newest few of their repository (rollback) or carry a protected tag.
 *    Dangling images nothing uses go.
 * 3. Volumes: anonymous volumes no remaining container uses go; a named volume goes only when
 *    the policy names it; a volume any remaining container uses is never touched.
 * 4. Build cache unused for longer than the age bound goes; then, when what is left unused
 *    still exceeds the size bound, the oldest goes until it fits.
 */
import { formatBytes } from '../bytes.ts';
import type { Change, Kept } from '../plan.ts';
import type { Container, Image, Volume } from './parse.ts';
import type { HostState } from './state.ts';

export interface ServerPolicy {
  /** The deployed compose project: its containers are the keep set. */
  composeProject: string;
  protectNames: string[];
  /** `key=value`, or `key` for any value. */
  protectLabels: string[];
  /** Image references never removed, e.g. webhook-api:final (any registry prefix matches). */
  protectImages: string[];
  rollbackKeep: number;
  gracePeriodHours: number;
  removeNamedVolumes: string[];
  buildCacheMaxAgeHours: number;
  /** Bytes of unused build cache kept at most; 0 for no size bound. */
  buildCacheMaxBytes: number;
}

export type ServerOp =
  | { kind: 'stop-container'; id: string }
  | { kind: 'remove-container'; id: string }
  | { kind: 'remove-image'; id: string; refs: string[] }
  | { kind: 'remove-volume'; name: string }
  | { kind: 'prune-build-cache'; olderThanHours: number }
  | { kind: 'shrink-build-cache'; keepBytes: number };

export interface HostPlan {
  changes: Change<ServerOp>[];
  kept: Kept[];
}

const HOUR = 3_600_000;
const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const COMPOSE_PROJECT = 'com.docker.compose.project';
const COMPOSE_SERVICE = 'com.docker.compose.service';

export function isProtected(c: Container, policy: ServerPolicy): string | undefined {
  if (policy.protectNames.includes(c.name)) return `protected by name (${c.name})`;
  for (const rule of policy.protectLabels) {
    const [key, value] = rule.split('=', 2);
    if (key in c.labels && (value === undefined || c.labels[key] === value)) return `protected by label ${rule}`;
  }
  return undefined;
}

function serviceOf(c: Container): string {
  return c.labels[COMPOSE_SERVICE] ? `service ${c.labels[COMPOSE_PROJECT]}/${c.labels[COMPOSE_SERVICE]}` : `image ${c.imageRef}`;
}

/** Repository of an image reference: registry:5000/webhook-api:1.2 → registry:5000/webhook-api. */
export function repositoryOf(ref: string): string {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? ref.slice(0, at) : ref;
}

function protectedTag(image: Image, policy: ServerPolicy): string | undefined {
  return image.tags.find((tag) => policy.protectImages.some((p) => tag === p || tag.endsWith(`/${p}`)));
}

function newestFirst<T extends { created: number }>(items: T[]): T[] {
  return [...items].sort((a, b) => b.created - a.created);
}

export function planHost(state: HostState, policy: ServerPolicy, now = Date.now()): HostPlan {
  const host = state.host;
  const changes: Change<ServerOp>[] = [];
  const kept: Kept[] = [];
  const keep = (target: string, reason: string) => kept.push({ host, target, reason });
  const change = (action: string, target: string, reason: string, bytes: number, op: ServerOp) => changes.push({ host, action, target, reason, bytes, op });

  // 1. Containers.
  const removed = new Set<string>();
  const stoppedByGroup = new Map<string, Container[]>();
  for (const c of state.containers) {
    const protection = isProtected(c, policy);
    const deployed = c.labels[COMPOSE_PROJECT] === policy.composeProject;
    if (c.state === 'running' || c.state === 'restarting' || c.state === 'paused') {
      if (protection) keep(`container ${c.name}`, `running, ${protection}`);
      else if (deployed) keep(`container ${c.name}`, `running, part of the deployed compose project ${policy.composeProject}`);
      else change('stop container', `container ${c.name}`, `running, but neither part of the deployed compose project ${policy.composeProject} nor protected`, 0, { kind: 'stop-container', id: c.id });
      continue;
    }
    if (protection) {
      keep(`container ${c.name}`, `${c.state}, ${protection}`);
      continue;
    }
    const group = serviceOf(c);
    stoppedByGroup.set(group, [...(stoppedByGroup.get(group) ?? []), c]);
  }
  for (const [group, stopped] of stoppedByGroup) {
    newestFirst(stopped).forEach((c, rank) => {
      const since = c.finished ?? c.created;
      if (rank < policy.rollbackKeep) keep(`container ${c.name}`, `${c.state}, kept for rollback: one of the ${policy.rollbackKeep} newest stopped containers of ${group}`);
      else if (now - since < policy.gracePeriodHours * HOUR) keep(`container ${c.name}`, `${c.state} less than ${policy.gracePeriodHours}h ago (grace period)`);
      else {
        removed.add(c.id);
        const hours = Math.floor((now - since) / HOUR);
        change('remove container', `container ${c.name}`, `${c.state} for ${hours}h, older than the ${policy.rollbackKeep} newest of ${group}`, c.sizeRw, { kind: 'remove-container', id: c.id });
      }
    });
  }
  const remaining = state.containers.filter((c) => !removed.has(c.id));

  // 2. Images.
  const users = new Map<string, string[]>();
  for (const c of remaining) users.set(c.image, [...(users.get(c.image) ?? []), c.name]);
  const byRepository = new Map<string, Image[]>();
  for (const image of state.images) {
    if (image.tags.length) {
      const repository = repositoryOf(image.tags[0]);
      byRepository.set(repository, [...(byRepository.get(repository) ?? []), image]);
    }
  }
  const rollbackImages = new Map<string, string>();
  for (const [repository, images] of byRepository) newestFirst(images).slice(0, policy.rollbackKeep).forEach((image, rank) => rollbackImages.set(image.id, `#${rank + 1} of the ${policy.rollbackKeep} newest images of ${repository}, kept for rollback`));
  for (const image of newestFirst(state.images)) {
    const name = image.tags.length ? image.tags.join(', ') : `dangling image ${shortId(image.id)}`;
    const usedBy = users.get(image.id);
    const protectedBy = protectedTag(image, policy);
    if (usedBy) keep(name, `used by container ${usedBy.join(', ')}`);
    else if (protectedBy) keep(name, `protected image ${protectedBy}`);
    else if (rollbackImages.has(image.id)) keep(name, rollbackImages.get(image.id)!);
    else if (!image.tags.length) change('remove image', name, 'dangling (untagged) and used by no container', image.uniqueSize, { kind: 'remove-image', id: image.id, refs: [image.id] });
    else change('remove image', name, `used by no container and older than the ${policy.rollbackKeep} newest images of ${repositoryOf(image.tags[0])}`, image.uniqueSize, { kind: 'remove-image', id: image.id, refs: image.tags });
  }

  // 3. Volumes.
  const volumeUsers = new Map<string, string[]>();
  for (const c of remaining) for (const v of c.volumes) volumeUsers.set(v, [...(volumeUsers.get(v) ?? []), c.name]);
  for (const volume of state.volumes) {
    const label = volume.anonymous ? `anonymous volume ${volume.name.slice(0, 12)}` : `volume ${volume.name}`;
    const usedBy = volumeUsers.get(volume.name);
    if (usedBy) keep(label, `used by container ${usedBy.join(', ')} (running or stopped)`);
    else if (volume.anonymous) change('remove volume', label, 'anonymous, and no remaining container uses it', volume.size, { kind: 'remove-volume', name: volume.name });
    else if (policy.removeNamedVolumes.includes(volume.name)) change('remove volume', label, 'named volume listed in SERVER_REMOVE_VOLUMES, and no container uses it', volume.size, { kind: 'remove-volume', name: volume.name });
    else keep(label, 'named volume: removed only when SERVER_REMOVE_VOLUMES names it');
  }

  // 4. Build cache.
  const stale = state.cache.filter((r) => !r.inUse && now - r.lastUsed > policy.buildCacheMaxAgeHours * HOUR);
  if (stale.length) {
    const bytes = stale.reduce((sum, r) => sum + r.size, 0);
    change('prune build cache', `${stale.length} build cache records`, `unused for more than ${policy.buildCacheMaxAgeHours}h`, bytes, { kind: 'prune-build-cache', olderThanHours: policy.buildCacheMaxAgeHours });
  }
  const unusedLeft = state.cache.filter((r) => !r.inUse && !stale.includes(r)).reduce((sum, r) => sum + r.size, 0);
  if (policy.buildCacheMaxBytes > 0 && unusedLeft > policy.buildCacheMaxBytes) {
    change('shrink build cache', `unused build cache of ${formatBytes(unusedLeft)}`, `above the ${formatBytes(policy.buildCacheMaxBytes)} bound: the least recently used records go until it fits`, unusedLeft - policy.buildCacheMaxBytes, { kind: 'shrink-build-cache', keepBytes: policy.buildCacheMaxBytes });
  }
  return { changes, kept };
}
