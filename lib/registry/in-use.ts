/**
 * "In use means kept": before planning, what the Docker hosts run or keep for a rollback is read
 * over ssh (the deploy host and every SERVER_HOSTS entry): every container's image (stopped ones
 * too: they are what a rollback restarts) with its repo digests, and the deploy's retained
 * releases (deploy-state.json). Those references that name this registry (under any of its names:
 * localhost:5000 is 127.0.0.1:5000) become digests the plan keeps, each with its reason.
 *
 * A host that cannot be read stops the plan: without knowing what it runs, no image is safe to
 * delete. `--force` plans without it, and the plan says so.
 */
import { sameHost } from '../host/names.ts';
import { messageOf, UsageError } from '../errors.ts';
import { readDeployState } from '../host/deploy-state.ts';
import { runnerFor, type Runner, type SshDefaults } from '../runner.ts';
import { docker } from '../host/commands.ts';
import { inspectListed } from '../host/inspect.ts';
import { dockerProblem, parseContainers } from '../host/parse.ts';
import type { ManifestRecord } from './sizes.ts';

/** One reference a host holds to an image of this registry, and why it must stay. */
export interface InUseRef {
  repository: string;
  /** A manifest digest (a container's repo digest). */
  digest?: string;
  /** A tag a rollback would pull (the deploy's retained releases). */
  tag?: string;
  /** The image ID (its config digest), for images whose repo digest is unknown. */
  imageId?: string;
  reason: string;
}

interface ImageRefs {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** `host:port` as Docker names a registry, with loopback aliases folded into one name. */
export function registryName(hostPort: string): string {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort.toLowerCase());
  if (!match) return hostPort.toLowerCase();
  const host = LOOPBACK.has(match[1]) ? 'loopback' : match[1];
  return match[2] ? `${host}:${match[2]}` : host;
}

/** The names this registry goes by: its URL's host and port, and the aliases hosts use for it. */
export function registryNames(url: URL, aliases: string[]): Set<string> {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const names = new Set([registryName(`${url.hostname}:${port}`), ...aliases.map(registryName)]);
  // Docker omits the port 443 of an https registry in image names.
  if (url.protocol === 'https:' && port === '443') names.add(registryName(url.hostname));
  return names;
}

/** Splits `registry:5000/team/app:tag@sha256:…` into its parts; undefined for another registry. */
export function parseReference(
  ref: string,
  names: ReadonlySet<string>,
): { repository: string; tag?: string; digest?: string } | undefined {
  const [name, digest] = ref.split('@');
  const slash = name.indexOf('/');
  if (slash < 0) return undefined;
  const domain = name.slice(0, slash);
  if (!/[.:]/.test(domain) && domain !== 'localhost') return undefined;
  if (!names.has(registryName(domain))) return undefined;
  const path = name.slice(slash + 1);
  const colon = path.lastIndexOf(':');
  const repository = colon > 0 ? path.slice(0, colon) : path;
  const tag = colon > 0 ? path.slice(colon + 1) : undefined;
  return { repository, ...(tag && !digest ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** A release in the deploy's record: its image reference and, when recorded, its registry digest. */
export interface DeployedRelease {
  image: string;
  digest?: string;
}

export interface HostImages {
  host: string;
  containers: { name: string; imageId: string; imageRef: string; state: string }[];
  images: ImageRefs[];
  /** The deploy's record (deploy host only): the current release and the ones kept for rollback. */
  deployed?: { current?: DeployedRelease; previous: DeployedRelease[] };
}

/** What one host runs or keeps, over its runner (one ssh connection). */
export async function readHostImages(runner: Runner, deployDir: string | undefined): Promise<HostImages> {
  try {
    const ids = (await runner.run(docker.containerIds())).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const containers = ids.length ? parseContainers(await inspectListed(runner, docker.inspectContainers(ids))) : [];
    const imageIds = [...new Set(containers.map((c) => c.image))];
    const images = imageIds.length
      ? (JSON.parse(
          (await runner.run(docker.inspectImages(imageIds), { allowFailure: true })).stdout || '[]',
        ) as ImageRefs[])
      : [];
    return {
      host: runner.name,
      containers: containers.map((c) => ({ name: c.name, imageId: c.image, imageRef: c.imageRef, state: c.state })),
      images,
      ...(deployDir ? { deployed: await readDeployState(runner, deployDir) } : {}),
    };
  } catch (error) {
    throw dockerProblem(runner.name, error);
  }
}

/** The references of one host that name this registry, each with its reason (pure). */
export function referencesOf(host: HostImages, names: ReadonlySet<string>): InUseRef[] {
  const refs: InUseRef[] = [];
  const byId = new Map(host.images.map((i) => [i.Id, i]));
  for (const c of host.containers) {
    const reason = `${c.state === 'running' ? 'runs' : `is kept (${c.state}) for a restart or rollback`} on ${host.host} as ${c.name}`;
    const image = byId.get(c.imageId);
    const digests = (image?.RepoDigests ?? []).map((r) => parseReference(r, names)).filter((r) => r?.digest);
    for (const d of digests) refs.push({ repository: d!.repository, digest: d!.digest, reason });
    // No repo digest of this registry (built here, or loaded): match the image by its config digest.
    if (!digests.length) {
      const named = [c.imageRef, ...(image?.RepoTags ?? [])].map((r) => parseReference(r, names)).filter(Boolean);
      for (const repository of new Set(named.map((r) => r!.repository)))
        refs.push({ repository, imageId: c.imageId, reason });
    }
  }
  if (host.deployed) {
    const releases = [
      ...(host.deployed.current ? [{ release: host.deployed.current, role: 'current release' }] : []),
      ...host.deployed.previous.map((release) => ({ release, role: 'rollback target' })),
    ];
    for (const { release, role } of releases) {
      const parsed = parseReference(release.image, names);
      const digest = release.digest ?? parsed?.digest;
      if (parsed)
        refs.push({
          repository: parsed.repository,
          ...(parsed.tag ? { tag: parsed.tag } : {}),
          ...(digest ? { digest } : {}),
          reason: `${role} of ${parsed.repository} on ${host.host} (deploy-state.json)`,
        });
    }
  }
  return refs;
}

/** Per repository: the digests in use and the tags a rollback pulls, with their reasons (pure). */
export interface InUse {
  digests: Map<string, string>;
  tags: Map<string, string>;
}

export function resolveInUse(
  refs: InUseRef[],
  tags: { tag: string; digest: string }[],
  manifests: ReadonlyMap<string, ManifestRecord>,
): InUse {
  const inUse: InUse = { digests: new Map(), tags: new Map() };
  const add = (map: Map<string, string>, key: string, reason: string) => {
    const before = map.get(key);
    if (!before?.includes(reason)) map.set(key, before ? `${before}; ${reason}` : reason);
  };
  const configOf = (digest: string): string[] => {
    const m = manifests.get(digest);
    if (!m) return [];
    return [...(m.config ? [m.config.digest] : []), ...m.children.flatMap(configOf)];
  };
  for (const ref of refs) {
    if (ref.digest) add(inUse.digests, ref.digest, ref.reason);
    if (ref.tag) {
      add(inUse.tags, ref.tag, ref.reason);
      const digest = tags.find((t) => t.tag === ref.tag)?.digest;
      if (digest) add(inUse.digests, digest, ref.reason);
    }
    if (ref.imageId)
      for (const t of tags) if (configOf(t.digest).includes(ref.imageId)) add(inUse.digests, t.digest, ref.reason);
  }
  // A platform manifest pulled by its own digest keeps the tagged index it belongs to.
  const within = (root: string, digest: string): boolean =>
    (manifests.get(root)?.children ?? []).some((c) => c === digest || within(c, digest));
  for (const [digest, reason] of [...inUse.digests]) {
    if (tags.some((t) => t.digest === digest)) continue;
    for (const t of tags) if (within(t.digest, digest)) add(inUse.digests, t.digest, reason);
  }
  return inUse;
}

export interface HostsToRead {
  deployHost?: string;
  deployDir: string;
  serverHosts: string[];
  ssh: SshDefaults;
  /** Plan without a host that cannot be read (said in the plan) instead of stopping. */
  force: boolean;
}

/**
 * Reads every host (the deploy host once, even when it is also a server host). A host that
 * cannot be read stops planning with a usage error (exit 2), unless `force`.
 */
export async function readHostsInUse(
  hosts: HostsToRead,
  names: ReadonlySet<string>,
  progress?: (m: string) => void,
): Promise<{ refs: InUseRef[]; read: string[]; unread: string[] }> {
  const targets = new Map<string, { setting: string; deployDir?: string }>();
  if (hosts.deployHost) targets.set(hosts.deployHost, { setting: 'DEPLOY_HOST', deployDir: hosts.deployDir });
  // The deploy host is often in SERVER_HOSTS too, maybe spelt differently (aisha@prod-1 and prod-1:22): read once.
  for (const host of hosts.serverHosts)
    if (![...targets.keys()].some((known) => sameHost(known, host))) targets.set(host, { setting: 'SERVER_HOSTS' });
  const refs: InUseRef[] = [];
  const read: string[] = [];
  const problems: string[] = [];
  for (const [destination, { setting, deployDir }] of targets) {
    progress?.(`reading what ${destination} runs`);
    const runner = runnerFor(destination, hosts.ssh, setting);
    try {
      refs.push(...referencesOf(await readHostImages(runner, deployDir), names));
      read.push(runner.name);
    } catch (error) {
      problems.push(`${setting} ${destination}: ${messageOf(error)}`);
    } finally {
      await runner.close();
    }
  }
  if (problems.length && !hosts.force) {
    throw new UsageError(
      `Cannot read what ` +
        `${problems.length === 1 ? 'a host runs' : `${problems.length} hosts run`}, so no ` +
        `registry image is safe to delete; nothing was deleted.\n  ${problems.join('\n  ')}\n` +
        'Fix the host (or remove it from DEPLOY_HOST / SERVER_HOSTS), or run with --force to plan without knowing what it runs.',
    );
  }
  return { refs, read, unread: problems };
}
