/**
 * Which files the inventory reads. Finding the uses of a file, and a script's closest twin, needs
 * only the files that hold certain strings: every form of use writes the target's name without
 * its extension or its folder's name (useNeedles in uses.ts), and a script shares a line with
 * another only if it holds that line (similarity.ts). git finds those files in its index
 * (`git grep --cached`: packed objects, no working file opened), which stands for the working copy
 * wherever git status calls the file unchanged. Every other file is read as it is on disk:
 * edited, untracked, unmerged, assume-unchanged or skip-worktree. So the user's uncommitted edits
 * count exactly as before, and on 50,000 files the inventory opens a handful instead of all of
 * them (docs/performance.md). Outside git, or when a string cannot be searched that way, every
 * text file is read, as before.
 */
import type { Runner } from '../runner.ts';
import { indexFilesContaining } from './git.ts';
import { isText, SKIPPED, textFiles } from './references.ts';

export interface Listing {
  /** Every file of BACKEND_DIR in git's order (ignored ones, .git, the trash and node_modules aside); outside git, its text files. */
  files: string[];
  /** Files whose working copy the index cannot stand for; 'all' outside git. */
  unsearched: Set<string> | 'all';
}

/**
 * The listing in git: the untracked files git does not ignore (from git status), then the tracked
 * ones in the index's order, as `git ls-files --cached --others` lists them, each once.
 */
export function gitListing(tracked: { files: string[]; unsearched: Set<string> }, untracked: string[]): Listing {
  const files: string[] = [];
  const unsearched = new Set(untracked);
  const kept = (file: string) => !SKIPPED.some((dir) => file.startsWith(dir));
  for (const file of untracked) if (kept(file)) files.push(file);
  // The index is sorted by path: an unmerged file's stages follow each other.
  let previous: string | undefined;
  for (const file of tracked.files) {
    if (file !== previous && kept(file)) files.push(file);
    previous = file;
  }
  for (const file of tracked.unsearched) unsearched.add(file);
  return { files, unsearched };
}

/** Outside git: every text file, each read. */
export const diskListing = (root: string): Listing => ({ files: textFiles(root), unsearched: 'all' });

/** Longest total of strings given to git as arguments; beyond it every file is read. */
const ARGUMENTS_LIMIT = 64_000;

/**
 * Strings git grep finds as the finders do: not empty (every file holds ''), no line break or
 * NUL (git matches within a line), no `$Id` (the ident attribute expands it in the working copy
 * only), and few enough to pass as arguments.
 */
export function searchable(strings: string[]): boolean {
  const total = strings.reduce((sum, s) => sum + s.length + 4, 0);
  return total < ARGUMENTS_LIMIT && strings.every((s) => s !== '' && !/[\0\n\r]/.test(s) && !s.includes('$Id'));
}

/**
 * The files whose staged blob holds one of the strings ('read all' when a string cannot be
 * searched so, or when a filter makes working copies unlike their blobs).
 */
export async function searchIndex(runner: Runner, root: string, strings: string[]): Promise<Set<string> | 'read all'> {
  const wanted = [...new Set(strings)];
  if (!searchable(wanted)) return 'read all';
  const hits = await indexFilesContaining(runner, root, wanted);
  return hits === 'filtered' ? 'read all' : new Set(hits);
}

/**
 * The text files of the listing that may hold one of the strings searched, in the listing's
 * order: a superset (the finders check each file), never missing one. `unlikeIndex`: the files
 * git status reports with a working copy other than the staged one.
 */
export function filesToRead(
  root: string,
  listing: Listing,
  unlikeIndex: Set<string>,
  hits: Set<string> | 'read all',
): string[] {
  const { files, unsearched } = listing;
  if (unsearched === 'all') return files;
  if (hits === 'read all') return files.filter((file) => isText(root, file));
  return files.filter(
    (file) => (hits.has(file) || unsearched.has(file) || unlikeIndex.has(file)) && isText(root, file),
  );
}

/** The first text file of the listing, in its order, that `accept` takes. */
export function firstTextFile(root: string, listing: Listing, accept: (file: string) => boolean): string | undefined {
  return listing.files.find((file) => (listing.unsearched === 'all' || isText(root, file)) && accept(file));
}
