/**
 * The mechanisms of a clean deploy, one small function per step; lib/deploy/apply.ts runs them in
 * the plan's order. Everything on the server goes through its runner (one ssh connection).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLine, type Command } from '../command.ts';
import { TaskError } from '../errors.ts';
import { CommandFailed, CommandTimedOut, localRunner, type Runner, type RunResult } from '../runner.ts';
import { compose, host, image, pack, type ComposeTarget } from './commands.ts';
import { describeProbe, waitHealthy } from './health.ts';
import { composeEnv, paths, readDeployState, type DeployState } from '../host/deploy-state.ts';
import { docker } from '../host/commands.ts';
import { inspectListed } from '../host/inspect.ts';
import { parseContainers } from '../host/parse.ts';
import { COMPOSE_SERVICE, type ProjectContainer } from '../host/rollback-containers.ts';
import type { ShippedFile } from './compose-files.ts';
import { sha256, putManifest, headManifest } from '../registry/api.ts';
import type { RegistryClient } from '../registry/client.ts';
import { header } from '../registry/http-errors.ts';
import { MANIFEST_ACCEPT } from '../registry/media-types.ts';
import type { ApplyOutcome } from '../task.ts';

export interface Server {
  runner: Runner;
  dir: string;
  target: ComposeTarget;
  /** DEPLOY_COMPOSE_TIMEOUT_SECONDS, in ms: how long one compose step may run before it counts as hung. */
  composeTimeoutMs: number;
}

export async function readState(server: Server): Promise<DeployState> {
  return readDeployState(server.runner, server.dir);
}

export async function writeState(server: Server, state: DeployState): Promise<void> {
  await server.runner.run(host.write(paths(server.dir).state), { input: JSON.stringify(state, null, 2) + '\n' });
}

export async function composeOnHost(server: Server): Promise<boolean> {
  return (await server.runner.run(host.exists(paths(server.dir).compose), { allowFailure: true })).exitCode === 0;
}

/** Every container of the compose project, running or stopped, with its times and labels. */
export async function projectContainers(server: Server): Promise<ProjectContainer[]> {
  const ids = (await server.runner.run(host.projectContainerIds(server.target.project))).stdout
    .split('\n')
    .filter(Boolean);
  if (!ids.length) return [];
  return parseContainers(await inspectListed(server.runner, docker.inspectContainers(ids))).map((c) => ({
    id: c.id,
    name: c.name,
    image: c.imageRef,
    state: c.state,
    service: c.labels[COMPOSE_SERVICE] ?? '',
    created: c.created,
    ...(c.finished ? { finished: c.finished } : {}),
    labels: c.labels,
  }));
}

export async function hostImageRefs(server: Server): Promise<string[]> {
  return (await server.runner.run(host.imageRefs())).stdout.split('\n').filter((l) => l && !l.includes('<none>'));
}

/** Where images are built and pushed from: DEPLOY_BUILD_DOCKER_HOST, and DEPLOY_BUILD_TIMEOUT_SECONDS for each step. */
export interface Builder {
  runner: Runner;
  dockerHost: string | undefined;
  timeoutMs: number;
}

export async function build(builder: Builder, context: string, dockerfile: string, tag: string): Promise<void> {
  await builder.runner.run(image.build(builder.dockerHost, context, join(context, dockerfile), [tag]), {
    timeoutMs: builder.timeoutMs,
  });
}

export async function push(builder: Builder, tag: string): Promise<void> {
  await builder.runner.run(image.push(builder.dockerHost, tag), { timeoutMs: builder.timeoutMs });
}

/** Saves what the deploy folder holds now, so a failed gate can bring it back exactly. */
export async function saveBefore(server: Server): Promise<void> {
  const { before } = paths(server.dir);
  // One round trip: the folder, the save as an empty private file, then what is there into it.
  await server.runner
    .$`${host.mkdir(server.dir)} && ${host.privateFile(before)} && ${host.saveBefore(server.dir, before)}`;
}

export async function restoreBefore(server: Server): Promise<void> {
  await server.runner.run(host.restoreBefore(server.dir, paths(server.dir).before));
}

/** The folders above these project-relative files (not the project folder itself), parents first. */
export function foldersOf(files: string[]): string[] {
  const folders = new Set<string>();
  for (const file of files) {
    const parts = file.split('/').slice(0, -1);
    parts.forEach((_, i) => folders.add(parts.slice(0, i + 1).join('/')));
  }
  return [...folders].sort();
}

/** Packs `files` of `projectDir` and unpacks them in the deploy folder: one archive over the runner's stdin. */
async function shipArchive(server: Server, projectDir: string, files: string[], secret: boolean): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'cleanup-ship-'));
  try {
    const archive = join(scratch, 'files.tar');
    await localRunner().run(pack(projectDir, archive, files, secret));
    await server.runner.run(host.unpack(server.dir), { input: readFileSync(archive) });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Ships the compose file, its .env for `imageRef` and the files it needs (over ssh: the one
 * connection). Secrets go in their own archive: 0600 files in 0700 folders on the host. Never
 * edits the user's files.
 */
export async function ship(
  server: Server,
  projectDir: string,
  composeFile: string,
  files: ShippedFile[],
  imageRef: string,
  extraEnv: string[],
): Promise<void> {
  await server.runner.run(host.mkdir(server.dir));
  const plain = files.filter((f) => !f.secret).map((f) => f.path);
  const secrets = files.filter((f) => f.secret).map((f) => f.path);
  if (plain.length) await shipArchive(server, projectDir, plain, false);
  if (secrets.length) {
    // tar sets the mode of each folder it lists, one that exists already included.
    await shipArchive(server, projectDir, [...foldersOf(secrets), ...secrets], true);
  }
  await server.runner.run(host.write(paths(server.dir).compose), {
    input: readFileSync(join(projectDir, composeFile)),
  });
  await setImage(server, imageRef, extraEnv);
}

export async function setImage(server: Server, imageRef: string, extraEnv: string[]): Promise<void> {
  await server.runner.run(host.write(paths(server.dir).env), { input: composeEnv(imageRef, extraEnv) });
}

/**
 * One compose step on the deploy host, stopped at DEPLOY_COMPOSE_TIMEOUT_SECONDS: a hung step
 * (a registry that never answers a pull, an engine that never starts a container) fails naming
 * the host, the step and the setting, instead of holding the deploy (and its lock) for ever.
 */
export async function composeStep(
  server: Server,
  step: string,
  command: Command,
  options: { allowFailure?: boolean } = {},
): Promise<RunResult> {
  return hostStep(server, `compose ${step}`, command, options);
}

/** A step of the deploy on its host bounded like compose's (a `docker pull` of the new image). */
async function hostStep(
  server: Server,
  step: string,
  command: Command,
  options: { allowFailure?: boolean } = {},
): Promise<RunResult> {
  try {
    return await server.runner.run(command, { ...options, timeoutMs: server.composeTimeoutMs });
  } catch (error) {
    if (!(error instanceof CommandTimedOut)) throw error;
    throw new TaskError(
      `${server.runner.name}: ${step} did not finish within ` +
        `${Math.round(server.composeTimeoutMs / 1000)} s and was stopped ` +
        `(\`${commandLine(command)}\`); the host or the step hangs. Check the host, or raise ` +
        `DEPLOY_COMPOSE_TIMEOUT_SECONDS.`,
    );
  }
}

export async function pull(server: Server): Promise<void> {
  await composeStep(server, 'pull', compose.pull(server.target));
}

/** The new release's image alone: what a deploy needs when the compose file and .env are the serving release's. */
export async function pullImage(server: Server, ref: string): Promise<void> {
  await hostStep(server, 'docker pull', image.pull(ref));
}

export async function up(server: Server): Promise<void> {
  await composeStep(server, 'up', compose.up(server.target));
}

/** compose up for one service only (its dependencies untouched): recreated when its settings changed. */
export async function upService(server: Server, service: string): Promise<void> {
  await composeStep(server, 'up', compose.upService(server.target, service));
}

export async function recreate(server: Server, services: string[]): Promise<void> {
  await composeStep(server, 'up --force-recreate', compose.recreate(server.target, services));
}

export async function down(server: Server): Promise<void> {
  await composeStep(server, 'down', compose.down(server.target));
}

/** The last log lines for a failed gate's report; a hung or failed `logs` gives none rather than hiding the failure. */
export async function lastLogs(server: Server, lines = 20): Promise<string> {
  return (
    await composeStep(server, 'logs', compose.logs(server.target, lines), { allowFailure: true }).catch(() => ({
      stdout: '',
    }))
  ).stdout.trim();
}

/** The gate: every URL healthy within the timeout (each probe within its own); the failing probes otherwise. */
export async function gate(
  urls: string[],
  timeoutMs: number,
  probeTimeoutMs: number,
  signal?: AbortSignal,
): Promise<{ healthy: boolean; detail: string }> {
  const result = await waitHealthy(urls, timeoutMs, signal, probeTimeoutMs);
  return {
    healthy: result.healthy,
    detail: result.probes
      .filter((p) => !result.healthy || p.ok)
      .map(describeProbe)
      .join('; '),
  };
}

/** The digest a tag has in the registry now, or undefined when it has none. */
export { digestOf as registryDigest };

// Moves a tag (final, latest) to a digest the registry already holds: the manifest's exact bytes are read by
// digest and put under the tag, so the tag's digest is that digest, byte for byte.
export async function moveTag(client: RegistryClient, repository: string, tag: string, digest: string): Promise<void> {
  const response = await client.call('GET', `/v2/${repository}/manifests/${digest}`, {
    headers: { accept: MANIFEST_ACCEPT },
  });
  if (sha256(response.body) !== digest)
    throw new TaskError(
      `${repository}@${digest}: the registry served a manifest with another digest; ${tag} was not moved.`,
    );
  const mediaType = header(response.headers, 'content-type')?.split(';')[0] ?? '';
  await putManifest(client, repository, tag, mediaType, response.body);
}

export async function digestOf(client: RegistryClient, repository: string, tag: string): Promise<string | undefined> {
  return headManifest(client, repository, tag);
}

/**
 * A removal whose object is already gone has its planned effect: in clean:all the server task,
 * which runs first, may have removed the same stopped container or image. Said in a note.
 */
export async function removeUnlessGone(
  runner: Runner,
  command: Command,
  gone: RegExp,
  outcome: Pick<ApplyOutcome, 'notes'>,
): Promise<void> {
  const result = await runner.run(command, { allowFailure: true });
  if (result.exitCode === 0) return;
  if (!gone.test(result.stderr)) throw new CommandFailed(runner.name, command, result);
  outcome.notes.push(`\`${commandLine(command)}\`: already gone (removed earlier in this run), nothing to do`);
}
