/**
 * What a compose file needs on the host besides itself: bind-mount sources, env_file, the files
 * of top-level configs/secrets, build contexts. Read with a YAML parser (never with patterns), so
 * every syntax compose accepts (short and long volume forms, lists and maps) is seen.
 * Paths are relative to the compose file's folder, the project folder; one outside it is refused.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../errors.ts';

export interface ComposeSource {
  /** The service (or `configs.NAME` / `secrets.NAME`) that names the path. */
  service: string;
  kind: 'bind mount' | 'env_file' | 'config' | 'secret' | 'build context';
  /** As written in the compose file, after variable substitution. */
  path: string;
}

export interface ShippedFile {
  /** Relative to the project folder; the same path under DEPLOY_DIR on the host. */
  path: string;
  bytes: number;
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compose's ${VAR}, ${VAR:-default}, ${VAR-default} and $VAR, from the project's .env values. */
export function interpolate(text: string, env: Record<string, string>): string {
  return text
    .replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
      (_, name: string, op: string | undefined, fallback: string | undefined) => {
        const value = env[name];
        if (op === ':-') return value ? value : (fallback ?? '');
        if (op === '-') return value ?? fallback ?? '';
        return value ?? '';
      },
    )
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => env[name] ?? '');
}

/** A short-syntax volume's source is a path when it starts like one; otherwise it is a named volume. */
function isPath(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
}

/** Variables are substituted first: `${DIR:-x}` holds a colon that is not the separator. */
function volumeSource(volume: unknown, env: Record<string, string>): string | undefined {
  if (typeof volume === 'string') {
    const source = interpolate(volume, env).split(':')[0];
    return volume.includes(':') && isPath(source) ? source : undefined;
  }
  if (isMap(volume) && volume.type === 'bind' && typeof volume.source === 'string') return volume.source;
  return undefined;
}

function envFiles(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item) => (isMap(item) ? item.path : item)).filter((p): p is string => typeof p === 'string');
}

/** Every local path the compose file refers to, with who refers to it. Pure. */
export function composeSources(text: string, env: Record<string, string>): ComposeSource[] {
  const doc = parse(text) as Yaml | null;
  if (!isMap(doc)) throw new UsageError('The compose file is not a YAML map: check DEPLOY_COMPOSE_FILE.');
  const sources: ComposeSource[] = [];
  const add = (service: string, kind: ComposeSource['kind'], path: string) =>
    sources.push({ service, kind, path: interpolate(path, env) });
  for (const [name, service] of Object.entries(isMap(doc.services) ? doc.services : {})) {
    if (!isMap(service)) continue;
    for (const volume of Array.isArray(service.volumes) ? service.volumes : []) {
      const source = volumeSource(volume, env);
      if (source) add(name, 'bind mount', source);
    }
    for (const file of envFiles(service.env_file)) add(name, 'env_file', file);
    const build =
      typeof service.build === 'string' ? service.build : isMap(service.build) ? service.build.context : undefined;
    if (typeof build === 'string' && !/^[a-z]+:\/\//.test(build)) add(name, 'build context', build);
  }
  for (const kind of ['configs', 'secrets'] as const) {
    for (const [name, entry] of Object.entries(isMap(doc[kind]) ? doc[kind] : {})) {
      if (isMap(entry) && typeof entry.file === 'string')
        add(`${kind}.${name}`, kind === 'configs' ? 'config' : 'secret', entry.file);
    }
  }
  return sources;
}

/** The services the compose file defines. */
export function composeServices(text: string): string[] {
  const doc = parse(text) as Yaml | null;
  return isMap(doc) && isMap(doc.services) ? Object.keys(doc.services) : [];
}

/** The path relative to the project folder, or undefined when it leaves that folder. */
export function insideProject(projectDir: string, path: string): string | undefined {
  if (path.startsWith('~')) return undefined;
  const absolute = isAbsolute(path) ? path : resolve(projectDir, path);
  const rel = relative(projectDir, absolute);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
}

/** Refuses (exit 2) what cannot be shipped: sources outside the project folder, or missing ones. */
export function checkSources(projectDir: string, sources: ComposeSource[], exists: (rel: string) => boolean): string[] {
  const problems: string[] = [];
  const inside: string[] = [];
  for (const source of sources) {
    const rel = insideProject(projectDir, source.path);
    if (!rel)
      problems.push(
        `service ${source.service}: ${source.kind} ${source.path} is outside the project folder ${projectDir}`,
      );
    else if (!exists(rel))
      problems.push(`service ${source.service}: ${source.kind} ${source.path} does not exist in ${projectDir}`);
    else inside.push(rel);
  }
  if (problems.length) {
    throw new UsageError(
      `The compose file needs files that cannot be shipped with it:\n  ` +
        `${problems.join('\n  ')}\nMove them into the project folder (next to the compose file) ` +
        `and commit them, or change the compose file. Nothing was done.`,
    );
  }
  return [...new Set(inside)];
}

/** Expands folders to their files, with sizes; sorted, no duplicates. */
export function listFiles(projectDir: string, paths: string[]): ShippedFile[] {
  const files = new Map<string, number>();
  const walk = (rel: string) => {
    const info = statSync(join(projectDir, rel));
    // .git is never part of what a service reads.
    if (info.isDirectory())
      for (const entry of readdirSync(join(projectDir, rel)).filter((e) => e !== '.git'))
        walk(rel === '.' ? entry : `${rel}/${entry}`);
    else files.set(rel, info.size);
  };
  for (const path of paths) walk(path);
  return [...files].sort(([a], [b]) => a.localeCompare(b)).map(([path, bytes]) => ({ path, bytes }));
}
