/** The git commands of the inventory, as argv values run in BACKEND_DIR by the one runner. */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Command } from '../command.ts';
import { TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';

export const git = {
  isRepository: (dir: string): Command => ['git', '-C', dir, 'rev-parse', '--is-inside-work-tree'],
  gitDir: (dir: string): Command => ['git', '-C', dir, 'rev-parse', '--git-dir'],
  /** Staged, unstaged and untracked changes (every untracked file listed, not its folder). */
  /** Its paths are relative to the repository's top, whatever folder BACKEND_DIR is: see prefix. */
  status: (dir: string): Command => ['git', '-C', dir, 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--', '.'],
  /** BACKEND_DIR's folder inside its repository ('' at the top, 'backend/' below it). */
  prefix: (dir: string): Command => ['git', '-C', dir, 'rev-parse', '--show-prefix'],
  /** Files of HEAD under the paths (what a removal takes out of the next commit). */
  inHead: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'ls-tree', '-r', '-z', '--name-only', 'HEAD', '--', ...paths],
  /** Every file git tracks or would track (untracked ones not ignored), relative to dir. */
  files: (dir: string): Command => ['git', '-C', dir, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
  /** Files on disk under the path that git does not track (ignored ones included). */
  untracked: (dir: string, path: string): Command => ['git', '-C', dir, 'ls-files', '-z', '--others', '--', path],
  ignored: (dir: string, path: string): Command => ['git', '-C', dir, 'ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--', path],
  lastCommit: (dir: string, path: string): Command => ['git', '-C', dir, 'log', '-1', '--format=%h %cI %s', '--', path],
  /** Refuses (as git does) files with uncommitted changes: those the plan forced go through `forget`. */
  remove: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'rm', '-r', '-q', '--ignore-unmatch', '--', ...paths],
  /** Out of the index only, whatever their state: the working copies are then moved to the trash. */
  forget: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'rm', '-r', '-q', '--cached', '--force', '--ignore-unmatch', '--', ...paths],
  add: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'add', '--', ...paths],
  /** Index against HEAD, for the paths: what the commit will hold. */
  staged: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'diff', '--cached', '--relative', '--name-only', '-z', 'HEAD', '--', ...paths],
  /** Working tree against the index, for the paths: must be empty before committing. */
  unstaged: (dir: string, paths: string[]): Command => ['git', '-C', dir, 'diff', '--relative', '--name-only', '-z', '--', ...paths],
  /** Commits only these paths (`git commit -- PATHS`): whatever else the user staged stays staged. */
  commit: (dir: string, message: string, trailer: string, paths: string[]): Command => ['git', '-C', dir, 'commit', '-q', '-m', message, '-m', trailer, '--', ...paths],
  head: (dir: string): Command => ['git', '-C', dir, 'rev-parse', 'HEAD'],
  findCommit: (dir: string, trailer: string): Command => ['git', '-C', dir, 'log', '-1', '--format=%H', `--grep=^${trailer}$`],
  revertsOf: (dir: string, sha: string): Command => ['git', '-C', dir, 'log', '-1', '--format=%H', `--grep=^This reverts commit ${sha}`],
  revert: (dir: string, sha: string): Command => ['git', '-C', dir, 'revert', '--no-edit', sha],
  /** Changes to tracked files, staged or not: what a revert must not be mixed with. */
  trackedChanges: (dir: string): Command => ['git', '-C', dir, 'status', '--porcelain', '--untracked-files=no'],
  /** The index entry back to HEAD's (the working file is left as it is). */
  unstage: (dir: string, path: string): Command => ['git', '-C', dir, 'reset', '-q', '--', path],
  checkout: (dir: string, path: string): Command => ['git', '-C', dir, 'checkout', 'HEAD', '--', path],
};

const nulList = (stdout: string) => stdout.split('\0').filter(Boolean);

export async function isGitRepository(runner: Runner, dir: string): Promise<boolean> {
  return (await runner.run(git.isRepository(dir), { allowFailure: true })).stdout.trim() === 'true';
}

/**
 * Files under BACKEND_DIR (relative to it) whose uncommitted state holds work a change would
 * lose or sweep in: modified, added, renamed or untracked, staged or not. A deletion alone is not
 * work to lose (it is what an interrupted run leaves behind), so it does not count.
 */
export async function uncommitted(runner: Runner, dir: string): Promise<Set<string>> {
  const prefix = (await runner.run(git.prefix(dir))).stdout.trim();
  const entries = nulList((await runner.run(git.status(dir))).stdout);
  const out = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const code = entries[i].slice(0, 2);
    const path = entries[i].slice(3);
    if (/[RC]/.test(code)) i++; // a rename is followed by its source path
    if (code.replace(/[ D]/g, '') === '' || !path.startsWith(prefix)) continue;
    out.add(path.slice(prefix.length));
  }
  return out;
}

export async function filesInHead(runner: Runner, dir: string, paths: string[]): Promise<string[]> {
  if (!paths.length) return [];
  return nulList((await runner.run(git.inHead(dir, paths), { allowFailure: true })).stdout);
}

export async function listed(runner: Runner, command: Command): Promise<string[]> {
  return nulList((await runner.run(command)).stdout);
}

export async function lastCommit(runner: Runner, dir: string, path: string): Promise<{ hash: string; date: string; subject: string } | undefined> {
  const { stdout } = await runner.run(git.lastCommit(dir, path));
  const match = /^(\S+) (\S+) (.*)$/.exec(stdout.trim());
  return match ? { hash: match[1], date: match[2], subject: match[3] } : undefined;
}

/** The commit of a run, found by its trailer; and the commit that reverted it, if any. */
export async function runCommit(runner: Runner, dir: string, trailer: string): Promise<{ sha?: string; revertedBy?: string }> {
  const sha = (await runner.run(git.findCommit(dir, trailer), { allowFailure: true })).stdout.trim() || undefined;
  if (!sha) return {};
  const revertedBy = (await runner.run(git.revertsOf(dir, sha), { allowFailure: true })).stdout.trim() || undefined;
  return { sha, revertedBy };
}

/** A git killed mid-command leaves index.lock behind: say so plainly instead of failing later. */
export async function assertNoIndexLock(runner: Runner, dir: string): Promise<void> {
  const gitDir = (await runner.run(git.gitDir(dir))).stdout.trim();
  const lock = join(isAbsolute(gitDir) ? gitDir : join(dir, gitDir), 'index.lock');
  if (existsSync(lock)) throw new TaskError(`${lock} exists: another git command is running in BACKEND_DIR, or one was killed. Nothing was changed. If no git command runs there, remove that file and run again.`);
}
