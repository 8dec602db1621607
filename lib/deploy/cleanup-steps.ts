/**
 * Plan section 6, step 2: "clean old containers and images". The stopped containers of the
 * project, the releases beyond the ones kept for rollback (their registry tags and host images),
 * the versions section 4 drops once the new release is in, and the collection that gives the
 * space back. Pure: decided from what lib/deploy/reading.ts read.
 */
import type { Change, Kept } from '../plan.ts';
import { isProtected } from '../server/policy.ts';
import { decideStoppedProjectContainers, RUNNING, status, type ProjectContainer } from '../host/rollback-containers.ts';
import { tagOf, type Release } from '../host/deploy-state.ts';
import type { DeployOp, DeployReading } from './steps.ts';
import { appendTo } from '../group.ts';

/** sha256:0123456789ab, for plan lines. */
export const short = (digest: string | undefined) => (digest ? digest.slice(0, 19) : 'unknown');

/**
 * Stopped containers of the project: by the rule clean:server applies (lib/host/rollback-containers.ts),
 * so neither task removes what the other keeps for rollback; in clean:all those the server task
 * already removes are its items, not repeated here.
 */
function stoppedContainerSteps(reading: DeployReading, kept: Kept[]): Change<DeployOp>[] {
  const host = reading.host;
  const byService = new Map<string, ProjectContainer[]>();
  let byServer = 0;
  for (const c of reading.containers.filter((c) => !RUNNING.has(c.state))) {
    const protection = isProtected(c, reading.rollback);
    if (protection)
      kept.push({ host, target: `container ${c.name}`, reason: `${status(c, reading.now)}, ${protection}` });
    else if (reading.removedByServer.includes(c.id)) byServer++;
    else appendTo(byService, c.service || c.image, c);
  }
  if (byServer)
    kept.push({
      host,
      target: `${byServer} stopped container${byServer === 1 ? '' : 's'} of project ${reading.rollback.composeProject}`,
      reason: 'removed by the server task earlier in this run (section 5), by the same rule',
    });
  const steps: Change<DeployOp>[] = [];
  for (const { container: c, remove, reason } of decideStoppedProjectContainers(
    byService,
    reading.rollback,
    reading.now,
  )) {
    if (remove)
      steps.push({
        action: 'remove stopped container',
        target: `${c.name} (${c.image})`,
        reason,
        bytes: 0,
        host,
        op: { kind: 'remove-container', id: c.id, force: false },
      });
    else kept.push({ host, target: `container ${c.name}`, reason });
  }
  return steps;
}

/** Clean-up of the releases that fall out of retention, and of stopped containers of the project. */
export function cleanupSteps(reading: DeployReading, dropped: Release[], kept: Kept[]): Change<DeployOp>[] {
  const host = reading.host;
  const steps: Change<DeployOp>[] = [];
  steps.push(...stoppedContainerSteps(reading, kept));
  for (const c of reading.containers.filter(
    (c) => c.state === 'running' && c.service && !reading.services.includes(c.service),
  )) {
    steps.push({
      action: 'stop and remove orphan container',
      target: `${c.name} (${c.image})`,
      reason: `its service ${c.service} is no longer in the compose file`,
      bytes: 0,
      host,
      op: { kind: 'remove-container', id: c.id, force: true },
    });
  }
  const retainedDigests = new Map<string, string>();
  for (const [tag, digest] of reading.registryDigests)
    if (!dropped.some((r) => tagOf(r.image) === tag)) retainedDigests.set(digest, tag);
  for (const release of dropped) {
    const tag = tagOf(release.image);
    const digest = reading.registryDigests.get(tag);
    if (!digest) {
      kept.push({ target: `${reading.repository}:${tag}`, reason: 'an old release, already gone from the registry' });
      continue;
    }
    const sharedWith = retainedDigests.get(digest);
    if (sharedWith)
      kept.push({
        target: `${reading.repository}:${tag} (${short(digest)})`,
        reason: `an old release, but its digest is also ${reading.repository}:${sharedWith}, which stays`,
      });
    else
      steps.push({
        action: 'delete old release tag',
        target: `${reading.repository}:${tag} (${short(digest)})`,
        reason: `release of ${release.revision} from ${release.deployedAt || 'an earlier deploy'}, beyond the ${reading.keep} releases kept for rollback`,
        bytes: 0,
        op: { kind: 'delete-tag', repository: reading.repository, tag, digest },
      });
  }
  const droppedTags = new Set(dropped.map((r) => tagOf(r.image)));
  for (const change of reading.pushedOut) {
    // A release tag beyond retention is already an item above.
    if (change.op.tags.every((t) => droppedTags.has(t))) continue;
    steps.push({
      action: `registry: ${change.action}`,
      target: change.target,
      reason: `${change.reason} (once the new release counts among the last versions)`,
      bytes: change.bytes,
      op: { kind: 'registry', change },
    });
  }
  for (const release of dropped) {
    if (reading.hostImages.includes(release.image))
      steps.push({
        action: 'remove old release image',
        target: release.image,
        reason: `beyond the ${reading.keep} releases kept for rollback`,
        bytes: 0,
        host,
        op: { kind: 'remove-image', ref: release.image },
      });
  }
  if (reading.canCollect && steps.some((s) => s.op.kind === 'delete-tag' || s.op.kind === 'registry')) {
    steps.push({
      action: 'collect registry garbage',
      target: `registry storage on ${reading.registryHost}`,
      reason: 'tags were deleted: garbage collection gives their space back (registry stopped meanwhile)',
      bytes: 0,
      host: reading.registryHost,
      op: { kind: 'collect' },
    });
  }
  return steps;
}
