/**
 * The mechanisms of a clean deploy, one small function per step; tasks/deploy.ts puts them in
 * the plan's order. Everything on the server goes through its runner (one ssh connection).
 */
import { join } from 'node:path';
import { TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import { compose, host, image, type ComposeTarget } from './commands.ts';
import { describeProbe, waitHealthy } from './health.ts';
import { composeEnv, parseState, type DeployState } from './state.ts';

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
});

/** Takes the deploy lock, or says who holds it and how to clear a stale one. */
export async function lock(server: Server, owner: string): Promise<() => Promise<void>> {
  const { lock: path } = paths(server.dir);
  await server.runner.run(host.mkdir(server.dir));
  const taken = await server.runner.run(host.lock(path), { allowFailure: true });
  if (taken.exitCode !== 0) {
    const holder = (await server.runner.run(host.read(join(path, 'owner')), { allowFailure: true })).stdout.trim() || 'unknown';
    throw new TaskError(`${server.runner.name}: another deploy holds the lock (${holder}). Wait for it to finish. If none is running, the lock is stale: remove it with \`rm -rf ${path}\` on the server.`);
  }
  await server.runner.run(host.write(join(path, 'owner')), { input: `${owner}\n` });
  return async () => {
    await server.runner.run(host.unlock(path), { allowFailure: true });
  };
}

export async function readState(server: Server): Promise<DeployState> {
  return parseState((await server.runner.run(host.read(paths(server.dir).state), { allowFailure: true })).stdout);
}

export async function writeState(server: Server, state: DeployState): Promise<void> {
  await server.runner.run(host.write(paths(server.dir).state), { input: JSON.stringify(state, null, 2) + '\n' });
}

/** The image IDs the project's containers run, and whether all of them are running. */
export async function running(server: Server): Promise<{ images: string[]; allRunning: boolean; count: number }> {
  const ids = (await server.runner.run(compose.ps(server.target), { allowFailure: true })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (!ids.length) return { images: [], allRunning: false, count: 0 };
  const rows = (await server.runner.run(host.containerImages(ids))).stdout.trim().split('\n').map((l) => l.split(' '));
  return { images: rows.map((r) => r[2]), allRunning: rows.every((r) => r[1] === 'running'), count: rows.length };
}

export async function buildAndPush(builder: Runner, dockerHost: string | undefined, context: string, dockerfile: string, tags: string[]): Promise<void> {
  await builder.run(image.build(dockerHost, context, join(context, dockerfile), tags), { timeoutMs: 30 * 60_000 });
  for (const tag of tags) await builder.run(image.push(dockerHost, tag), { timeoutMs: 30 * 60_000 });
}

/** Copies the compose file and writes the project's .env for `imageRef`; never edits the user's file. */
export async function ship(server: Server, composeText: string, imageRef: string, extraEnv: string[]): Promise<void> {
  const p = paths(server.dir);
  await server.runner.run(host.write(p.compose), { input: composeText });
  await server.runner.run(host.write(p.env), { input: composeEnv(imageRef, extraEnv) });
}

/**
 * Brings the project up. A new version is pulled first, so a registry problem shows before
 * anything stops; going back to a previous version does not pull: its image is on the server
 * (kept for rollback), and `up` pulls on its own only what is missing.
 */
export async function up(server: Server, pull: boolean): Promise<void> {
  if (pull) await server.runner.run(compose.pull(server.target), { timeoutMs: 30 * 60_000 });
  await server.runner.run(compose.up(server.target), { timeoutMs: 10 * 60_000 });
}

export async function lastLogs(server: Server, lines = 20): Promise<string> {
  return (await server.runner.run(compose.logs(server.target, lines), { allowFailure: true })).stdout.trim();
}

/** Boots `imageRef` and gates on health; on failure boots `fallback` (when any) and throws with the logs. */
export async function bootGated(server: Server, composeText: string, imageRef: string, extraEnv: string[], urls: string[], timeoutMs: number, fallback: string | undefined, pull: boolean): Promise<string[]> {
  await ship(server, composeText, imageRef, extraEnv);
  await up(server, pull);
  const gate = await waitHealthy(urls, timeoutMs);
  if (gate.healthy) return gate.probes.map(describeProbe);
  const logs = await lastLogs(server);
  let after = 'there is no previous version to roll back to';
  if (fallback) {
    await ship(server, composeText, fallback, extraEnv);
    await up(server, false);
    const back = await waitHealthy(urls, timeoutMs);
    after = back.healthy ? `rolled back to ${fallback}, which answers healthy` : `rolled back to ${fallback}, which does NOT answer healthy either: ${back.probes.map(describeProbe).join('; ')}`;
  }
  throw new TaskError(`${server.runner.name}: ${imageRef} did not become healthy within ${timeoutMs / 1000}s (${gate.probes.filter((p) => !p.ok).map(describeProbe).join('; ')}); ${after}.\nLast log lines:\n${logs}`);
}
