/**
 * What the inventory reads from git before it decides anything, all at once. Each command is a
 * process that Node starts by forking its whole (large) process, one after another on its one
 * thread, so on 50,000 files the starts cost as much as the commands: the plan starts as few as it
 * can (docs/performance.md, Inventory). Four processes here, and a fifth only when a removal is
 * already gone from disk:
 *
 * - `git ls-files --cached`: every tracked file, and which ones the index cannot stand for;
 * - `git status`: what is uncommitted, and the untracked files (its walk of the tree is the one walk);
 * - the filter check and `git grep --cached` of the strings the finders look for;
 * - `git log -1 -- PATH` of each analyzed script, in one bash line;
 * - `git ls-tree HEAD` of the removals, only when one is gone from disk (is its removal committed?).
 */
import type { Runner } from '../runner.ts';

import { diskListing, gitListing, searchIndex, type Listing } from './candidates.ts';
import { filesInHead, lastCommits, trackedFiles, workingTreeState, type Commit, type WorkingTreeState } from './git.ts';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { globbySync } from 'globby';

export interface RepositoryReads {
  listing: Listing;
  /** Files of HEAD under the removals; asked only when a removal is gone from disk (the only case the plan looks). */
  headFiles: string[];
  tree: WorkingTreeState;
  /** The files whose staged blob holds one of the strings (candidates.ts). */
  hits: Set<string> | 'read all';
  /** The last commit of each analyzed path (in git). */
  commits: Map<string, Commit | undefined>;
}

export interface Wanted {
  /** Paths to remove (DELETE, and the copies MERGE drops). */
  removals: string[];
  /** Paths to analyze, which exist. */
  analyzed: string[];
  /** Strings a file must hold to use a target or share a line with an analyzed script. */
  needles: string[];
}

/** `prefix`: BACKEND_DIR's folder in its repository (repositoryOf); undefined outside git. */
export async function readRepository(
  runner: Runner,
  root: string,
  prefix: string | undefined,
  wanted: Wanted,
): Promise<RepositoryReads> {
  if (prefix === undefined) {
    return {
      listing: diskListing(root),
      headFiles: [],
      tree: { uncommitted: new Set(), unlikeIndex: new Set(), untracked: [] },
      hits: 'read all',
      commits: new Map(),
    };
  }
  const gone = wanted.removals.some((path) => !onDisk(root, path));
  const [tracked, tree, hits, commits, headFiles] = await Promise.all([
    trackedFiles(runner, root),
    workingTreeState(runner, root, prefix),
    searchIndex(runner, root, wanted.needles),
    lastCommits(runner, root, wanted.analyzed),
    gone ? filesInHead(runner, root, wanted.removals) : [],
  ]);
  return { listing: gitListing(tracked, tree.untracked), headFiles, tree, hits, commits };
}

// What a path inside BACKEND_DIR is on disk: there at all, and how many bytes it holds.

/** Whether anything (a file, folder or link, even a dangling one) is at path. */
export function onDisk(root: string, path: string): boolean {
  try {
    lstatSync(join(root, path));
    return true;
  } catch {
    return false;
  }
}

/** The bytes of the files at or under path (links counted as themselves, not followed). */
export function sizeOf(root: string, path: string): number {
  const absolute = join(root, path);
  if (!existsSync(absolute)) return 0;
  const files = lstatSync(absolute).isDirectory()
    ? globbySync('**/*', { cwd: absolute, dot: true, followSymbolicLinks: false }).map((f) => join(absolute, f))
    : [absolute];
  return files.reduce((sum, file) => sum + lstatSync(file).size, 0);
}
