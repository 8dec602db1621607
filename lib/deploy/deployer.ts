/**
 * The mechanisms of a clean deploy, one small function per step; lib/deploy/apply.ts runs them in
 * the plan's order. Everything on the server goes through its runner (one ssh connection).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskError } from '../errors.ts';
import { localRunner, type Runner } from '../runner.ts';
import { compose, host, image, pack, type ComposeTarget } from './commands.ts';
import { describeProbe, waitHealthy } from './health.ts';
import { composeEnv, parseState, type DeployState } from './state.ts';
import type { ProjectContainer } from './steps.ts';

export interface Server {
  runner: Runner;
  dir: string;
  target: ComposeTarget;
}

export const paths = (dir: string) => ({
  compose: join(dir, 'docker-compose.yml'),
  env: join(dir, '.env'),
  state: join(dir, 'deploy-state.json'),
  lock: join(dir, '.deploy.lock'),
  before: join(dir, '.before-deploy.tar'),
});

/** Who holds the lock: written into it by `lock`, read by `deploy:lock`. */
export interface LockHolder {
  user: string;
  host: string;
  pid: number;
  since: string;
}

export function describeHolder(h: LockHolder): string {
  return `${h.user}@${h.host} pid ${h.pid} since ${h.since}`;
}

export function parseHolder(text: string): LockHolder | undefined {
  const match = /^(\S+)@(\S+) pid (\d+) since (\S+)$/.exec(text.trim());
  return match ? { user: match[1], host: match[2], pid: Number(match[3]), since: match[4] } : undefined;
}

/** The lock's holder as written, or undefined when no deploy holds it. */
export async function lockHolder(server: Server): Promise<{ text: string; holder?: LockHolder } | undefined> {
  const { lock: path } = paths(server.dir);
  if ((await server.runner.run(host.exists(path), { allowFailure: true })).exitCode !== 0) return undefined;
  const text = (await server.runner.run(host.read(join(path, 'owner')), { allowFailure: true })).stdout.trim();
  return { text: text || 'unknown', holder: parseHolder(text) };
}

/** Takes the deploy lock, or says who holds it and how to clear a stale one. */
export async function lock(server: Server, owner: string): Promise<() => Promise<void>> {
  return lockDeployDir(server.runner, server.dir, owner);
}

/**
 * The deploy lock on a host's deploy folder, also taken by the server task while it prunes the
 * deploy host. Released only while it still names this owner: a lock someone took over is theirs.
 */
export async function lockDeployDir(runner: Runner, dir: string, owner: string): Promise<() => Promise<void>> {
  const { lock: path } = paths(dir);
  await runner.run(host.mkdir(dir));
  const taken = await runner.run(host.lock(path), { allowFailure: true });
  if (taken.exitCode !== 0) {
    const holder = (await runner.run(host.read(join(path, 'owner')), { allowFailure: true })).stdout.trim() || 'unknown';
    throw new TaskError(`${runner.name}: another deploy holds the lock (${holder}). Wait for it to finish. If none is running, the lock is stale: see \`npm run deploy:lock\`, and release it with \`npm run deploy:lock -- --release\` (or \`rm -rf ${path}\` on the server).`);
  }
  await runner.run(host.write(join(path, 'owner')), { input: `${owner}\n` });
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const now = (await runner.run(host.read(join(path, 'owner')), { allowFailure: true })).stdout.trim();
    if (now === owner) await runner.run(host.unlock(path), { allowFailure: true });
  };
}

export async function unlock(server: Server): Promise<void> {
  await server.runner.run(host.unlock(paths(server.dir).lock));
}

export async function readState(server: Server): Promise<DeployState> {
  return parseState((await server.runner.run(host.read(paths(server.dir).state), { allowFailure: true })).stdout);
}

export async function writeState(server: Server, state: DeployState): Promise<void> {
  await server.runner.run(host.write(paths(server.dir).state), { input: JSON.stringify(state, null, 2) + '\n' });
}

export async function composeOnHost(server: Server): Promise<boolean> {
  return (await server.runner.run(host.exists(paths(server.dir).compose), { allowFailure: true })).exitCode === 0;
}

/** Every container of the compose project, running or stopped. */
export async function projectContainers(server: Server): Promise<ProjectContainer[]> {
  const out = (await server.runner.run(host.projectContainers(server.target.project))).stdout;
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, name, image, state, service] = line.split('\t');
      return { id, name, image, state, service: service ?? '' };
    });
}

export async function hostImageRefs(server: Server): Promise<string[]> {
  return (await server.runner.run(host.imageRefs())).stdout.split('\n').filter((l) => l && !l.includes('<none>'));
}

export async function build(builder: Runner, dockerHost: string | undefined, context: string, dockerfile: string, tag: string): Promise<void> {
  await builder.run(image.build(dockerHost, context, join(context, dockerfile), [tag]), { timeoutMs: 30 * 60_000 });
}

export async function push(builder: Runner, dockerHost: string | undefined, tag: string): Promise<void> {
  await builder.run(image.push(dockerHost, tag), { timeoutMs: 30 * 60_000 });
}

/** Saves what the deploy folder holds now, so a failed gate can bring it back exactly. */
export async function saveBefore(server: Server): Promise<void> {
  await server.runner.run(host.mkdir(server.dir));
  await server.runner.run(host.saveBefore(server.dir, paths(server.dir).before));
}

export async function restoreBefore(server: Server): Promise<void> {
  await server.runner.run(host.restoreBefore(server.dir, paths(server.dir).before));
}

/**
 * Ships the compose file, its .env for `imageRef` and the files it needs: one tar archive over the
 * runner's stdin (over ssh: the one connection), unpacked in the deploy folder. Never edits the
 * user's files.
 */
export async function ship(server: Server, projectDir: string, composeFile: string, files: string[], imageRef: string, extraEnv: string[]): Promise<void> {
  await server.runner.run(host.mkdir(server.dir));
  if (files.length) {
    const scratch = mkdtempSync(join(tmpdir(), 'cleanup-ship-'));
    try {
      const archive = join(scratch, 'files.tar');
      await localRunner().run(pack(projectDir, archive, files));
      await server.runner.run(host.unpack(server.dir), { input: readFileSync(archive) });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  await server.runner.run(host.write(paths(server.dir).compose), { input: readFileSync(join(projectDir, composeFile)) });
  await setImage(server, imageRef, extraEnv);
}

export async function setImage(server: Server, imageRef: string, extraEnv: string[]): Promise<void> {
  await server.runner.run(host.write(paths(server.dir).env), { input: composeEnv(imageRef, extraEnv) });
}

export async function pull(server: Server): Promise<void> {
  await server.runner.run(compose.pull(server.target), { timeoutMs: 30 * 60_000 });
}

export async function up(server: Server): Promise<void> {
  await server.runner.run(compose.up(server.target), { timeoutMs: 10 * 60_000 });
}

export async function down(server: Server): Promise<void> {
  await server.runner.run(compose.down(server.target), { timeoutMs: 10 * 60_000 });
}

export async function lastLogs(server: Server, lines = 20): Promise<string> {
  return (await server.runner.run(compose.logs(server.target, lines), { allowFailure: true })).stdout.trim();
}

/** The gate: every URL healthy within the timeout; the failing probes otherwise. */
export async function gate(urls: string[], timeoutMs: number, signal?: AbortSignal): Promise<{ healthy: boolean; detail: string }> {
  const result = await waitHealthy(urls, timeoutMs, signal);
  return { healthy: result.healthy, detail: result.probes.filter((p) => !result.healthy || p.ok).map(describeProbe).join('; ') };
}

/** The digest a tag has in the registry now, or undefined when it has none. */
export { digestOf as registryDigest } from './promote.ts';
