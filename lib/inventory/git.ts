/**
 * The inventory's git, in zx: each function is one git command in BACKEND_DIR, run by the one
 * executor (`host.$`, lib/runner.ts), which quotes every path, so a file named `-rf` or `$(x)`
 * stays a file name. Lists are read with -z: a path may hold any character but NUL.
 * Two functions run a short bash line of several git commands instead (lastCommits, and the
 * filter check before the search in indexFilesContaining): Node forks its whole process to start
 * one, which costs more than these commands themselves (docs/performance.md, Inventory).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';

const nulList = (stdout: string) => stdout.split('\0').filter(Boolean);

export async function isGitRepository(host: Runner, dir: string): Promise<boolean> {
  const { stdout } = await host.$({ allowFailure: true })`git -C ${dir} rev-parse --is-inside-work-tree`;
  return stdout.trim() === 'true';
}

/** Where dir sits in git, in one call: undefined outside a work tree; else the git dir and dir's folder from the top ('' at the top). */
export async function repositoryOf(host: Runner, dir: string): Promise<{ gitDir: string; prefix: string } | undefined> {
  const { stdout, exitCode } = await host.$({
    allowFailure: true,
  })`git -C ${dir} rev-parse --is-inside-work-tree --git-dir --show-prefix`;
  const [inside = '', gitDir = '', prefix = ''] = stdout.split('\n');
  return exitCode === 0 && inside.trim() === 'true' ? { gitDir: gitDir.trim(), prefix: prefix.trim() } : undefined;
}

export interface WorkingTreeState {
  /**
   * Files under BACKEND_DIR (relative to it) whose uncommitted state holds work a change would
   * lose or sweep in: modified, added, renamed or untracked, staged or not. A deletion alone is
   * not work to lose (it is what an interrupted run leaves behind), so it does not count.
   */
  uncommitted: Set<string>;
  /** Files whose working copy is not their staged blob as git status sees it: changed, deleted, untracked, unmerged. */
  unlikeIndex: Set<string>;
  /**
   * The untracked files git does not ignore, each listed (not its folder), in git's order: what
   * `git ls-files --others --exclude-standard` lists, from the walk status makes anyway.
   */
  untracked: string[];
}

/**
 * One `git status` for all three: what is uncommitted, which working copies differ from the
 * index, and the untracked files. status names paths from the repository's top, whatever folder
 * BACKEND_DIR is: `prefix` is that folder ('' at the top, 'backend/' below it; repositoryOf).
 */
export async function workingTreeState(host: Runner, dir: string, prefix: string): Promise<WorkingTreeState> {
  // Staged, unstaged and untracked changes, every untracked file listed (not its folder).
  const entries = nulList((await host.$`git -C ${dir} status --porcelain=v1 -z --untracked-files=all -- .`).stdout);
  const state: WorkingTreeState = { uncommitted: new Set(), unlikeIndex: new Set(), untracked: [] };
  for (let i = 0; i < entries.length; i++) {
    const code = entries[i].slice(0, 2);
    const path = entries[i].slice(3);
    if (/[RC]/.test(code)) i++; // a rename is followed by its source path
    if (!path.startsWith(prefix)) continue;
    const relative = path.slice(prefix.length);
    // The second letter is the working tree against the index ('?' for untracked).
    if (code[1] !== ' ') state.unlikeIndex.add(relative);
    if (code.replace(/[ D]/g, '') !== '') state.uncommitted.add(relative);
    if (code === '??') state.untracked.push(relative);
  }
  return state;
}

/** Files of HEAD under the paths (what a removal takes out of the next commit). */
export async function filesInHead(host: Runner, dir: string, paths: string[]): Promise<string[]> {
  if (!paths.length) return [];
  return nulList(
    (await host.$({ allowFailure: true })`git -C ${dir} ls-tree -r -z --name-only HEAD -- ${paths}`).stdout,
  );
}

/**
 * Every file git tracks, relative to dir, in the index's order (an unmerged file once per stage);
 * and those whose working copy a search of the index cannot stand for: unmerged (tag M),
 * assume-unchanged (a lower-case tag) or skip-worktree (S), which git status does not compare
 * with the index. The untracked files come from git status (workingTreeState), which walks the
 * tree anyway: a second walk here cost a tenth of a second on 50,000 files.
 */
export async function trackedFiles(host: Runner, dir: string): Promise<{ files: string[]; unsearched: Set<string> }> {
  const { stdout } = await host.$`git -C ${dir} ls-files -z -v --cached`;
  // One pass over 50,000 entries: "TAG PATH\0", the tag one letter.
  const files: string[] = [];
  const unsearched = new Set<string>();
  for (let start = 0, end = stdout.indexOf('\0'); end !== -1; start = end + 1, end = stdout.indexOf('\0', start)) {
    if (end - start < 3) continue;
    const path = stdout.slice(start + 2, end);
    files.push(path);
    const tag = stdout.charCodeAt(start);
    if (tag === 77 /* M */ || tag === 83 /* S */ || (tag >= 97 && tag <= 122) /* a-z */) unsearched.add(path);
  }
  return { files, unsearched };
}

/** How the bash line of indexFilesContaining says that a filter is configured (git grep exits 0, 1 or 128 and up). */
const FILTERED_EXIT = 99;

/**
 * Files under dir whose staged blob holds one of the strings, a byte-for-byte substring of a
 * line (git grep on the index: packed objects are read, no working file is opened); 'filtered'
 * when a clean or smudge filter is configured (Git LFS, for one): then a working copy can differ
 * from its blob while git status calls it unchanged, and the index cannot stand for it. Both in
 * one bash line, the grep only when no filter is set. Exit 1 is git grep's "no file matched".
 */
export async function indexFilesContaining(
  host: Runner,
  dir: string,
  strings: string[],
): Promise<string[] | 'filtered'> {
  const search = strings.length
    ? [
        'git',
        '-C',
        dir,
        'grep',
        '--cached',
        '-l',
        '-z',
        '-F',
        '--no-color',
        '--no-full-name',
        ...strings.flatMap((s) => ['-e', s]),
      ]
    : ['true'];
  const found = await host.$({
    allowFailure: true,
  })`git -C ${dir} config --get-regexp ${'^filter\\.'} >/dev/null && exit ${FILTERED_EXIT}; ${search}`;
  if (found.exitCode === FILTERED_EXIT) return 'filtered';
  if (found.exitCode > 1)
    throw new TaskError(
      `git grep in ${dir} failed (exit ${found.exitCode}): ${found.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  return nulList(found.stdout);
}

/**
 * Files on disk under each path that git ignores (caches a removal leaves behind), in one
 * listing for all the paths; a path git would read as a pattern (glob characters) is asked alone.
 */
export async function ignoredFiles(host: Runner, dir: string, paths: string[]): Promise<Map<string, string[]>> {
  const list = async (pathspecs: string[]) =>
    pathspecs.length
      ? nulList((await host.$`git -C ${dir} ls-files -z --others --ignored --exclude-standard -- ${pathspecs}`).stdout)
      : [];
  const patterns = paths.filter((path) => /[*?[\\]/.test(path));
  const literal = paths.filter((path) => !patterns.includes(path));
  const [together, ...alone] = await Promise.all([list(literal), ...patterns.map((path) => list([path]))]);
  const under = (file: string, path: string) => file === path || file.startsWith(`${path.replace(/\/+$/, '')}/`);
  return new Map([
    ...literal.map((path) => [path, together.filter((file) => under(file, path))] as const),
    ...patterns.map((path, i) => [path, alone[i]] as const),
  ]);
}

export interface Commit {
  hash: string;
  date: string;
  subject: string;
}

const LOG_FORMAT = '%h %cI %s';

function parseCommit(line: string): Commit | undefined {
  const match = /^(\S+) (\S+) (.*)$/.exec(line.trim());
  return match ? { hash: match[1], date: match[2], subject: match[3] } : undefined;
}

/** The last commit that changed path (`git log -1 -- PATH`, history simplified for that path alone). */
export async function lastCommit(host: Runner, dir: string, path: string): Promise<Commit | undefined> {
  return parseCommit((await host.$`git -C ${dir} log -1 --format=${LOG_FORMAT} -- ${path}`).stdout);
}

/**
 * lastCommit of each path, in one bash line that runs the same `git log -1 -- PATH` for each
 * path in turn: one process started from Node instead of one per path, and each path's history
 * simplified for it alone, as before (one `git log` of all the paths would follow other parents
 * at a merge). Each answer ends with a NUL (none can be in a subject line).
 */
export async function lastCommits(
  host: Runner,
  dir: string,
  paths: string[],
): Promise<Map<string, Commit | undefined>> {
  if (!paths.length) return new Map();
  const { stdout } =
    await host.$`for path in ${paths}; do git -C ${dir} log -1 --format=${LOG_FORMAT} -- "$path" || exit; printf '\\0'; done`;
  const answers = stdout.split('\0');
  return new Map(paths.map((path, i) => [path, parseCommit(answers[i])]));
}

/** The commit of a run, found by its trailer; and the commit that reverted it, if any. */
export async function runCommit(
  host: Runner,
  dir: string,
  trailer: string,
): Promise<{ sha?: string; revertedBy?: string }> {
  const sha =
    (await host.$({ allowFailure: true })`git -C ${dir} log -1 --format=%H --grep=${`^${trailer}$`}`).stdout.trim() ||
    undefined;
  if (!sha) return {};
  const revertedBy =
    (
      await host.$({ allowFailure: true })`git -C ${dir} log -1 --format=%H --grep=${`^This reverts commit ${sha}`}`
    ).stdout.trim() || undefined;
  return { sha, revertedBy };
}

/** A git killed mid-command leaves index.lock behind: say so plainly instead of failing later. */
export function assertNoIndexLock(dir: string, gitDir: string): void {
  const lock = join(isAbsolute(gitDir) ? gitDir : join(dir, gitDir), 'index.lock');
  if (existsSync(lock))
    throw new TaskError(
      `${lock} exists: another git command is running in BACKEND_DIR, or one was killed. ` +
        `Nothing was changed. If no git command runs there, remove that file and run again.`,
    );
}

/** `git rm`: refuses (as git does) files with uncommitted changes; those the plan forced go through forgetInGit. */
export async function removeInGit(host: Runner, dir: string, paths: string[]): Promise<void> {
  await host.$`git -C ${dir} rm -r -q --ignore-unmatch -- ${paths}`;
}

/** Out of the index only, whatever their state: the working copies are then moved to the trash. */
export async function forgetInGit(host: Runner, dir: string, paths: string[]): Promise<void> {
  await host.$`git -C ${dir} rm -r -q --cached --force --ignore-unmatch -- ${paths}`;
}

export async function stage(host: Runner, dir: string, paths: string[]): Promise<void> {
  await host.$`git -C ${dir} add -- ${paths}`;
}

/** Index against HEAD, for the paths: what the commit will hold. */
export async function stagedFiles(host: Runner, dir: string, paths: string[]): Promise<string[]> {
  return nulList((await host.$`git -C ${dir} diff --cached --relative --name-only -z HEAD -- ${paths}`).stdout);
}

/** Working tree against the index, for the paths: must be empty before committing. */
export async function unstagedFiles(host: Runner, dir: string, paths: string[]): Promise<string[]> {
  return nulList((await host.$`git -C ${dir} diff --relative --name-only -z -- ${paths}`).stdout);
}

/** Commits only these paths (`git commit -- PATHS`): whatever else the user staged stays staged. Returns the new commit. */
export async function commitOnly(
  host: Runner,
  dir: string,
  message: string,
  trailer: string,
  paths: string[],
): Promise<string> {
  await host.$`git -C ${dir} commit -q -m ${message} -m ${trailer} -- ${paths}`;
  return (await host.$`git -C ${dir} rev-parse HEAD`).stdout.trim();
}

/** Changes to tracked files, staged or not: what a revert must not be mixed with. */
export async function trackedChanges(host: Runner, dir: string): Promise<string> {
  return (await host.$`git -C ${dir} status --porcelain --untracked-files=no`).stdout.trim();
}

export async function revert(host: Runner, dir: string, sha: string): Promise<void> {
  await host.$`git -C ${dir} revert --no-edit ${sha}`;
}

export async function checkoutFromHead(host: Runner, dir: string, path: string): Promise<void> {
  await host.$`git -C ${dir} checkout HEAD -- ${path}`;
}

/** The index entry back to HEAD's (the working file is left as it is). */
export async function unstage(host: Runner, dir: string, path: string): Promise<void> {
  await host.$`git -C ${dir} reset -q -- ${path}`;
}
