/**
 * Reads one Docker host over its runner (one ssh connection): disks, containers, images,
 * volumes, build cache, and which compose it has. Docker's own failures become messages that
 * name the host and say what to do.
 */
import type { Command } from '../command.ts';
import { CommandFailed, type Runner } from '../runner.ts';
import { disk, docker } from '../host/commands.ts';
import { inspectListed } from '../host/inspect.ts';
import {
  dockerProblem,
  parseContainers,
  parseDf,
  parseDockerUsage,
  parseImages,
  parseSystemDf,
  parseVolumes,
  type CacheRecord,
  type Container,
  type Disk,
  type DockerUsage,
  type Image,
  type Volume,
} from '../host/parse.ts';

export interface HostState {
  host: string;
  dockerRoot: string;
  disks: Disk[];
  containers: Container[];
  images: Image[];
  volumes: Volume[];
  cache: CacheRecord[];
  compose?: 'docker compose' | 'docker-compose';
}

async function listed(runner: Runner, list: string[], inspect: (items: string[]) => Command): Promise<string> {
  if (!list.length) return '[]';
  return inspectListed(runner, inspect(list));
}

const lines = (text: string) => [
  ...new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  ),
];

export async function detectCompose(runner: Runner): Promise<HostState['compose']> {
  if ((await runner.run(docker.composeV2Version(), { allowFailure: true })).exitCode === 0) return 'docker compose';
  if ((await runner.run(docker.composeV1Found(), { allowFailure: true })).exitCode === 0) return 'docker-compose';
  return undefined;
}

export async function readDisks(runner: Runner, dockerRoot: string): Promise<Disk[]> {
  const paths = ['/', dockerRoot];
  return parseDf((await runner.run(disk.usage(paths))).stdout, paths);
}

/** What Docker counts as used (images, containers, volumes, build cache): freed bytes are measured with it. */
export async function readDockerUsage(runner: Runner): Promise<DockerUsage> {
  try {
    return parseDockerUsage((await runner.run(docker.usage())).stdout);
  } catch (error) {
    throw dockerProblem(runner.name, error);
  }
}

interface DockerInfo {
  dockerRoot: string;
  /** The docker CLI's plugins that load (compose, buildx, …), by name. */
  plugins: string[];
}

export async function readDockerInfo(runner: Runner): Promise<DockerInfo> {
  try {
    const info = JSON.parse((await runner.run(docker.info())).stdout) as {
      DockerRootDir?: string;
      ServerErrors?: string[];
      ClientInfo?: { Plugins?: { Name: string; Err?: string }[] };
    };
    if (info.ServerErrors?.length)
      throw new CommandFailed(runner.name, docker.info(), {
        stdout: '',
        stderr: info.ServerErrors.join('\n'),
        exitCode: 1,
      });
    return {
      dockerRoot: info.DockerRootDir ?? '/var/lib/docker',
      plugins: (info.ClientInfo?.Plugins ?? []).filter((p) => !p.Err).map((p) => p.Name),
    };
  } catch (error) {
    throw dockerProblem(runner.name, error);
  }
}

export async function readDockerRoot(runner: Runner): Promise<string> {
  return (await readDockerInfo(runner)).dockerRoot;
}

/**
 * Which compose the host has, for the plan's note: the CLI plugin as `docker info` lists it, else
 * docker-compose on the PATH, found without running it (its Python start-up costs seconds).
 */
async function installedCompose(runner: Runner, info: DockerInfo): Promise<HostState['compose']> {
  if (info.plugins.includes('compose')) return 'docker compose';
  if ((await runner.run(docker.composeV1Installed(), { allowFailure: true })).exitCode === 0) return 'docker-compose';
  return undefined;
}

/**
 * The host's state. Its reads are independent, so they run at once over the one connection (ssh
 * multiplexes sessions on it): a host with 1,000 containers answers in the time of its slowest
 * read instead of the sum of ten, and the docker CLI's start-up on the host overlaps. Seven
 * sessions at most, under OpenSSH's default MaxSessions of 10.
 */
export async function readHost(runner: Runner): Promise<HostState> {
  const info = readDockerInfo(runner);
  try {
    const inspected = (list: Command, inspect: (items: string[]) => Command) =>
      runner.run(list).then((r) => listed(runner, lines(r.stdout), inspect));
    const systemDf = runner.run(docker.systemDf()).then((r) => parseSystemDf(r.stdout));
    const [{ dockerRoot }, containers, df, images, volumes, disks, compose] = await Promise.all([
      info,
      Promise.all([inspected(docker.containerIds(), docker.inspectContainers), systemDf]).then(([json, df]) =>
        parseContainers(json, df.containerSizes),
      ),
      systemDf,
      Promise.all([inspected(docker.imageIds(), docker.inspectImages), systemDf]).then(([json, df]) =>
        parseImages(json, df.imageUniqueSizes),
      ),
      Promise.all([inspected(docker.volumeNames(), docker.inspectVolumes), systemDf]).then(([json, df]) =>
        parseVolumes(json, df.volumeSizes),
      ),
      info.then((i) => readDisks(runner, i.dockerRoot)),
      info.then((i) => installedCompose(runner, i)),
    ]);
    return { host: runner.name, dockerRoot, disks, containers, images, volumes, cache: df.cache, compose };
  } catch (error) {
    // When docker info failed, its message says best what is wrong with the host's docker (not
    // installed, no permission, daemon down, hung): awaiting it throws that one.
    await info;
    throw dockerProblem(runner.name, error);
  }
}
