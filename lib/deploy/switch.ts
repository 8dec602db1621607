/**
 * The mechanisms of a deploy without a gap (lib/deploy/rollout.ts decides when it applies): start
 * the new API container beside the serving one and wait for its compose healthcheck, point the
 * front's upstream from one container to another by rewriting the name in its shipped configuration
 * and reloading nginx (after `nginx -t`), and stop old containers once drained. Each step is one
 * command on the deploy host through its runner.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskError } from '../errors.ts';
import { compose, host } from './commands.ts';
import { composeStep, removeUnlessGone, type Server } from './deployer.ts';
import type { Container } from './rollout.ts';

async function serviceContainers(server: Server, service: string, runningOnly = false): Promise<Container[]> {
  const listed = await server.runner.run(host.serviceContainers(server.target.project, service, runningOnly));
  return listed.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, name] = line.split(' ');
      return { id, name };
    });
}

/**
 * Starts one more container of `service` (compose --scale with --no-recreate: the serving ones are
 * not touched) and waits until compose's healthcheck calls it healthy. A container that turns
 * unhealthy, stops, or is still starting at the timeout is an error naming its last check's output;
 * the caller removes it.
 */
export async function startBeside(
  server: Server,
  service: string,
  serving: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Container> {
  await composeStep(server, 'up --scale', compose.startBeside(server.target, service, serving.length + 1));
  const fresh = await startedBeside(server, service, serving);
  if (fresh.length !== 1)
    throw new TaskError(
      `compose started ${fresh.length} new ${service} containers beside the serving one, not 1: ` +
        `${fresh.map((c) => c.name).join(', ') || 'none'}.`,
    );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [status, health, ...log] = (await server.runner.run(host.health(fresh[0].id))).stdout.trim().split(/[ \n]/);
    if (status === 'running' && health === 'healthy') return fresh[0];
    const last = log.filter(Boolean).slice(-3).join(' ') || 'no output';
    if (status !== 'running' || health === 'unhealthy' || Date.now() > deadline || signal.aborted) {
      const logs = await server.runner.run(host.containerLogs(fresh[0].id, 20), { allowFailure: true });
      throw new TaskError(
        `${fresh[0].name} did not become healthy within ${Math.round(timeoutMs / 1000)}s ` +
          `(${status}${health ? `, ${health}` : ''}; its healthcheck said: ${last}).\n` +
          `Last log lines:\n${(logs.stdout + logs.stderr).trim() || '(none)'}`,
      );
    }
    // Each look is one `docker inspect`: looking often finds the first healthy check soon after it.
    await sleep(100);
  }
}

/** The running container of the front service. */
async function frontContainer(server: Server, front: string): Promise<Container> {
  const [running] = await serviceContainers(server, front, true);
  if (!running) throw new TaskError(`the front (${front}) has no running container on ${server.runner.name}.`);
  return running;
}

/**
 * Points the front from what `from` matches (a service or container name before a port, or a port
 * after a loopback host) to `to` in its configuration files on the host, tests the result with
 * `nginx -t` and reloads: nginx's old workers finish their requests, new ones use `to`. A
 * configuration nginx refuses is put back as it was, and the reload does not happen. When `to`
 * reaches the container `from` did (a container's name back to its service's, once it is the
 * only one), nothing waits for the old workers: they send nowhere else.
 */
export async function pointFront(
  server: Server,
  front: string,
  files: string[],
  from: RegExp,
  to: string,
  { sameContainer = false } = {},
): Promise<void> {
  const paths = files.map((file) => join(server.dir, file));
  const [container, ...texts] = await Promise.all([
    frontContainer(server, front),
    ...paths.map(async (path) => (await server.runner.run(host.read(path))).stdout),
  ]);
  const before = new Map(paths.map((path, i) => [path, texts[i]]));
  for (const [path, text] of before) await server.runner.run(host.write(path), { input: text.replace(from, to) });
  try {
    await testAndReload(server, container, `with ${to} as upstream`, !sameContainer);
  } catch (error) {
    for (const [path, text] of before) await server.runner.run(host.write(path), { input: text });
    throw error;
  }
}

async function testAndReload(server: Server, container: Container, what: string, waitForWorkers = true): Promise<void> {
  // The workers serving before the reload, read while nginx tests the configuration.
  const [test, before] = await Promise.all([
    server.runner.run(host.nginx(container.id, ['-t']), { allowFailure: true }),
    waitForWorkers ? top(server, container).then(serving) : undefined,
  ]);
  if (test.exitCode !== 0)
    throw new TaskError(
      `nginx -t refused the front's configuration ${what}, so nginx was not reloaded: ${test.stderr.trim()}`,
    );
  await server.runner.run(host.nginx(container.id, ['-s', 'reload']));
  if (before) await reloaded(server, container, before);
}

const top = async (server: Server, container: Container) => (await server.runner.run(host.top(container.id))).stdout;

/** The pids of nginx workers that take new connections (not those shutting down), from `docker top`. */
export function serving(topOutput: string): Set<string> {
  const lines = topOutput.trim().split('\n');
  const pid = lines[0]?.split(/\s+/).indexOf('PID') ?? -1;
  return new Set(
    lines
      .slice(1)
      .filter((line) => /nginx: worker process$/.test(line.trim()))
      .map((line) => line.trim().split(/\s+/)[pid]),
  );
}

/**
 * `nginx -s reload` only signals the master: until it has started workers with the new configuration
 * and told the old ones to stop taking connections, a request may still be served the old way. The
 * switch counts only once no worker of before takes connections and a new one does.
 */
async function reloaded(server: Server, container: Container, before: Set<string>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = serving(await top(server, container));
    if (now.size && ![...now].some((pid) => before.has(pid))) return;
    if (Date.now() > deadline)
      throw new TaskError(`nginx in ${container.name} did not start workers with the new configuration within 30 s.`);
    // A reload takes nginx tens of milliseconds; each look is a round trip to the host already.
    await sleep(20);
  }
}

/** nginx -t, then a reload: the front loads files that changed on the host without a restart. */
export async function reloadFront(server: Server, front: string): Promise<void> {
  await testAndReload(server, await frontContainer(server, front), 'as shipped');
}

/** Stops (SIGTERM, then the container's stop timeout) and removes these containers. */
export async function removeContainers(server: Server, ids: string[]): Promise<void> {
  for (const id of ids) {
    await server.runner.run(host.stopContainer(id));
    await server.runner.run(host.removeContainer(id, false));
  }
}

/** Removes a container the front no longer uses, whatever state it is in; one already gone is fine. */
export async function discard(server: Server, id: string): Promise<void> {
  await removeUnlessGone(server.runner, host.removeContainer(id, true), /No such container/i, { notes: [] });
}

/** The containers of `service` other than `keep`: what a killed deploy started beside the serving ones. */
export async function startedBeside(server: Server, service: string, keep: string[]): Promise<Container[]> {
  return (await serviceContainers(server, service)).filter((c) => !keep.includes(c.id));
}
