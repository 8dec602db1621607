/**
 * What a compose file needs on the host besides itself. The model is compose's own
 * (`docker-compose config` / `docker compose config --format json`, lib/deploy/compose-model.ts):
 * variables substituted, `x-` anchors merged, `extends` applied, relative paths resolved against
 * the project folder. Never our own interpolation. Two facts compose's output drops are read from
 * the files as written (YAML merge keys honoured): `env_file` (compose 1.29 inlines the values)
 * and the files `extends: file:` names (applied, but the host's compose reads them again).
 *
 * A path inside the project folder is ours: shipped. An absolute path outside it (a socket,
 * /etc/localtime, /proc, a data folder) is the host's: expected there, never shipped. A relative
 * path that leaves the project folder is refused: it would mean something else on the host.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../errors.ts';

export interface ComposeSource {
  /** The service that reads the path (or `configs.NAME` / `secrets.NAME` when no service does). */
  service: string;
  kind: 'bind mount' | 'env_file' | 'config' | 'secret' | 'build context' | 'extends file';
  /** Absolute, as compose resolved it (or as written, for a `~` path). */
  path: string;
  /** Written relative in the file (writtenSources only): then it must stay inside the project folder. */
  relative?: boolean;
}

export interface ShippedFile {
  /** Relative to the project folder; the same path under DEPLOY_DIR on the host. */
  path: string;
  bytes: number;
  /** Not tracked by git (ignored or untracked): shipped from the working tree, mode 0600, never printed. */
  secret?: boolean;
  /** The services that read it: recreated when it changes. */
  readers?: string[];
}

/** An absolute path the compose file mounts from the host itself: checked there, never shipped. */
export interface HostPath {
  path: string;
  services: string[];
}

export type Yaml = Record<string, unknown>;
export const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown) => Object.entries(isMap(v) ? v : {});

/** Compose's config output (YAML from v1, JSON from v2) as a map. */
export function parseModel(text: string): Yaml {
  const doc = parse(text, { maxAliasCount: -1 }) as unknown;
  if (!isMap(doc)) throw new UsageError('compose config printed no model: check DEPLOY_COMPOSE_FILE.');
  return doc;
}

/** A short-syntax volume's source is a path when it starts like one; otherwise it is a named volume. */
function isPath(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
}

function volumeSource(volume: unknown): string | undefined {
  if (typeof volume === 'string') {
    const source = volume.split(':')[0];
    return volume.includes(':') && isPath(source) ? source : undefined;
  }
  if (isMap(volume) && volume.type === 'bind' && typeof volume.source === 'string') return volume.source;
  return undefined;
}

function envFiles(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item) => (isMap(item) ? item.path : item)).filter((p): p is string => typeof p === 'string');
}

/** Names a service's `secrets:` / `configs:` list refers to (short and long form). */
function referenced(list: unknown): string[] {
  return (Array.isArray(list) ? list : [])
    .map((item) => (isMap(item) ? item.source : item))
    .filter((s): s is string => typeof s === 'string');
}

/** Every local path compose's model refers to, with who reads it. Pure. */
export function composeSources(model: Yaml): ComposeSource[] {
  const sources: ComposeSource[] = [];
  const services = entries(model.services).filter(([, s]) => isMap(s)) as [string, Yaml][];
  for (const [name, service] of services) {
    for (const volume of Array.isArray(service.volumes) ? service.volumes : []) {
      const source = volumeSource(volume);
      if (source) sources.push({ service: name, kind: 'bind mount', path: source });
    }
    // Compose v2 keeps env_file in its model; v1 inlines it (read from the file as written instead).
    for (const file of envFiles(service.env_file)) sources.push({ service: name, kind: 'env_file', path: file });
    const build =
      typeof service.build === 'string' ? service.build : isMap(service.build) ? service.build.context : undefined;
    if (typeof build === 'string' && !/^[a-z]+:\/\//.test(build))
      sources.push({ service: name, kind: 'build context', path: build });
  }
  for (const kind of ['configs', 'secrets'] as const) {
    for (const [name, entry] of entries(model[kind])) {
      if (!isMap(entry) || typeof entry.file !== 'string') continue;
      const readers = services.filter(([, s]) => referenced(s[kind]).includes(name)).map(([n]) => n);
      for (const service of readers.length ? readers : [`${kind}.${name}`])
        sources.push({ service, kind: kind === 'configs' ? 'config' : 'secret', path: entry.file });
    }
  }
  return sources;
}

/** The services compose's model defines. */
export function composeServices(model: Yaml): string[] {
  return Object.keys(isMap(model.services) ? model.services : {});
}

/**
 * What compose's model drops, from the files as written: env_file paths and `extends` files
 * (followed into those files), each resolved against the folder of the file that names it; and
 * bind-mount sources written relative that leave the project folder. A path holding a variable
 * is left to compose's model.
 */
export function writtenSources(composePath: string, read = (p: string) => readFileSync(p, 'utf8')): ComposeSource[] {
  const found: ComposeSource[] = [];
  const seen = new Set<string>();
  const visit = (file: string, only?: string) => {
    if (seen.has(`${file}#${only ?? ''}`)) return;
    seen.add(`${file}#${only ?? ''}`);
    let text: string;
    try {
      text = read(file);
    } catch {
      return; // a missing extends file: named as a source, refused by sortSources
    }
    const doc = parse(text, { merge: true, maxAliasCount: -1 }) as unknown;
    const folder = dirname(file);
    for (const [name, service] of entries(isMap(doc) ? doc.services : undefined)) {
      if (!isMap(service) || (only && name !== only)) continue;
      for (const env of envFiles(service.env_file))
        if (!env.includes('$'))
          found.push({ service: name, kind: 'env_file', path: resolve(folder, env), relative: !isAbsolute(env) });
      for (const volume of Array.isArray(service.volumes) ? service.volumes : []) {
        const source = volumeSource(volume);
        if (source?.startsWith('.') && !source.includes('$'))
          found.push({ service: name, kind: 'bind mount', path: resolve(folder, source), relative: true });
      }
      const ext = isMap(service.extends) ? service.extends : undefined;
      if (typeof ext?.file === 'string' && !ext.file.includes('$')) {
        const other = resolve(folder, ext.file);
        found.push({ service: name, kind: 'extends file', path: other, relative: !isAbsolute(ext.file) });
        visit(other, typeof ext.service === 'string' ? ext.service : undefined);
      }
    }
  };
  visit(composePath);
  return found;
}

/** The path relative to the project folder, or undefined when it leaves that folder. */
export function insideProject(projectDir: string, path: string): string | undefined {
  if (path.startsWith('~')) return undefined;
  const absolute = isAbsolute(path) ? path : resolve(projectDir, path);
  const rel = relative(projectDir, absolute);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
}

const UNTRACKED_HINT = ' (files git does not track are shipped from the working tree: create it there)';

export interface SortedSources {
  /** Project-relative paths to ship, with the services that read each. */
  shipped: Map<string, string[]>;
  host: HostPath[];
}

/**
 * Splits the sources into ours (shipped) and the host's, and refuses (exit 2) what cannot be
 * shipped: a missing file of ours (a secret the working tree lacks, say), or a relative path that
 * leaves the project folder. `written` are the sources as written (writtenSources).
 */
export function sortSources(
  projectDir: string,
  sources: ComposeSource[],
  written: ComposeSource[],
  exists: (rel: string) => boolean,
): SortedSources {
  const problems: string[] = [];
  const shipped = new Map<string, string[]>();
  const host = new Map<string, string[]>();
  const leaving = new Set(written.filter((s) => s.relative && !insideProject(projectDir, s.path)).map((s) => s.path));
  const add = (map: Map<string, string[]>, key: string, service: string) =>
    map.set(key, [...new Set([...(map.get(key) ?? []), service])]);
  for (const source of [...sources, ...written.filter((s) => s.kind !== 'bind mount')]) {
    const rel = insideProject(projectDir, source.path);
    if (rel === undefined && leaving.has(source.path))
      problems.push(
        `service ${source.service}: ${source.kind} ${relative(projectDir, source.path)} is ` +
          `outside the project folder ${projectDir} (written relative, it would name another folder on the host)`,
      );
    else if (rel === undefined) add(host, source.path, source.service);
    else if (!exists(rel))
      problems.push(
        `service ${source.service}: ${source.kind} ${rel} does not exist in ` +
          `${projectDir}${source.kind === 'secret' || source.kind === 'env_file' ? UNTRACKED_HINT : ''}`,
      );
    else add(shipped, rel, source.service);
  }
  if (problems.length) {
    throw new UsageError(
      `The compose file needs files that cannot be shipped with it:\n  ${[...new Set(problems)].join('\n  ')}\n` +
        'Put them in the project folder (next to the compose file), or change the compose file. Nothing was done.',
    );
  }
  return { shipped, host: [...host].map(([path, services]) => ({ path, services })) };
}

/** Expands folders to their files, with sizes and readers; sorted, no duplicates. */
export function listFiles(projectDir: string, paths: Map<string, string[]>): ShippedFile[] {
  const files = new Map<string, { bytes: number; readers: Set<string> }>();
  const walk = (rel: string, readers: string[]) => {
    const info = statSync(join(projectDir, rel));
    // .git is never part of what a service reads.
    if (info.isDirectory())
      for (const entry of readdirSync(join(projectDir, rel)).filter((e) => e !== '.git'))
        walk(rel === '.' ? entry : `${rel}/${entry}`, readers);
    else {
      const file = files.get(rel) ?? { bytes: info.size, readers: new Set<string>() };
      for (const r of readers) file.readers.add(r);
      files.set(rel, file);
    }
  };
  for (const [path, readers] of paths) walk(path, readers);
  return [...files]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, { bytes, readers }]) => ({ path, bytes, readers: [...readers].sort() }));
}
