/**
 * Carries out the deploy plan's steps in their order, each exactly as planned. The values the
 * plan could only state (the revision an earlier commit makes, the digest a push gives) are
 * resolved here and checked against the statement: a mismatch stops the deploy. A failed health
 * gate runs the recovery the plan chose and stops; the steps after it are reported not started.
 */
import { join } from 'node:path';
import { messageOf, TaskError } from '../errors.ts';
import type { Lock } from '../lock.ts';
import type { Change } from '../plan.ts';
import type { RegistryClient } from '../registry/client.ts';
import { deleteManifest } from '../registry/api.ts';
import { applyRegistryPlan } from '../registry/apply.ts';
import type { ApplyOutcome } from '../task.ts';
import { host } from './commands.ts';
import { contentIds, headRevision, keyOf, parentRevision, shippedIds, type ContentInputs } from './content.ts';
import type { ShippedFile } from './compose-files.ts';
import * as step from './deployer.ts';
import { discard, pointFront, reloadFront, removeContainers, startBeside, startedBeside } from './switch.ts';
import { portPattern, upstreamPattern, type Container } from './rollout.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestOf, moveTag, removeUnlessGone } from './deployer.ts';
import { advance, rollBackTo, type Release } from '../host/deploy-state.ts';
import { clearMarker, describeMarker, readMarker, writeMarker } from './marker.ts';
import { describeRecovery, type BesideRecovery, type BringBack } from './recovery-steps.ts';
import type { DeployOp } from './steps.ts';

export interface DeployDeps {
  server: step.Server;
  builder: step.Builder;
  /** The backend repository (BACKEND_DIR) and the folder of the compose file in it. */
  repo: string;
  projectDir: string;
  composeFile: string;
  /** DEPLOY_IMAGE and its registry repository name. */
  image: string;
  repository: string;
  extraEnv: string[];
  contentInputs: ContentInputs;
  /** A shipped file's path in the repository. */
  repoPath: (projectPath: string) => string;
  /** The files the plan ships (their ids are recorded with the release). */
  shipped: ShippedFile[];
  dirty: string[];
  registry: RegistryClient;
  /** Records that deletions wait for a collection, so a later registry run plans one if this deploy does not collect. */
  markCollectionPending(): void;
  collect(): Promise<string>;
  /** DEPLOY_DRAIN_SECONDS, in ms: how long a container the front left keeps serving before it goes. */
  drainMs: number;
  /** DEPLOY_HEALTH_PROBE_TIMEOUT_SECONDS, in ms: how long one health probe waits for an answer. */
  probeTimeoutMs: number;
  /** Names this run in the marker: "deploy:clean pid 123 on build-box". */
  run: string;
  /** Takes the deploy lock (waits, then stops naming the holder); released on every exit path. */
  lock(): Promise<Lock>;
  onClose(close: () => Promise<void>): void;
  progress(message: string): void;
  signal: AbortSignal;
}

/** What apply learns on the way: the release being booted, and what brings back the one before while the marker is down. */
interface Resolved {
  revision?: string;
  image?: string;
  digest?: string;
  contentKey?: string;
  files?: Record<string, string>;
  underWay?: BringBack;
  /** The container started beside the serving ones, once it is healthy. */
  fresh?: Container;
}

/** The deploy stops here: the message says why and what to do. */
class Stop extends TaskError {}

export async function applyDeploy(changes: Change<DeployOp>[], deps: DeployDeps, outcome: ApplyOutcome): Promise<void> {
  const resolved: Resolved = {};
  for (const [index, change] of changes.entries()) {
    if (deps.signal.aborted) {
      outcome.notes.push(...changes.slice(index).map((c) => `not started (interrupted): ${c.action} ${c.target}`));
      return;
    }
    deps.progress(`${change.action}: ${change.target}`);
    try {
      await runStep(change.op, deps, resolved, outcome);
      outcome.done.push(change);
    } catch (error) {
      outcome.failed.push({ action: change.action, target: change.target, host: change.host, error: messageOf(error) });
      outcome.notes.push(...changes.slice(index + 1).map((c) => `not started: ${c.action} ${c.target}`));
      const promoted = changes.find((c) => c.op.kind === 'promote')?.op as { tags: string[] } | undefined;
      for (const tag of promoted?.tags ?? [])
        outcome.notes.push(
          `${deps.repository}:${tag} points to ` +
            `${(await digestOf(deps.registry, deps.repository, tag).catch(() => undefined)) ?? 'nothing'} ` +
            `(unchanged by this run)`,
        );
      return;
    }
  }
  if (resolved.image)
    outcome.figures.push({
      label: 'serving',
      value: `${resolved.image} (${resolved.digest ?? 'digest unknown'})${resolved.revision ? `, revision ${resolved.revision}` : ''}`,
    });
}

async function runStep(op: DeployOp, deps: DeployDeps, resolved: Resolved, outcome: ApplyOutcome): Promise<void> {
  const { server } = deps;
  switch (op.kind) {
    case 'lock': {
      const held = await deps.lock();
      deps.onClose(() => held.release());
      return;
    }
    case 'build': {
      const head = await headRevision(deps.builder.runner, deps.repo);
      if (op.statement.kind === 'head' && head !== op.statement.revision)
        throw new Stop(`the plan builds revision ${op.statement.revision}, but HEAD is now ${head}: plan again.`);
      if (op.statement.kind === 'after-commit') {
        const parent = await parentRevision(deps.builder.runner, deps.repo, head);
        if (head === op.statement.base || parent !== op.statement.base)
          throw new Stop(
            `the plan builds the revision the ${op.statement.by} commit makes on top of ` +
              `${op.statement.base}, but HEAD is ${head} (parent ${parent ?? 'none'}): plan again.`,
          );
      }
      const ids = await contentIds(deps.builder.runner, deps.repo, deps.contentInputs, deps.dirty);
      const key = keyOf(ids);
      if (op.contentKey && key !== op.contentKey)
        throw new Stop(`the content changed since the plan (${op.contentKey} planned, ${key} now): plan again.`);
      Object.assign(resolved, {
        revision: head,
        contentKey: key,
        files: shippedIds({ files: deps.shipped, composeFile: deps.composeFile, repoPath: deps.repoPath }, ids),
        image: `${deps.image}:${head}${op.tagSuffix}`,
      });
      outcome.figures.push({
        label: 'revision built',
        value:
          `${head}${op.statement.kind === 'after-commit' ? ` (the ${op.statement.by} commit on top of ${op.statement.base}, as planned)` : ' (as planned)'}, ` +
          `content ${key}`,
      });
      await step.build(deps.builder, join(deps.repo, op.context), op.dockerfile, resolved.image!);
      return;
    }
    case 'push': {
      await step.push(deps.builder, resolved.image!);
      resolved.digest = await digestOf(
        deps.registry,
        deps.repository,
        resolved.image!.slice(resolved.image!.lastIndexOf(':') + 1),
      );
      if (!resolved.digest) throw new Stop(`${resolved.image} was pushed but the registry does not list it.`);
      return;
    }
    case 'recover': {
      const now = await readMarker(server.runner, server.dir);
      if (now?.run !== op.marker.run || now?.since !== op.marker.since)
        throw new Stop(
          `the marker of ${op.marker.run} changed since the plan (now: ${now ? `${now.run} since ${now.since}` : 'gone'}): plan again.`,
        );
      const back = await bringBack(deps, {
        ...op.marker,
        startedNothing: op.startedNothing,
        urls: op.urls,
        timeoutSeconds: op.timeoutSeconds,
      });
      outcome.notes.push(`brought back first: ${describeMarker(op.marker)}; ${back.text}`);
      return;
    }
    case 'mark':
      if (op.saveBefore) await step.saveBefore(server);
      await writeMarker(server.runner, server.dir, {
        run: deps.run,
        since: new Date().toISOString(),
        release: op.release,
        recovery: op.recovery,
      });
      resolved.underWay = op;
      return;
    case 'ship':
      await underWay('ship', deps, resolved, outcome, () =>
        step.ship(
          server,
          deps.projectDir,
          deps.composeFile,
          op.files,
          resolved.image!,
          withPort(deps.extraEnv, op.port),
        ),
      );
      return;
    case 'set-image':
      Object.assign(resolved, { image: op.release.image, digest: op.release.digest, revision: op.release.revision });
      await underWay('set image', deps, resolved, outcome, () =>
        step.setImage(server, op.release.image, withPort(deps.extraEnv, op.port)),
      );
      return;
    case 'pull':
      if (op.imageOnly)
        await underWay('docker pull', deps, resolved, outcome, () => step.pullImage(server, resolved.image!));
      else await underWay('compose pull', deps, resolved, outcome, () => step.pull(server));
      return;
    case 'up':
      await underWay('compose up', deps, resolved, outcome, async () => {
        await step.up(server);
        if (op.recreate?.length) await step.recreate(server, op.recreate);
      });
      return;
    case 'restart-front':
      await underWay('restart the front', deps, resolved, outcome, () => step.upService(server, op.front));
      return;
    case 'start-beside':
      await underWay('start beside', deps, resolved, outcome, async () => {
        resolved.fresh = await startBeside(server, op.service, op.serving, op.timeoutSeconds * 1000, deps.signal);
        outcome.notes.push(`${resolved.fresh.name} started beside the serving container and is healthy`);
      });
      return;
    case 'switch-front':
      await underWay('switch the front', deps, resolved, outcome, () =>
        op.move.by === 'port'
          ? pointFront(server, op.front, op.files, portPattern(op.move.first), String(op.move.to))
          : pointFront(server, op.front, op.files, upstreamPattern(op.service), resolved.fresh!.name),
      );
      return;
    case 'reload-front':
      await underWay('reload the front', deps, resolved, outcome, () => reloadFront(server, op.front));
      return;
    case 'drain':
      await sleep(op.seconds * 1000);
      return;
    case 'remove-old':
      await removeContainers(
        server,
        op.containers.map((c) => c.id),
      );
      return;
    case 'settle-front':
      await pointFront(server, op.front, op.files, upstreamPattern(resolved.fresh!.name), op.service, {
        sameContainer: true,
      });
      return;
    case 'gate': {
      const result = await step.gate(op.urls, op.timeoutSeconds * 1000, deps.probeTimeoutMs, deps.signal);
      if (result.healthy) {
        await clearMarker(server.runner, server.dir);
        resolved.underWay = undefined;
        outcome.figures.push({ label: 'health', value: result.detail });
        return;
      }
      const logs = await step.lastLogs(server);
      const back = await bringBack(deps, {
        recovery: op.recovery,
        release: resolved.underWay?.release,
        urls: op.urls,
        timeoutSeconds: op.timeoutSeconds,
      });
      outcome.notes.push(`health gate failed: ${back.text}`);
      outcome.figures.push({ label: 'serving', value: back.serving });
      throw new Stop(
        `${resolved.image} did not become healthy within ${op.timeoutSeconds}s (${result.detail}); ${back.text}.\nLast log lines:\n${logs}`,
      );
    }
    case 'promote':
      for (const tag of op.tags) {
        await moveTag(deps.registry, deps.repository, tag, resolved.digest!);
        outcome.notes.push(`${deps.repository}:${tag} → ${resolved.digest}`);
      }
      return;
    case 'record': {
      const release: Release = {
        image: resolved.image!,
        digest: resolved.digest,
        revision: resolved.revision!,
        contentKey: resolved.contentKey,
        ...(resolved.files ? { files: resolved.files } : {}),
        deployedAt: new Date().toISOString(),
      };
      await step.writeState(server, advance(await step.readState(server), release, op.keep).state);
      return;
    }
    case 'record-rollback':
      await step.writeState(server, rollBackTo(await step.readState(server), op.image));
      return;
    case 'remove-container':
      await removeUnlessGone(server.runner, host.removeContainer(op.id, op.force), /No such container/i, outcome);
      return;
    case 'delete-tag': {
      const now = await digestOf(deps.registry, op.repository, op.tag);
      if (now !== op.digest)
        throw new Stop(
          `${op.repository}:${op.tag} points to ${now ?? 'nothing'} now, not ${op.digest} as planned: not deleted.`,
        );
      await deleteManifest(deps.registry, op.repository, op.digest);
      deps.markCollectionPending();
      return;
    }
    case 'registry': {
      const result = await applyRegistryPlan(
        deps.registry,
        {
          task: 'registry',
          changes: [op.change],
          kept: [],
          refused: [],
          figures: [],
          notes: [],
          keptTags: [],
          sizeNow: 0,
          sizeAfter: 0,
        },
        1,
        deps.signal,
      );
      if (result.done.length) deps.markCollectionPending();
      if (result.failed.length) throw new Stop(result.failed.map((f) => f.error).join('; '));
      return;
    }
    case 'remove-image':
      await removeUnlessGone(server.runner, host.removeImage(op.ref), /No such image/i, outcome);
      return;
    case 'collect':
      outcome.notes.push(`garbage collection: ${await deps.collect()}`);
      return;
  }
}

/**
 * Brings back what served before, as the plan chose (restore the saved files and up, or down what
 * was started), checks it, and removes the marker: the host is between releases no longer.
 */
async function bringBack(deps: DeployDeps, back: BringBack): Promise<{ text: string; serving: string }> {
  const { server } = deps;
  let result: { text: string; serving: string };
  switch (back.recovery.kind) {
    case 'restore-before': {
      await step.restoreBefore(server);
      if (back.recovery.beside) await removeBeside(deps, back.recovery.beside);
      await step.up(server);
      const check = await step.gate(back.urls, back.timeoutSeconds * 1000, deps.probeTimeoutMs, deps.signal);
      const what = back.release ?? back.recovery.serving.join(', ');
      result = {
        text:
          `restored what ran before (${back.recovery.serving.join(', ')}), which ` +
          `${check.healthy ? 'answers healthy' : `does NOT answer healthy either: ${check.detail}`}`,
        serving: `${what} (brought back; ${check.healthy ? 'healthy' : 'NOT healthy'})`,
      };
      break;
    }
    case 'stop-started':
      // As planned for an interrupted run's marker; for this run's own failed ship, only the host can tell.
      if (back.startedNothing || !(await step.composeOnHost(server))) {
        result = {
          text: 'the interrupted run had not shipped its compose file yet, so it started nothing: nothing to stop',
          serving: 'nothing (nothing was started)',
        };
        break;
      }
      await step.down(server);
      result = {
        text: describeRecovery(back.recovery).replace('stops and removes', 'stopped and removed'),
        serving: 'nothing: what this deploy started was stopped and removed',
      };
      break;
  }
  await clearMarker(server.runner, server.dir);
  return result;
}

/** DEPLOY_COMPOSE_ENV with the blue/green port line in place of its own. */
function withPort(extraEnv: string[], port: string | undefined): string[] {
  if (!port) return extraEnv;
  const key = port.split('=')[0];
  return [...extraEnv.filter((line) => !line.startsWith(`${key}=`)), port];
}

/**
 * The old API containers never stopped: the front is pointed at them by name (it may have moved to
 * the new one), what was started beside them goes, and the front takes the service name again.
 * The restored files name the service, so every pointing starts from there.
 */
async function removeBeside(deps: DeployDeps, beside: BesideRecovery): Promise<void> {
  const { server } = deps;
  const extra = await startedBeside(
    server,
    beside.service,
    beside.keep.map((c) => c.id),
  );
  if (!extra.length) return;
  // By port, the restored files name the old release's port already: the reload moves the front back.
  if (beside.move.by === 'port') {
    await reloadFront(server, beside.front);
    await sleep(deps.drainMs);
    for (const c of extra) await discard(server, c.id);
    return;
  }
  const old = beside.keep[0].name;
  await pointFront(server, beside.front, beside.files, upstreamPattern(beside.service), old);
  // nginx's old workers may still be proxying to the new container: they finish first.
  await sleep(deps.drainMs);
  for (const c of extra) await discard(server, c.id);
  await pointFront(server, beside.front, beside.files, upstreamPattern(old), beside.service, { sameContainer: true });
}

/** A step that changes what serves: if it fails, what served before comes back and the deploy stops saying so. */
async function underWay(
  what: string,
  deps: DeployDeps,
  resolved: Resolved,
  outcome: ApplyOutcome,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!resolved.underWay) throw error;
    const back = await bringBack(deps, resolved.underWay);
    resolved.underWay = undefined;
    outcome.notes.push(`${what} failed: ${back.text}`);
    outcome.figures.push({ label: 'serving', value: back.serving });
    throw new Stop(
      `${what} failed on ${deps.server.runner.name}: ${messageOf(error)}\n${back.text}; serving: ${back.serving}.`,
    );
  }
}
