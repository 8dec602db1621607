/**
 * The files git ignores under each removal: caches a removal leaves behind (`__pycache__`),
 * which `git rm` does not take and apply moves to the trash, so the plan names them. git's own
 * listing of them (`git ls-files --others --ignored`, ignoredFiles in git.ts) reads the whole
 * index again: one more process and a tenth of a second on 50,000 files. It is asked only when a
 * removal holds a file the plan does not know already. An ignored file is on disk, not tracked,
 * and not among the untracked files git status lists (those are the ones git does not ignore);
 * so when every file under the removals is tracked or listed untracked, git would list none.
 * Anything else found there (an ignored file, a nested repository, a name git spells another
 * way) is left to git to say.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../runner.ts';
import { ignoredFiles } from './git.ts';

/** `listed`: the tracked files and the untracked ones git does not ignore, relative to root (the listing, candidates.ts). */
export async function ignoredUnder(
  runner: Runner,
  root: string,
  paths: string[],
  listed: string[],
): Promise<Map<string, string[]>> {
  const folders = paths.map((path) => `${path}/`);
  const known = new Set(
    listed.filter((file) => paths.includes(file) || folders.some((folder) => file.startsWith(folder))),
  );
  if (paths.every((path) => everyFileKnown(root, path, known))) return new Map(paths.map((path) => [path, []]));
  return ignoredFiles(runner, root, paths);
}

/** Whether every entry under path that is not a folder (files, links, anything else) is known; links are not followed. */
function everyFileKnown(root: string, path: string, known: Set<string>): boolean {
  const visit = (entry: string, folder: boolean): boolean =>
    folder
      ? readdirSync(join(root, entry), { withFileTypes: true }).every((child) =>
          visit(`${entry}/${child.name}`, child.isDirectory()),
        )
      : known.has(entry);
  try {
    return visit(path, lstatSync(join(root, path)).isDirectory());
  } catch {
    return false; // unreadable: git answers
  }
}
