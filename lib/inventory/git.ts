/** The git commands of the inventory, as argv values run in BACKEND_DIR by the one runner. */
import type { Command } from '../command.ts';
import type { Runner } from '../runner.ts';

export const git = {
  isRepository: (dir: string): Command => ['git', '-C', dir, 'rev-parse', '--is-inside-work-tree'],
  status: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'status', '--porcelain', '--', ...paths],
  lastCommit: (dir: string, path: string): Command => ['git', '-C', dir, 'log', '-1', '--format=%h %cI %s', '--', path],
  /** --force only when the user forced it: it drops uncommitted edits of those files. */
  remove: (dir: string, paths: string[], force = false): Command => ['git', '-C', dir, 'rm', '-r', '-q', ...(force ? ['--force'] : []), '--', ...paths],
  add: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'add', '--', ...paths],
  commit: (dir: string, message: string, paths: string[]): Command => ['git', '-C', dir, 'commit', '-q', '-m', message, '--', ...paths],
};

export async function isGitRepository(runner: Runner, dir: string): Promise<boolean> {
  return (await runner.run(git.isRepository(dir), { allowFailure: true })).stdout.trim() === 'true';
}

/** Paths (of those given) with uncommitted changes, staged or not. */
export async function uncommitted(runner: Runner, dir: string, paths: string[]): Promise<Set<string>> {
  if (!paths.length) return new Set();
  const { stdout } = await runner.run(git.status(dir, paths));
  return new Set(stdout.split('\n').filter(Boolean).map((line) => line.slice(3).replace(/^"|"$/g, '')));
}

export async function lastCommit(runner: Runner, dir: string, path: string): Promise<{ hash: string; date: string; subject: string } | undefined> {
  const { stdout } = await runner.run(git.lastCommit(dir, path));
  const match = /^(\S+) (\S+) (.*)$/.exec(stdout.trim());
  return match ? { hash: match[1], date: match[2], subject: match[3] } : undefined;
}
