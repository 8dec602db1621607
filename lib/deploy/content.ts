/**
 * Idempotent by content, for free from git: `git rev-parse HEAD:<folder>` is the tree id of that
 * folder and changes when, and only when, a tracked file under it changes. The content key of a
 * release hashes the tree of the build context with the blob ids of the Dockerfile, the compose
 * file and every shipped file, so a commit that touches only documentation plans nothing.
 * Secrets (shipped files git does not track) have no blob id: the sha256 of their bytes counts
 * instead, so changing one moves the key; neither bytes nor hash is ever printed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../runner.ts';

export interface ContentInputs {
  /** Folders whose tree id counts (the build context), relative to the repository root. */
  trees: string[];
  /** Files whose blob id counts (Dockerfile, compose file, shipped files). */
  blobs: string[];
  /** Shipped files git does not track: the hash of their bytes counts. */
  secrets: string[];
}

export const git = {
  head: (repo: string) => ['git', '-C', repo, 'rev-parse', '--short=12', 'HEAD'],
  parent: (repo: string, rev: string) => ['git', '-C', repo, 'rev-parse', '--short=12', `${rev}^`],
  objectIds: (repo: string, paths: string[]) => ['git', '-C', repo, 'rev-parse', ...paths.map((p) => `HEAD:./${p}`)],
  status: (repo: string, paths: string[]) => [
    'git',
    '-C',
    repo,
    'status',
    '--porcelain',
    '--untracked-files=all',
    '--',
    ...paths,
  ],
  hashWorkTree: (repo: string, paths: string[]) => ['git', '-C', repo, 'hash-object', '--', ...paths],
  tracked: (repo: string, paths: string[]) => ['git', '-C', repo, 'ls-files', '-z', '--', ...paths],
};

/** Which of these repository-relative files git tracks; the others are secrets. */
export async function trackedFiles(runner: Runner, repo: string, paths: string[]): Promise<Set<string>> {
  if (!paths.length) return new Set();
  return new Set((await runner.run(git.tracked(repo, paths))).stdout.split('\0').filter(Boolean));
}

/** The id a secret counts with: a hash of its bytes, read from the working tree here. */
export function secretId(repo: string, path: string): string {
  return `sha256:${createHash('sha256')
    .update(readFileSync(join(repo, path)))
    .digest('hex')
    .slice(0, 16)}`;
}

/** The key from `path id` lines: pure, so a test can show which inputs move it. */
export function keyOf(ids: Map<string, string>): string {
  const lines = [...ids].sort(([a], [b]) => a.localeCompare(b)).map(([path, id]) => `${path} ${id}`);
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

export async function headRevision(runner: Runner, repo: string): Promise<string> {
  return (await runner.run(git.head(repo))).stdout.trim();
}

export async function parentRevision(runner: Runner, repo: string, rev: string): Promise<string | undefined> {
  const result = await runner.run(git.parent(repo, rev), { allowFailure: true });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** Files under these paths that differ from HEAD (modified, added, deleted, untracked). */
export async function dirtyFiles(runner: Runner, repo: string, paths: string[]): Promise<string[]> {
  const out = (await runner.run(git.status(repo, paths))).stdout;
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3));
}

/**
 * The ids the content key hashes, by repository path: tree and blob ids at HEAD, secrets' hashes.
 * With `dirty` files (allowed by --allow-dirty), their work-tree content counts too, so a dirty
 * build never passes for the committed one.
 */
export async function contentIds(
  runner: Runner,
  repo: string,
  inputs: ContentInputs,
  dirty: string[] = [],
): Promise<Map<string, string>> {
  const paths = [...inputs.trees, ...inputs.blobs];
  const ids = (await runner.run(git.objectIds(repo, paths))).stdout.trim().split('\n');
  const map = new Map(paths.map((p, i) => [p, ids[i]]));
  for (const path of inputs.secrets) map.set(path, secretId(repo, path));
  for (const path of dirty) map.set(`dirty:${path}`, 'deleted');
  const present = dirty.filter((p) => existsSync(join(repo, p)));
  if (present.length) {
    const hashed = (await runner.run(git.hashWorkTree(repo, present))).stdout.trim().split('\n');
    present.forEach((p, i) => map.set(`dirty:${p}`, hashed[i]));
  }
  return map;
}

export async function contentKey(
  runner: Runner,
  repo: string,
  inputs: ContentInputs,
  dirty: string[] = [],
): Promise<string> {
  return keyOf(await contentIds(runner, repo, inputs, dirty));
}

/**
 * The ids of the shipped files and of the compose file, by their path in the deploy folder
 * (recorded with the release: the next plan sees which of them changed).
 */
export function shippedIds(
  backend: { files: { path: string }[]; composeFile: string; repoPath: (p: string) => string },
  ids: Map<string, string>,
): Record<string, string> {
  const paths = [...backend.files.map((f) => f.path), backend.composeFile];
  return Object.fromEntries(paths.map((path) => [path, ids.get(backend.repoPath(path)) ?? '']));
}
