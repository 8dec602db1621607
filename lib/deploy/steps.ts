/**
 * The deploy as a list of steps, decided while planning: lock, (bring back), build, push, mark, ship, pull, up,
 * health gate, promote, record, then each clean-up item and the collection (lib/deploy/cleanup-steps.ts). Pure functions of
 * what was read; apply (lib/deploy/apply.ts) carries the list out in this order and nothing else.
 * A value that only exists later (the revision an earlier task's commit makes, the digest a
 * push returns) is a *stated* input: apply checks it against the statement and stops if they differ.
 */
import { emptyPlan, type Change, type Plan } from '../plan.ts';
import type { DeletionOp } from '../registry/plan.ts';
import type { HostPath, ShippedFile } from './compose-files.ts';
import { advance, type DeployState, type Release } from '../host/deploy-state.ts';
import { formatBytes } from '../units.ts';
import type { DeployMarker } from './marker.ts';
import type { ServerPolicy } from '../server/policy.ts';
import type { ProjectContainer, RollbackRule } from '../host/rollback-containers.ts';
import { cleanupSteps, short } from './cleanup-steps.ts';
import {
  chooseRollout,
  expectedDowntime,
  type Beside,
  type Container,
  type Move,
  type Rollout,
  type RolloutInputs,
} from './rollout.ts';
import {
  describeRecovery,
  markStep,
  recoverSteps,
  recoveryFor,
  type BringBack,
  type Recovery,
} from './recovery-steps.ts';

/** Which revision the build takes: HEAD as planned, or the commit an earlier task will make on top of `base`. */
export type RevisionStatement = { kind: 'head'; revision: string } | { kind: 'after-commit'; base: string; by: string };

export type DeployOp =
  | { kind: 'lock' }
  /** An earlier run was killed between its marker and its health gate: its release comes back first. */
  | { kind: 'recover'; marker: DeployMarker; startedNothing: boolean; urls: string[]; timeoutSeconds: number }
  /** Saves what is there (restore-before), then writes the marker; a failed ship/pull/up brings `back` back. */
  | ({ kind: 'mark'; saveBefore: boolean } & BringBack)
  | {
      kind: 'build';
      statement: RevisionStatement;
      contentKey?: string;
      tagSuffix: string;
      context: string;
      dockerfile: string;
    }
  | { kind: 'push' }
  /** `port`: DEPLOY_SECOND_PORT's variable as this release listens on (blue/green), written into the .env. */
  | { kind: 'ship'; files: ShippedFile[]; port?: string }
  | { kind: 'set-image'; release: Release; port?: string }
  /** compose pull; `imageOnly`: `docker pull` of the new image, when the compose file and .env are the serving release's. */
  | { kind: 'pull'; imageOnly?: boolean }
  /** compose up; then the services in `recreate` are recreated: a file they read changed, which compose cannot see. */
  | { kind: 'up'; recreate?: string[] }
  /** compose up --scale with --no-recreate: the new release's container beside the serving ones, healthy by compose's check. */
  | { kind: 'start-beside'; service: string; serving: string[]; timeoutSeconds: number }
  /** compose recreates the front: its image changed, which no reload can apply. */
  | { kind: 'restart-front'; front: string }
  /** The front's upstream names the new container (`from` → the container), nginx -t, reload. */
  | { kind: 'switch-front'; front: string; service: string; files: string[]; move: Move }
  | { kind: 'drain'; seconds: number }
  | { kind: 'remove-old'; containers: Container[] }
  /** nginx -t, then reload: the front loads changed files it reads, without a restart. */
  | { kind: 'reload-front'; front: string }
  /** The shipped configuration back (the service name, which now resolves to the new container only), reload. */
  | { kind: 'settle-front'; front: string; service: string; files: string[] }
  | { kind: 'gate'; urls: string[]; timeoutSeconds: number; recovery: Recovery }
  | { kind: 'promote'; tags: string[] }
  | { kind: 'record'; keep: number }
  | { kind: 'record-rollback'; image: string }
  | { kind: 'remove-container'; id: string; force: boolean }
  | { kind: 'delete-tag'; repository: string; tag: string; digest: string }
  /** A version section 4 no longer keeps once the new one is in (lib/deploy/registry-versions.ts). */
  | { kind: 'registry'; change: Change<DeletionOp> }
  | { kind: 'remove-image'; ref: string }
  | { kind: 'collect' };

export interface DeployReading {
  /** DEPLOY_IMAGE: the repository reference, without a tag. */
  image: string;
  /** The registry repository name of DEPLOY_IMAGE. */
  repository: string;
  host: string;
  statement: RevisionStatement;
  /** Known when the build takes HEAD; unknown before an earlier task's commit. */
  contentKey?: string;
  allowedDirty: string[];
  context: string;
  dockerfile: string;
  composeFile: string;
  services: string[];
  files: ShippedFile[];
  /** What decides whether the new release starts beside the serving one (lib/deploy/rollout.ts). */
  rollout: RolloutInputs;
  /** The value of DEPLOY_SECOND_PORT's variable in the host's .env (host networking, blue/green). */
  servingPort?: number;
  /** The compose file and the .env's settings are those the serving release shipped (compose would change nothing). */
  composeUnchanged?: boolean;
  /** The id each shipped file counts with in the content key (blob id, or a secret's hash), by its project path. */
  fileIds?: Record<string, string>;
  /** Absolute paths the compose file mounts from the host, found there. */
  hostPaths: HostPath[];
  state: DeployState;
  containers: ProjectContainer[];
  /** Stopped containers of the project: the rule clean:server applies too, and its protections. */
  rollback: RollbackRule & Pick<ServerPolicy, 'protectNames' | 'protectLabels'>;
  /** Containers the server task removes from this host earlier in the same run (clean:all). */
  removedByServer: string[];
  now: number;
  healthy: boolean;
  composeOnHost: boolean;
  promoteTags: string[];
  keep: number;
  healthUrls: string[];
  healthTimeoutSeconds: number;
  /** DEPLOY_DRAIN_SECONDS: how long the old API container serves on after the front moved. */
  drainSeconds: number;
  /** Digest of each tag of the repository (final, latest, release tags) as the registry has it now. */
  registryDigests: Map<string, string>;
  /** Image references present on the host. */
  hostImages: string[];
  /** Versions of the image that section 4's policy drops once the new release is in. */
  pushedOut: Change<DeletionOp>[];
  canCollect: boolean;
  /** Where the collection runs: REGISTRY_HOST, or local. */
  registryHost: string;
  /** Left by a deploy or rollback killed before its health gate passed (lib/deploy/marker.ts). */
  marker?: DeployMarker;
  /** Who holds the deploy lock now, as the plan says it (taken over, --force, or waited for); none when free. */
  lockHolder?: string;
}

export function describeStatement(s: RevisionStatement, context: string): string {
  return s.kind === 'head'
    ? `revision ${s.revision} (HEAD)`
    : `the revision the ${s.by} commit will make (the tree of ${context}/ after that commit, based on HEAD ${s.base})`;
}

/** Services recreated after the up because a file they read changed, and why. */
interface Recreate {
  services: string[];
  why: string;
}

/**
 * Steps shared by deploy and rollback after the image is chosen: pull, then the new release takes
 * over (beside the old one, or in place: lib/deploy/rollout.ts), the health gate, promote.
 */
function bootSteps(
  reading: DeployReading,
  rollout: Rollout,
  target: string,
  recovery: Recovery,
  promoteWhat: string,
  recreate: Recreate = { services: [], why: '' },
): Change<DeployOp>[] {
  const host = reading.host;
  const gate: Change<DeployOp> = {
    action: 'health gate',
    target: reading.healthUrls.join(', '),
    reason:
      `each must answer 2xx within ${reading.healthTimeoutSeconds}s` +
      `${rollout.kind === 'beside' ? `, now through ${rollout.front} moved to the new container` : ''}; ` +
      `if not: ${describeRecovery(recovery)}, and the deploy stops here`,
    bytes: 0,
    host,
    op: { kind: 'gate', urls: reading.healthUrls, timeoutSeconds: reading.healthTimeoutSeconds, recovery },
  };
  return [
    {
      action: 'pull',
      target,
      reason:
        'on the server, before anything stops, so a registry problem shows first' +
        (reading.composeUnchanged
          ? ' (this image alone: the compose file and .env are those the serving release shipped)'
          : ''),
      bytes: 0,
      host,
      op: { kind: 'pull', ...(reading.composeUnchanged ? { imageOnly: true } : {}) },
    },
    ...(rollout.kind !== 'beside'
      ? [upStep(reading, target, recreate), ...backToFirstPort(reading), gate]
      : rollout.keepsApi
        ? [...reloadStep(reading, rollout, recreate), upStep(reading, target, recreate, rollout), gate]
        : besideSteps(reading, rollout, target, gate, recreate)),
    ...(reading.promoteTags.length
      ? [
          {
            action: 'promote',
            target: reading.promoteTags.map((t) => `${reading.repository}:${t}`).join(', '),
            reason:
              `moved to ${promoteWhat} only after the gate passed (now: ` +
              `${reading.promoteTags.map((t) => `${t} → ${short(reading.registryDigests.get(t))}`).join(', ')})`,
            bytes: 0,
            op: { kind: 'promote' as const, tags: reading.promoteTags },
          },
        ]
      : []),
  ];
}

/** compose up: in place, every service; after a switch, the rest (what compose finds changed). */
function upStep(reading: DeployReading, target: string, recreate: Recreate, beside?: Beside): Change<DeployOp> {
  const services = beside
    ? recreate.services.filter((s) => s !== beside.service && s !== beside.front)
    : recreate.services;
  const what = beside
    ? `for the rest: ${beside.service} and ${beside.front} are as compose wants them, so it only creates a ` +
      `missing service or recreates one whose compose settings changed` +
      (beside.serving.length > 1 || beside.scale > 1
        ? `, and gives ${beside.service} the ${beside.scale} container${beside.scale === 1 ? '' : 's'} its compose ` +
          `file asks for (${beside.serving.length} served before)`
        : '')
    : `(re)creates ${reading.services.join(', ')} with ${target}`;
  return {
    action: 'up',
    target: `project ${reading.composeFile}`,
    reason:
      `compose up ${what}${services.length ? `, then recreates ${services.join(', ')}: ${recreate.why}` : ''}; ` +
      `no other container is touched`,
    bytes: 0,
    host: reading.host,
    op: services.length ? { kind: 'up', recreate: services } : { kind: 'up' },
  };
}

/**
 * In place on the host's network after a blue/green deploy left the API on the second port: it
 * comes back on the first, which the shipped front files name, so the front reloads them.
 */
function backToFirstPort(reading: DeployReading): Change<DeployOp>[] {
  const port = reading.rollout.secondPort;
  const front = reading.rollout.portFiles?.flatMap((f) => f.readers ?? []).find((r) => r !== reading.rollout.api?.name);
  if (!port || reading.servingPort !== port.second || !front) return [];
  return [
    {
      action: 'reload front',
      target: front,
      reason: `the API listens on ${port.first} again (it served on ${port.second}), which the shipped files name: nginx -t, then nginx -s reload`,
      bytes: 0,
      host: reading.host,
      op: { kind: 'reload-front', front },
    },
  ];
}

/** The front reads changed files: nginx -t and a reload load them, where compose would need a restart. */
function reloadStep(reading: DeployReading, b: Beside, recreate: Recreate): Change<DeployOp>[] {
  if (!recreate.services.includes(b.front)) return [];
  return [
    {
      action: 'reload front',
      target: b.front,
      reason: `${recreate.why}: nginx -t, then nginx -s reload loads them without a restart`,
      bytes: 0,
      host: reading.host,
      op: { kind: 'reload-front', front: b.front },
    },
  ];
}

/** start beside, switch, gate, drain, remove old, settle: the old release serves until the new one does. */
function besideSteps(
  reading: DeployReading,
  b: Beside,
  target: string,
  gate: Change<DeployOp>,
  recreate: Recreate,
): Change<DeployOp>[] {
  const host = reading.host;
  const old = b.serving.map((c) => c.name).join(', ');
  const files = b.frontFiles.join(', ');
  const reloaded = recreate.services.includes(b.front)
    ? `; the reload also loads the changed files ${b.front} reads`
    : '';
  // After the switch compose has nothing left to do, unless another service or the file changed, or
  // the API runs several containers: one new one replaced them all, and compose restores its scale.
  const others = reading.services.filter((s) => s !== b.service && s !== b.front);
  const scaled = b.serving.length > 1 || b.scale > 1;
  const rest = others.length > 0 || !reading.composeUnchanged || scaled;
  return [
    ...(b.frontRestart
      ? [
          {
            action: 'restart front',
            target: b.front,
            reason: `${b.frontRestart}; before the switch, so the new front takes the switch`,
            bytes: 0,
            host,
            op: { kind: 'restart-front' as const, front: b.front },
          },
        ]
      : []),
    {
      action: 'start beside',
      target: `${b.service} with ${target}`,
      reason:
        `compose up --scale ${b.service}=${b.serving.length + 1} --no-recreate: a new container beside ${old}, ` +
        `which keeps serving; it must turn healthy by its compose healthcheck within ` +
        `${reading.healthTimeoutSeconds}s, or it is removed and ${old} serves on` +
        (recreate.services.includes(b.service) ? `; ${recreate.why}` : ''),
      bytes: 0,
      host,
      op: {
        kind: 'start-beside',
        service: b.service,
        serving: b.serving.map((c) => c.id),
        timeoutSeconds: reading.healthTimeoutSeconds,
      },
    },
    {
      action: 'switch front',
      target: `${b.front}: ${files}`,
      reason:
        (b.move.by === 'port'
          ? `127.0.0.1:${b.move.first} in ${files} becomes 127.0.0.1:${b.move.to} (the new release's port) on the host`
          : `${b.service}:PORT in ${files} names the new container on the host`) +
        `, nginx -t, then nginx -s reload (no restart: old workers finish their requests)${reloaded}`,
      bytes: 0,
      host,
      op: { kind: 'switch-front', front: b.front, service: b.service, files: b.frontFiles, move: b.move },
    },
    gate,
    {
      action: 'drain',
      target: old,
      reason: `DEPLOY_DRAIN_SECONDS: requests ${old} took before the switch finish`,
      bytes: 0,
      host,
      op: { kind: 'drain', seconds: reading.drainSeconds },
    },
    {
      action: 'remove old',
      target: old,
      reason:
        'docker stop (SIGTERM, then its stop timeout), then docker rm: the new container serves' +
        (rest
          ? ''
          : `; no compose up after it: the compose file and its .env are those the serving release ` +
            `shipped, and the project runs only ${b.service} and ${b.front}`),
      bytes: 0,
      host,
      op: { kind: 'remove-old', containers: b.serving },
    },
    ...(b.move.by === 'name'
      ? [
          {
            action: 'settle front',
            target: `${b.front}: ${files}`,
            reason:
              `the shipped configuration back (${b.service}:PORT, which now resolves to the new container only), ` +
              `nginx -t, reload: the host's files are the repository's again`,
            bytes: 0,
            host,
            op: { kind: 'settle-front' as const, front: b.front, service: b.service, files: b.frontFiles },
          },
        ]
      : []),
    ...(rest ? [upStep(reading, target, recreate, b)] : []),
    // nginx resolves the service name when it loads: the settle's reload saw the new container
    // alone, so it reloads once compose has started the others.
    ...(b.scale > 1 && b.move.by === 'name'
      ? [
          {
            action: 'reload front',
            target: b.front,
            reason:
              `compose up gave ${b.service} the ${b.scale} container${b.scale === 1 ? '' : 's'} its compose file ` +
              `asks for; nginx resolves ${b.service}:PORT when it loads, so nginx -t and a reload spread ` +
              `requests over all of them`,
            bytes: 0,
            host,
            op: { kind: 'reload-front' as const, front: b.front },
          },
        ]
      : []),
  ];
}

/** The deploy's plan: its items, and the uncommitted files --allow-dirty lets the build take. */
export interface DeployPlan extends Plan<DeployOp> {
  allowedDirty: string[];
}

const emptyDeployPlan = (reading: Pick<DeployReading, 'allowedDirty'>): DeployPlan => ({
  ...emptyPlan<DeployOp>('deploy'),
  allowedDirty: reading.allowedDirty,
});

/**
 * The project's containers as the new release finds them: an interrupted run's bring-back step,
 * planned first, removes what that run started beside the serving containers.
 */
function afterBringBack(reading: DeployReading): DeployReading['containers'] {
  const recovery = reading.marker?.recovery;
  const beside = recovery?.kind === 'restore-before' ? recovery.beside : undefined;
  if (!beside) return reading.containers;
  const keep = new Set(beside.keep.map((c) => c.id));
  return reading.containers.filter((c) => c.service !== beside.service || keep.has(c.id));
}

/** Blue/green on the host's network: the port the new release listens on, as a .env line. */
const portOf = (rollout: Rollout) =>
  rollout.kind === 'beside' && rollout.move.by === 'port' ? { port: `${rollout.move.key}=${rollout.move.to}` } : {};
const portLine = (rollout: Rollout) => {
  const { port } = portOf(rollout);
  return port ? ` and ${port} (the other port: the serving release keeps its own)` : '';
};

/** A shipped file as the plan names it: path and size; a secret is marked, its contents never shown. */
export function describeFile(f: ShippedFile): string {
  return `${f.path} (${formatBytes(f.bytes)}${f.secret ? ', secret: not in git' : ''})`;
}

/** Shipped files whose id differs from the one the serving release recorded (nothing recorded: none changed). */
export function changedFiles(reading: DeployReading): ShippedFile[] {
  const before = reading.state.current?.files;
  const now = reading.fileIds;
  if (!before || !now) return [];
  // A file new to this release came with a change of the compose file, which compose itself sees.
  return reading.files.filter((f) => now[f.path] && before[f.path] && before[f.path] !== now[f.path]);
}

/** The deploy plan: nothing when the content serving now is the content wanted, healthy. */
export function planDeploy(reading: DeployReading): DeployPlan {
  const plan = emptyDeployPlan(reading);
  const current = reading.state.current;
  const runningCurrent = current && reading.containers.some((c) => c.state === 'running' && c.image === current.image);
  const allRunning = reading.services.every((s) =>
    reading.containers.some((c) => c.service === s && c.state === 'running'),
  );
  plan.figures.push({
    label: 'serving now',
    value: current
      ? `${current.image} (content ${current.contentKey ?? 'unknown'}, ${short(current.digest)})`
      : 'nothing deployed yet',
  });
  plan.figures.push({
    label: 'wanted',
    value: `${describeStatement(reading.statement, reading.context)}${reading.contentKey ? `, content ${reading.contentKey}` : ''}`,
  });
  if (reading.hostPaths.length)
    plan.figures.push({
      label: 'expected on the host',
      value: `${reading.hostPaths.map((p) => `${p.path} (${p.services.join(', ')})`).join(', ')}: the host's own, found there; never shipped`,
    });
  if (
    reading.contentKey &&
    current?.contentKey === reading.contentKey &&
    runningCurrent &&
    allRunning &&
    reading.healthy &&
    !reading.marker
  ) {
    plan.kept.push({
      host: reading.host,
      target: current.image,
      reason:
        `already deployed, running and healthy: its content (${reading.contentKey}: build ` +
        `context, Dockerfile, compose file, shipped files) is what would be built`,
    });
    return plan;
  }
  const changed = changedFiles(reading);
  const why = reading.marker
    ? 'an interrupted run left the host between releases'
    : !current
      ? 'nothing deployed yet'
      : current.contentKey !== reading.contentKey
        ? `the content changed since ${current.image}${changed.length ? ` (shipped files changed: ${changed.map(describeFile).join(', ')})` : ''}`
        : !allRunning
          ? 'not every service is running'
          : 'it does not answer healthy';
  const suffix = reading.allowedDirty.length ? `-dirty-${(reading.contentKey ?? 'x').slice(0, 8)}` : '';
  const tag =
    reading.statement.kind === 'head'
      ? `${reading.statement.revision}${suffix}`
      : `<revision after the ${reading.statement.by} commit>${suffix}`;
  const target = `${reading.image}:${tag}`;
  if (reading.allowedDirty.length)
    plan.notes.push(
      `--allow-dirty: the build takes uncommitted changes in ${reading.allowedDirty.join(', ')}; the image is tagged ${tag}.`,
    );
  const apiReads = changed.some((f) => reading.rollout.api && f.readers?.includes(reading.rollout.api.name));
  const rollout = chooseRollout(reading.rollout, {
    containers: afterBringBack(reading),
    removedByServer: reading.removedByServer,
    apiChanges: current?.image !== target || apiReads,
    servingPort: reading.servingPort,
  });
  plan.figures.push({ label: 'expected downtime', value: expectedDowntime(rollout) });
  const recovery = recoveryFor(reading, rollout);
  const { dropped } = advance(reading.state, { image: target, revision: tag, deployedAt: '' }, reading.keep);
  const host = reading.host;
  const shippedBytes = reading.files.reduce((n, f) => n + f.bytes, 0);
  plan.changes.push(
    {
      action: 'lock',
      target: `${host} deploy lock`,
      reason: lockReason(reading, 'one deploy at a time on this server (released at the end, also on failure)'),
      bytes: 0,
      host,
      op: { kind: 'lock' },
    },
    ...recoverSteps(reading),
    {
      action: 'build',
      target,
      reason: `${why}; builds ${reading.context}/${reading.dockerfile} at ${describeStatement(reading.statement, reading.context)}`,
      bytes: 0,
      op: {
        kind: 'build',
        statement: reading.statement,
        contentKey: reading.contentKey,
        tagSuffix: suffix,
        context: reading.context,
        dockerfile: reading.dockerfile,
      },
    },
    {
      action: 'push',
      target,
      reason: 'under its content tag only; final moves after the health gate',
      bytes: 0,
      op: { kind: 'push' },
    },
    markStep(reading, recovery, 'the ship'),
    {
      action: 'ship',
      target: [reading.composeFile, '.env', ...reading.files.map(describeFile)].join(', '),
      reason:
        `the compose file, its .env naming ${target}${portLine(rollout)}, and the ${reading.files.length} ` +
        `file${reading.files.length === 1 ? '' : 's'} it mounts or reads (${formatBytes(shippedBytes)})` +
        (reading.files.some((f) => f.secret)
          ? '; secrets (files git does not track) come from the working tree, mode 0600 in 0700 folders, never printed'
          : ''),
      bytes: 0,
      host,
      op: { kind: 'ship', files: reading.files, ...portOf(rollout) },
    },
    ...bootSteps(reading, rollout, target, recovery, `the digest of ${target}`, {
      services: [...new Set(changed.flatMap((f) => f.readers ?? []))]
        .filter((r) => reading.services.includes(r))
        .sort(),
      why:
        `they read ${changed.map((f) => f.path).join(', ')}, which changed (compose recreates a ` +
        `service for a changed image or environment, not for a changed file)`,
    }),
    {
      action: 'record release',
      target,
      reason: `deploy-state.json: it serves; the ${reading.keep} newest releases are kept for rollback`,
      bytes: 0,
      host,
      op: { kind: 'record', keep: reading.keep },
    },
    ...cleanupSteps(reading, dropped, plan.kept),
  );
  return plan;
}

/** The lock step's reason, with who holds the lock now when someone does. */
const lockReason = (reading: DeployReading, why: string) =>
  reading.lockHolder ? `${why}; the lock is ${reading.lockHolder}` : why;

/** A rollback to a retained release: set its image, pull, up, gate, promote, record. */
export function planRollback(reading: DeployReading, release: Release): DeployPlan {
  const plan = emptyDeployPlan(reading);
  const rollout = chooseRollout(reading.rollout, {
    containers: afterBringBack(reading),
    removedByServer: reading.removedByServer,
    apiChanges: true,
    servingPort: reading.servingPort,
  });
  const recovery = recoveryFor(reading, rollout);
  const host = reading.host;
  plan.figures.push({ label: 'serving now', value: reading.state.current?.image ?? 'nothing recorded' });
  plan.figures.push({ label: 'expected downtime', value: expectedDowntime(rollout) });
  plan.changes.push(
    {
      action: 'lock',
      target: `${host} deploy lock`,
      reason: lockReason(reading, 'one deploy at a time on this server'),
      bytes: 0,
      host,
      op: { kind: 'lock' },
    },
    ...recoverSteps(reading),
    markStep(reading, recovery, 'setting the image'),
    {
      action: 'set image',
      target: release.image,
      reason: `the project's .env names the release of ${release.revision} (${short(release.digest)}, deployed ${release.deployedAt})${portLine(rollout)}`,
      bytes: 0,
      host,
      op: { kind: 'set-image', release, ...portOf(rollout) },
    },
    ...bootSteps(reading, rollout, release.image, recovery, release.digest ?? release.image),
    {
      action: 'record rollback',
      target: release.image,
      reason: 'deploy-state.json: it serves again',
      bytes: 0,
      host,
      op: { kind: 'record-rollback', image: release.image },
    },
  );
  return plan;
}
