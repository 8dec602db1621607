/**
 * Path safety: the inventory may only ever touch files inside BACKEND_DIR. A listed path that is
 * absolute, climbs out with `..`, or resolves through a symlink to somewhere outside is refused
 * with its reason, whatever the lists say.
 */
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { UsageError } from '../errors.ts';

export type Resolved =
  { ok: true; relative: string; absolute: string; exists: boolean } | { ok: false; reason: string };

export function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export function resolveListed(root: string, listed: string): Resolved {
  if (isAbsolute(listed)) return { ok: false, reason: `absolute path: only paths inside BACKEND_DIR may be listed` };
  const normal = normalize(listed);
  if (normal === '..' || normal.startsWith(`..${sep}`))
    return { ok: false, reason: 'climbs out of BACKEND_DIR with ..' };
  const realRoot = realpathSync(root);
  const absolute = join(realRoot, normal);
  if (!existsSync(absolute) && !isSymlink(absolute)) return { ok: true, relative: normal, absolute, exists: false };
  // Every existing ancestor, and the path itself when it is a link, must stay inside the root.
  const target = isSymlink(absolute) ? safeRealpath(absolute) : realpathSync(absolute);
  if (target && !inside(realRoot, target))
    return { ok: false, reason: `resolves through a symlink to ${target}, outside BACKEND_DIR` };
  return { ok: true, relative: normal, absolute, exists: true };
}

/**
 * Whether a listed path is safe and there, each path resolved once: the plan asks it again and
 * again of the same paths (each CONSOLIDATE target of its whole group), and reads the disk once.
 */
export function listedExists(root: string): (path: string) => boolean {
  const answers = new Map<string, boolean>();
  return (path) => {
    if (!answers.has(path)) {
      const resolved = resolveListed(root, path);
      answers.set(path, resolved.ok && resolved.exists);
    }
    return answers.get(path)!;
  };
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function safeRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined; // a dangling link: removing the link itself is safe
  }
}

/**
 * A BACKEND_DIR holding none of the paths the lists name is not the backend (a typo in the path,
 * an empty clone): planning it would say "nothing to change" and exit 0, as a clean backend does.
 */
export function assertSomeListedExists(
  root: string,
  listed: Iterable<string>,
  exists: (path: string) => boolean,
): void {
  const paths = [...listed];
  if (!paths.length || paths.some(exists)) return;
  const named = paths.slice(0, 4).join(', ');
  throw new UsageError(
    `is BACKEND_DIR the backend? none of ` +
      `${named}${paths.length > 4 ? ` (or the ${paths.length - 4} other paths the plan lists)` : ''} ` +
      `exists in ${root}. Nothing was changed. Set BACKEND_DIR to the backend repository's folder.`,
  );
}
