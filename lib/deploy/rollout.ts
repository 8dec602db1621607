/**
 * How the new release takes over from the one serving: beside it, without a gap, where compose's
 * model allows; in place, with the reason shown, where it does not. Pure; decided while planning.
 *
 * Beside is docker-rollout's way, measured here at 0 failed of about 830 requests per switch: compose
 * scales the API service to one more container with --no-recreate (the old one keeps serving), waits
 * for the new one's compose healthcheck, points the front's upstream at the new container by name
 * (`nginx -t`, then `nginx -s reload`: no restart), checks the health URLs through the front, lets the
 * old nginx workers drain, stops and removes the old container, then writes the shipped
 * configuration back (the service name now resolves to the new container only) and reloads again.
 *
 * On the host's network two releases cannot share a port: with DEPLOY_SECOND_PORT the new one starts
 * on the other port (blue/green), and the front's upstream moves to that port by the same reload.
 */
import { UsageError } from '../errors.ts';
import type { ProjectContainer } from '../host/rollback-containers.ts';
import { RUNNING } from '../host/rollback-containers.ts';
import { escapeRegExp } from '../text.ts';
import { isMap, type ShippedFile, type Yaml } from './compose-files.ts';

/** A container by its id and the name compose gave it. */
export interface Container {
  id: string;
  name: string;
}

/** What compose's model says of one service, as far as running two of it side by side goes. */
export interface ServiceFacts {
  name: string;
  image?: string;
  hostNetwork: boolean;
  healthcheck: boolean;
  /** Publishes ports on the host: a second container could not bind them. */
  published: boolean;
  containerName: boolean;
  /** The containers compose runs of it (`scale:`, or `deploy.replicas` as compose v2 reads it): 1 unless set. */
  scale: number;
}

function scaleOf(service: Yaml): number {
  const replicas = isMap(service.deploy) ? service.deploy.replicas : undefined;
  const scale = typeof service.scale === 'number' ? service.scale : replicas;
  return typeof scale === 'number' && Number.isInteger(scale) && scale > 0 ? scale : 1;
}

export function serviceFacts(model: Yaml): ServiceFacts[] {
  return Object.entries(isMap(model.services) ? model.services : {}).map(([name, s]) => {
    const service = isMap(s) ? s : {};
    const check = isMap(service.healthcheck) ? service.healthcheck : undefined;
    const ports = service.ports;
    return {
      name,
      ...(typeof service.image === 'string' ? { image: service.image } : {}),
      hostNetwork: service.network_mode === 'host',
      healthcheck: Boolean(check && check.disable !== true && check.test !== undefined && check.test !== 'NONE'),
      published: Array.isArray(ports) && ports.length > 0,
      containerName: typeof service.container_name === 'string',
      scale: scaleOf(service),
    };
  });
}

/** `webhook-api:8001` written as a host in a configuration file (not part of a longer name). */
export const upstreamPattern = (service: string) => new RegExp(`(?<![\\w.-])${escapeRegExp(service)}(?=:\\d)`, 'g');

/** `127.0.0.1:8001` (or localhost, [::1]): the port as written after a loopback host in a configuration file. */
export const portPattern = (port: number) =>
  new RegExp(`(?<=(?:127\\.0\\.0\\.1|localhost|\\[::1\\]):)${port}(?!\\d)`, 'g');

/** DEPLOY_SECOND_PORT: the variable that sets the API's port, its usual value, and the other one. */
export interface SecondPort {
  key: string;
  first: number;
  second: number;
}

export function secondPortOf(setting: string | undefined, composeEnv: string[]): SecondPort | undefined {
  if (!setting) return undefined;
  const [, key, second] = /^([A-Za-z_][A-Za-z0-9_]*)=(\d{1,5})$/.exec(setting.trim()) ?? [];
  const first = composeEnv.map((line) => line.split('=')).find(([k]) => k === key)?.[1];
  if (!key || !first || !/^\d{1,5}$/.test(first) || first === second)
    throw new UsageError(
      `DEPLOY_SECOND_PORT=${setting}: write it as KEY=PORT, where KEY is the variable of DEPLOY_COMPOSE_ENV ` +
        `that sets the API's port (e.g. WEBHOOK_PORT=8001 there) and PORT another free port on the host ` +
        `(e.g. WEBHOOK_PORT=8011). Nothing was done.`,
    );
  return { key, first: Number(first), second: Number(second) };
}

/** The tracked shipped files that name `service:PORT`, with the services that read them (the front's configuration). */
export function filesNaming(pattern: RegExp, files: ShippedFile[], read: (path: string) => string): ShippedFile[] {
  return files.filter((f) => !f.secret && new RegExp(pattern).test(read(f.path)));
}

/** What the choice is made from, read while planning. */
export interface RolloutInputs {
  /** The service that runs DEPLOY_IMAGE (its image in the model is the one the deploy names). */
  api?: ServiceFacts;
  facts: ServiceFacts[];
  /** Shipped, tracked files that name the API by service name and port. */
  frontFiles: ShippedFile[];
  /** Host networking: DEPLOY_SECOND_PORT, and the files that name the API's usual port on loopback. */
  secondPort?: SecondPort;
  portFiles?: ShippedFile[];
}

/** How the front moves to the new release: to its container by name, or to the other port. */
export type Move = { by: 'name' } | { by: 'port'; key: string; first: number; from: number; to: number };

export interface Beside {
  kind: 'beside';
  service: string;
  /** The API's containers serving now: they keep serving until the new one does, then go. */
  serving: Container[];
  front: string;
  frontFiles: string[];
  /** Set when the front's own image changes: compose must recreate it (a restart no reload can avoid). */
  frontRestart?: string;
  /** Same image and none of its files changed: the API keeps its container (compose would keep it too). */
  keepsApi: boolean;
  move: Move;
  /** The API's containers the compose file asks for: after the switch, compose up brings the rest. */
  scale: number;
}

export type Rollout = Beside | { kind: 'in-place'; why: string; firstStart: boolean };

const inPlace = (why: string, firstStart = false): Rollout => ({ kind: 'in-place', why, firstStart });

/** What the host runs now, and what changes. */
export interface RolloutNow {
  containers: ProjectContainer[];
  /** Containers the server task removes earlier in the same run. */
  removedByServer: string[];
  /** The API gets a new container (its image, or a file it reads, changed). */
  apiChanges: boolean;
  /** The value of DEPLOY_SECOND_PORT's variable in the host's .env: the port serving now. */
  servingPort?: number;
}

export function chooseRollout(inputs: RolloutInputs, now: RolloutNow): Rollout {
  const { containers, removedByServer, apiChanges } = now;
  const api = inputs.api;
  if (!api) return inPlace('no service of the compose file runs DEPLOY_IMAGE, so none can be started beside itself');
  const mine = containers.filter((c) => c.service === api.name && !removedByServer.includes(c.id));
  const serving = mine.filter((c) => RUNNING.has(c.state));
  if (!serving.length) return inPlace(`no ${api.name} container runs now, so there is nothing to keep serving`, true);
  if (api.hostNetwork && !inputs.secondPort)
    return inPlace(
      `${api.name} uses network_mode: host, where two releases cannot listen on one port: set ` +
        `DEPLOY_SECOND_PORT (e.g. WEBHOOK_PORT=8011) to start the new one on a second port (blue/green)`,
    );
  if (!api.healthcheck)
    return inPlace(
      `${api.name} has no compose healthcheck, so a new container cannot be known healthy before ` +
        `traffic moves to it: add a healthcheck: to the service`,
    );
  if (api.published && !api.hostNetwork)
    return inPlace(`${api.name} publishes ports on the host, which a second container could not bind`);
  if (api.containerName) return inPlace(`${api.name} has a fixed container_name, so compose cannot run two of it`);
  const stopped = mine.filter((c) => !RUNNING.has(c.state));
  if (stopped.length)
    return inPlace(
      `${api.name} has stopped containers (${stopped.map((c) => c.name).join(', ')}), which compose's ` +
        `--scale would start again beside the new one: remove them (docker rm) to deploy without a gap`,
    );
  const port = api.hostNetwork ? inputs.secondPort : undefined;
  const frontFiles = port ? (inputs.portFiles ?? []) : inputs.frontFiles;
  const readers = [...new Set(frontFiles.flatMap((f) => f.readers ?? []))].filter((r) => r !== api.name);
  if (!readers.length)
    return inPlace(
      port
        ? `no configuration a service mounts names 127.0.0.1:${port.first}, so no front can be moved to the other port`
        : `no configuration a service mounts names ${api.name}:PORT, so no front can be moved to the new container`,
    );
  const front = readers[0];
  const frontContainer = containers.find((c) => c.service === front && c.state === 'running');
  if (!frontContainer) return inPlace(`the front (${front}) is not running, so it cannot be moved without a gap`);
  const wanted = inputs.facts.find((f) => f.name === front)?.image;
  return {
    kind: 'beside',
    service: api.name,
    serving: serving.map((c) => ({ id: c.id, name: c.name })),
    front,
    frontFiles: frontFiles.filter((f) => f.readers?.includes(front)).map((f) => f.path),
    // On a second port the shipped front files name the first one: the API always moves (no gap either way).
    keepsApi: !apiChanges && !port,
    move: port ? portMove(port, now.servingPort) : { by: 'name' },
    scale: api.scale,
    ...(wanted && wanted !== frontContainer.image
      ? {
          frontRestart:
            `its image changes (${frontContainer.image} → ${wanted}): compose recreates it, as no reload ` +
            `can change nginx's binary; requests fail while it restarts (about a second)`,
        }
      : {}),
  };
}

function portMove(port: SecondPort, serving: number | undefined): Move {
  const from = serving === port.second ? port.second : port.first;
  return { by: 'port', key: port.key, first: port.first, from, to: from === port.first ? port.second : port.first };
}

/** The plan's figure: the downtime to expect, zero or why not. */
export function expectedDowntime(rollout: Rollout): string {
  if (rollout.kind === 'in-place')
    return rollout.firstStart
      ? `none to avoid: ${rollout.why}`
      : `not zero: ${rollout.why}; compose recreates it in place, and requests fail while it restarts ` +
          `(the report measures the gap)`;
  return (
    (rollout.keepsApi
      ? `zero: ${rollout.service} keeps its container (same image, none of its files changed)`
      : `zero: the new ${rollout.service} serves (healthy, through the front) before ${rollout.front} moves ` +
        `to it${rollout.move.by === 'port' ? ` on port ${rollout.move.to}` : ''}, and the old one stops only after it drained`) +
    (rollout.frontRestart ? `; except ${rollout.front}'s own restart: ${rollout.frontRestart}` : '')
  );
}
