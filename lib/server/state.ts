/**
 * Reads one Docker host over its runner (one ssh connection): disks, containers, images,
 * volumes, build cache, and which compose it has. Docker's own failures become messages that
 * name the host and say what to do.
 */
import type { Command } from '../command.ts';
import { TaskError } from '../errors.ts';
import { CommandFailed, type Runner } from '../runner.ts';
import { disk, docker } from './commands.ts';
import { parseContainers, parseDf, parseDockerUsage, parseImages, parseSystemDf, parseVolumes, type CacheRecord, type Container, type Disk, type DockerUsage, type Image, type Volume } from './parse.ts';

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

/** Turns a failed docker call into what the user should do about it. */
export function dockerProblem(host: string, error: unknown): Error {
  if (!(error instanceof CommandFailed)) return error as Error;
  const text = `${error.result.stderr}\n${error.result.stdout}`;
  if (error.result.exitCode === 127 || /docker: (command )?not found|No such file or directory/.test(text))
    return new TaskError(`${host}: docker is not installed (or not on the PATH of the ssh user). Install Docker there, or fix the PATH. Nothing was changed there.`);
  if (/permission denied.*docker(\.sock| daemon socket)/i.test(text))
    return new TaskError(`${host}: the ssh user may not use the Docker socket (permission denied). Add it to the docker group (sudo usermod -aG docker <user>) and log in again. Nothing was changed there.`);
  if (/Cannot connect to the Docker daemon|Is the docker daemon running/i.test(text)) return new TaskError(`${host}: the Docker daemon is not running or not reachable (${text.trim().split('\n')[0]}). Nothing was changed there.`);
  return error;
}

async function listed(runner: Runner, list: string[], inspect: (items: string[]) => Command): Promise<string> {
  if (!list.length) return '[]';
  return (await runner.run(inspect(list))).stdout;
}

const lines = (text: string) => [...new Set(text.split('\n').map((l) => l.trim()).filter(Boolean))];

export async function detectCompose(runner: Runner): Promise<HostState['compose']> {
  if ((await runner.run(docker.composeV2Version(), { allowFailure: true })).exitCode === 0) return 'docker compose';
  if ((await runner.run(docker.composeV1Version(), { allowFailure: true })).exitCode === 0) return 'docker-compose';
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

export async function readDockerRoot(runner: Runner): Promise<string> {
  try {
    const info = JSON.parse((await runner.run(docker.info())).stdout) as { DockerRootDir?: string; ServerErrors?: string[] };
    if (info.ServerErrors?.length) throw new CommandFailed(runner.name, docker.info(), { stdout: '', stderr: info.ServerErrors.join('\n'), exitCode: 1 });
    return info.DockerRootDir ?? '/var/lib/docker';
  } catch (error) {
    throw dockerProblem(runner.name, error);
  }
}

export async function readHost(runner: Runner): Promise<HostState> {
  const dockerRoot = await readDockerRoot(runner);
  try {
    const containers = parseContainers(await listed(runner, lines((await runner.run(docker.containerIds())).stdout), docker.inspectContainers));
    const df = parseSystemDf((await runner.run(docker.systemDf())).stdout);
    const images = parseImages(await listed(runner, lines((await runner.run(docker.imageIds())).stdout), docker.inspectImages), df.imageUniqueSizes);
    const volumes = parseVolumes(await listed(runner, lines((await runner.run(docker.volumeNames())).stdout), docker.inspectVolumes), df.volumeSizes);
    return { host: runner.name, dockerRoot, disks: await readDisks(runner, dockerRoot), containers, images, volumes, cache: df.cache, compose: await detectCompose(runner) };
  } catch (error) {
    throw dockerProblem(runner.name, error);
  }
}
