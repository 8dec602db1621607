/**
 * The inventory's git reads start fewer processes (lib/inventory/reads.ts, ignored.ts, git.ts),
 * and each says exactly what the command it replaces said, on real repositories with traps:
 *
 * - the listing: untracked files taken from git status instead of a second walk by
 *   `git ls-files --others`: the same files in the same order (odd names, a nested repository,
 *   an untracked file in an ignored folder re-included in vain, an unmerged file, assume-unchanged
 *   and skip-worktree entries, BACKEND_DIR as a folder of a larger repository);
 * - ignored files under the removals: git is asked only when a removal holds a file that is
 *   neither tracked nor listed untracked, and the answer is git's in every case;
 * - last commits: one bash line of `git log -1 -- PATH`, the same answers as one process each, on
 *   a history whose merge makes one `git log` of all the paths answer otherwise.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gitListing } from '../lib/inventory/candidates.ts';
import {
  ignoredFiles,
  indexFilesContaining,
  lastCommit,
  lastCommits,
  trackedFiles,
  workingTreeState,
} from '../lib/inventory/git.ts';
import { ignoredUnder } from '../lib/inventory/ignored.ts';
import { SKIPPED } from '../lib/inventory/references.ts';
import { localRunner, type HostShell, type RunOptions, type RunResult, type Runner } from '../lib/runner.ts';

const dirs: string[] = [];
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};
const git = (root: string, ...args: string[]) =>
  execFileSync('git', ['-C', root, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const write = (root: string, path: string, text = 'x\n') => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};
const nul = (text: string) => text.split('\0').filter(Boolean);

function emptyRepository(): string {
  const root = mkdtempSync(join(tmpdir(), 'cleanup-reads-'));
  dirs.push(root);
  git(root, 'init', '-q', '-b', 'main');
  return root;
}

/** A repository with every kind of file git lists differently; BACKEND_DIR is `backend/` in it. */
function trappedRepository(): { top: string; root: string } {
  const top = emptyRepository();
  const root = join(top, 'backend');
  write(top, 'outside.md');
  for (const path of [
    'a.md',
    'docs/b.md',
    'docs/sub/c.md',
    'conflict.md',
    'assumed.md',
    'skipped.md',
    'gone/d.py',
    'node_modules/pkg/index.js',
  ])
    write(root, path);
  write(root, '.gitignore', 'build/\n!build/keep.txt\n*.pyc\n');
  git(top, 'add', '-A');
  git(top, 'commit', '-q', '-m', 'start');
  // An unmerged file: three index entries of one path.
  git(top, 'checkout', '-q', '-b', 'side');
  write(root, 'conflict.md', 'side\n');
  git(top, 'commit', '-q', '-am', 'side');
  git(top, 'checkout', '-q', 'main');
  write(root, 'conflict.md', 'main\n');
  git(top, 'commit', '-q', '-am', 'main');
  try {
    git(top, 'merge', '-q', 'side');
  } catch {
    // the conflict is the point
  }
  git(top, 'update-index', '--assume-unchanged', 'backend/assumed.md');
  git(top, 'update-index', '--skip-worktree', 'backend/skipped.md');
  // Untracked files: at the top, deep, odd names, beside tracked ones, inside an ignored folder (not listed), a nested repository.
  for (const path of [
    'new.md',
    'docs/sub/deeper/e.md',
    'name with spaces.md',
    'line\nbreak.md',
    'ünï/cödé.md',
    'a.md.orig',
    'docs/-dash.md',
    'build/keep.txt',
    'build/out.bin',
    'x.pyc',
    'z/new.sh',
    'node_modules/pkg/new.js',
  ])
    write(root, path);
  write(root, 'nested/inner.md');
  git(join(root, 'nested'), 'init', '-q');
  mkdirSync(join(root, 'empty/inner'), { recursive: true });
  symlinkSync('docs', join(root, 'link'));
  write(top, 'untracked-outside.md');
  return { top, root };
}

test('the listing: untracked files from git status, tracked from ls-files --cached: what git ls-files --cached --others listed, in its order', async () => {
  const { root } = trappedRepository();
  const runner = localRunner();
  // What the inventory listed before: one `git ls-files` with both kinds, each path once, the skipped folders aside.
  const entries = nul(
    execFileSync('git', ['-C', root, 'ls-files', '-z', '-v', '--cached', '--others', '--exclude-standard'], {
      encoding: 'utf8',
    }),
  );
  const before = {
    files: [...new Set(entries.map((entry) => entry.slice(2)))].filter(
      (file) => !SKIPPED.some((dir) => file.startsWith(dir)),
    ),
    unsearched: new Set(entries.filter((entry) => /^[?MSa-z]/.test(entry)).map((entry) => entry.slice(2))),
  };
  const [tracked, tree] = await Promise.all([trackedFiles(runner, root), workingTreeState(runner, root, 'backend/')]);
  const now = gitListing(tracked, tree.untracked);
  assert.equal(now.files, before.files);
  assert.equal(now.unsearched, before.unsearched);
  // The traps are there: the fixture would prove nothing otherwise.
  for (const file of ['line\nbreak.md', 'ünï/cödé.md', 'nested/', 'conflict.md', 'docs/sub/deeper/e.md'])
    assert.ok(now.files.includes(file), file);
  for (const file of ['build/keep.txt', 'x.pyc', 'node_modules/pkg/new.js', 'untracked-outside.md'])
    assert.not.ok(now.files.includes(file), file);
  assert.is(now.files.filter((file) => file === 'conflict.md').length, 1);
  for (const file of ['assumed.md', 'skipped.md', 'conflict.md', 'new.md'])
    assert.ok(now.unsearched !== 'all' && now.unsearched.has(file), file);
});

/** A real runner that also records each command line it runs. */
function recording(runner: Runner): { runner: Runner; lines: string[] } {
  const lines: string[] = [];
  type Tag = (pieces: TemplateStringsArray, ...values: unknown[]) => Promise<RunResult>;
  const tag =
    (run: Tag): Tag =>
    (pieces, ...values) => {
      lines.push(pieces.join('…'));
      return run(pieces, ...values);
    };
  const shell = (first: TemplateStringsArray | RunOptions, ...values: unknown[]) =>
    'raw' in first ? tag(runner.$)(first, ...values) : tag(runner.$(first));
  return { runner: { name: runner.name, $: shell as HostShell, run: runner.run, close: runner.close }, lines };
}

test('ignored files under the removals: git is asked only for files the plan does not know, and its answer is the same', async () => {
  const root = emptyRepository();
  for (const path of ['tracked.py', 'app/a.py', 'app/sub/b.py', 'cache/c.py', 'both/d.py']) write(root, path);
  write(root, '.gitignore', '__pycache__/\n*.pyc\ncache/\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'start');
  write(root, 'app/new.py'); // untracked, not ignored
  mkdirSync(join(root, 'app/empty'));
  const listed = async () => {
    const runner = localRunner();
    const [tracked, tree] = await Promise.all([trackedFiles(runner, root), workingTreeState(runner, root, '')]);
    return gitListing(tracked, tree.untracked).files;
  };
  const cases: { paths: string[]; asks: boolean }[] = [
    { paths: ['tracked.py', 'app'], asks: false },
    { paths: ['app/sub'], asks: false },
    { paths: ['tracked.py', 'app', 'both'], asks: false },
  ];
  const check = async ({ paths, asks }: { paths: string[]; asks: boolean }) => {
    const { runner, lines } = recording(localRunner());
    const answer = await ignoredUnder(runner, root, paths, await listed());
    assert.equal(answer, await ignoredFiles(localRunner(), root, paths), paths.join(' '));
    assert.is(lines.length > 0, asks, `${paths.join(' ')}: ${lines.join('; ')}`);
    return answer;
  };
  for (const c of cases) await check(c);
  // Now ignored byte code in a removal, an ignored folder as a removal, a nested repository: git answers.
  write(root, 'app/sub/__pycache__/b.cpython-311.pyc');
  write(root, 'both/d.pyc');
  write(root, 'cache/c.pyc');
  write(root, 'vendored/inner.py');
  git(join(root, 'vendored'), 'init', '-q');
  const ignored = await check({ paths: ['tracked.py', 'app', 'both'], asks: true });
  assert.equal(ignored.get('app'), ['app/sub/__pycache__/b.cpython-311.pyc']);
  assert.equal(ignored.get('both'), ['both/d.pyc']);
  assert.equal(ignored.get('tracked.py'), []);
  assert.equal((await check({ paths: ['cache'], asks: true })).get('cache'), ['cache/c.py', 'cache/c.pyc']);
  await check({ paths: ['vendored'], asks: true });
  await check({ paths: ['tracked.py'], asks: false });
});

test('last commits: one bash line of git log -1 -- PATH answers as one process per path, where one walk of all the paths would not', async () => {
  const root = emptyRepository();
  const paths = ['p1.sh', 'p2.sh', 'with space.sh', 'glob[1].sh'];
  for (const path of paths) write(root, path, `${path}\n`);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'start', '--date', '2024-01-01T00:00:00Z');
  // p1 changes on both sides and the merge keeps the side's copy; p2 changes on main only.
  git(root, 'checkout', '-q', '-b', 'side');
  appendFileSync(join(root, 'p1.sh'), 'side\n');
  git(root, 'commit', '-q', '-am', 'side p1');
  git(root, 'checkout', '-q', 'main');
  appendFileSync(join(root, 'p1.sh'), 'main\n');
  appendFileSync(join(root, 'p2.sh'), 'main\n');
  appendFileSync(join(root, 'glob[1].sh'), 'main\n');
  execFileSync('git', ['-C', root, 'commit', '-q', '-am', 'main p1 p2'], {
    env: { ...env, GIT_COMMITTER_DATE: '2030-01-01T00:00:00Z' },
  });
  try {
    git(root, 'merge', '-q', '--no-edit', 'side');
  } catch {
    git(root, 'checkout', '-q', '--theirs', 'p1.sh');
    git(root, 'commit', '-q', '-am', 'merge side, its p1');
  }
  const asked = [...paths, 'never-committed.sh'];
  const together = await lastCommits(localRunner(), root, asked);
  const alone = await Promise.all(asked.map((path) => lastCommit(localRunner(), root, path)));
  assert.equal(
    asked.map((path) => together.get(path)),
    alone,
  );
  assert.is(together.get('p1.sh')?.subject, 'side p1');
  assert.is(together.get('never-committed.sh'), undefined);
  assert.is((await lastCommits(localRunner(), root, [])).size, 0);
  // One `git log` of all the paths follows both parents of the merge and names main's p1 commit: why each path is asked alone.
  const walk = git(root, 'log', '--format=%x01%s', '--name-only', '--', ...paths);
  const firstFor = (path: string) =>
    walk
      .split('\x01')
      .find((commit) => commit.split('\n').slice(1).includes(path))
      ?.split('\n')[0];
  assert.is(firstFor('p1.sh'), 'main p1 p2');
});

test('the search of the index: nothing to search still checks for a filter; a filter means the index cannot stand for the files', async () => {
  const root = emptyRepository();
  write(root, 'a.md', 'legacy_main here\n');
  git(root, 'add', '-A');
  assert.equal(await indexFilesContaining(localRunner(), root, ['legacy_main', 'absent']), ['a.md']);
  assert.equal(await indexFilesContaining(localRunner(), root, ['absent']), []);
  assert.equal(await indexFilesContaining(localRunner(), root, []), []);
  git(root, 'config', 'filter.lfs.smudge', 'git-lfs smudge -- %f');
  assert.is(await indexFilesContaining(localRunner(), root, ['legacy_main']), 'filtered');
  assert.is(await indexFilesContaining(localRunner(), root, []), 'filtered');
});

test.run();
