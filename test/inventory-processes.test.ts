/**
 * The inventory task as a process of its own on temporary backend repositories: through
 * `npm run clean:inventory` beside the user's uncommitted work (staged and not), and SIGKILLed
 * between `git rm` and its commit, then finished or undone by the next run. Apart from
 * test/inventory.test.ts because these wait on processes, so that the runner runs both side by side.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { documentationUpToDate, legacyFilesDeleted } from '../lib/inventory/criteria.ts';
import { backendFiles, USER_WORK } from '../sandbox/fixtures/inventory-repo.ts';
import { npmRun } from './support/npm-run.ts';
import { backendRepos, byTarget, env, git, gitLog, inventory, read, runs, type Item } from './support/backend-repos.ts';
import { howItEnded, startTask } from './support/run-task.ts';

const { repo, temporary, removeAll } = backendRepos();
test.after(removeAll);

test("the user's uncommitted work, staged or not, is neither committed nor touched, through npm run clean:inventory", async () => {
  const root = repo({ userWork: true });
  const snapshot = () => ({
    files: USER_WORK.map((w) => read(root, w.path)),
    staged: git(root, 'diff', '--cached'),
    unstaged: git(root, 'diff'),
    status: git(root, 'status', '--porcelain'),
  });
  const before = snapshot();
  const run = await npmRun(process.cwd(), ['clean:inventory', '--', '--yes'], env(root));
  const output = run.stdout + run.stderr;
  assert.is(run.code, 0, output);
  assert.equal(snapshot(), before, "every byte and the staged state of the user's work are as they were");
  assert.match(output, /docs\/DEPLOYMENT.md {2}— edit skipped: has uncommitted changes: skipped/);
  assert.match(output, /docs\/README.md {2}— edit skipped: has uncommitted changes: skipped/);
  // The commit holds exactly the plan's paths.
  const committed = git(root, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort();
  assert.equal(committed, [
    'api_server/app_LEGACY/__init__.py',
    'api_server/app_LEGACY/routes.py',
    'api_server/legacy_main.py',
    'api_server/main_LEGACY.py',
    'api_server/run_api_server_LEGACY.py',
    'api_server/test_main_LEGACY.py',
    'docs/GALLERY_FIXES.md',
    'docs/PLANNING.md',
    'docs/STATUS_CURRENT.md',
    'scripts/setup-registry.sh',
  ]);
  // Once the user commits their work, the next run updates those documents too.
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'my work');
  const next = await inventory(['--yes', '--json'], env(root));
  assert.is(next.code, 0, howItEnded(next));
  assert.equal(next.report.changes.map((c: Item) => c.target).sort(), ['docs/DEPLOYMENT.md', 'docs/README.md']);
  assert.match(
    read(root, 'docs/DEPLOYMENT.md'),
    /First run `scripts\/deploy\/setup-registry.sh`, then deploy.\nMy draft of the next step.\n/,
  );
  assert.is(documentationUpToDate(root).passed, true, documentationUpToDate(root).detail);
});

/**
 * Runs the task with --yes and SIGKILLs it while git commits: a real pre-commit hook holds the
 * commit until the task process is killed, then fails it, as a dying commit would leave things.
 */
async function killBeforeCommit(root: string): Promise<void> {
  const marks = temporary('cleanup-kill-');
  const hook = join(root, '.git/hooks/pre-commit');
  writeFileSync(
    hook,
    `#!/bin/sh\ntouch '${marks}/paused'\nwhile [ ! -e '${marks}/release' ]; do sleep 0.1; done\nexit 1\n`,
  );
  chmodSync(hook, 0o755);
  // With the run's marker: if the test fails before its kill, the run's tear-down stops the task.
  const { child, exited } = startTask('tasks/inventory.ts', ['--yes'], env(root));
  const deadline = Date.now() + 120_000;
  while (!existsSync(join(marks, 'paused'))) {
    assert.ok(Date.now() < deadline, 'the task reached its commit');
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  assert.is((await exited).signal, 'SIGKILL');
  writeFileSync(join(marks, 'release'), '');
  while (existsSync(join(root, '.git/index.lock'))) await new Promise((r) => setTimeout(r, 100));
  rmSync(hook);
}

test('a run SIGKILLed between git rm and its commit is finished by the next run, which says so', async () => {
  const root = repo({ pycache: true });
  await killBeforeCommit(root);
  // What the kill left: removals staged, documents edited, no commit.
  assert.match(git(root, 'status', '--porcelain'), /^D {2}api_server\/main_LEGACY.py$/m);
  assert.match(git(root, 'status', '--porcelain'), /^M {2}docs\/PLANNING.md$/m);
  assert.is(gitLog(root).length, 1);
  const [runName] = runs(root);

  const rerun = await inventory(['--yes', '--json'], env(root));
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.match(
    rerun.report.notes.join('\n'),
    new RegExp(`completing the earlier run ${runName}, which was interrupted before it committed`),
  );
  assert.match(
    byTarget(rerun.report.changes)['api_server/main_LEGACY.py'],
    /completing the earlier run .*: its removal is not committed yet/,
  );
  assert.match(byTarget(rerun.report.changes)['docs/PLANNING.md'], /edited by that run, not committed yet/);
  assert.equal(runs(root), [runName], 'the same run, the same trash folder');
  assert.is(git(root, 'status', '--porcelain'), '');
  assert.is(gitLog(root).length, 2);
  assert.match(git(root, 'log', '-1', '--format=%B'), new RegExp(`Cleanup-Run: ${runName}`));
  assert.is(legacyFilesDeleted(root).passed, true);
  assert.is(documentationUpToDate(root).passed, true, documentationUpToDate(root).detail);
  assert.match(read(root, 'docs/STATUS_CURRENT.md'), /- `api_server\/main_LEGACY\.py`/);

  const third = await inventory(['--yes', '--json'], env(root));
  assert.is(third.code, 0, howItEnded(third));
  assert.is(third.report.summary.changes, 0, JSON.stringify(third.report.changes));

  // Its RESTORE.sh reverts the commit and puts the ignored byte code back into the folder.
  const restored = execFileSync('sh', [join(root, '.cleanup-trash', runName, 'RESTORE.sh')], {
    cwd: tmpdir(),
    encoding: 'utf8',
  });
  assert.match(restored, /put back api_server\/app_LEGACY\/__pycache__/);
  assert.match(gitLog(root)[0], /^Revert "chore\(cleanup\)/);
  assert.ok(existsSync(join(root, 'api_server/app_LEGACY/__pycache__/routes.cpython-311.pyc')));
  assert.is(read(root, 'docs/PLANNING.md'), backendFiles()['docs/PLANNING.md']);
  assert.is(git(root, 'status', '--porcelain'), '');
});

test('a run SIGKILLed before its commit can be undone instead: --restore puts back files, index and documents', async () => {
  const root = repo({ pycache: true });
  await killBeforeCommit(root);
  const [runName] = runs(root);
  const restore = await inventory(['--restore', runName, '--yes', '--json'], env(root));
  assert.is(restore.code, 0, howItEnded(restore));
  assert.ok(
    restore.report.changes.some((c: Item) => c.action === 'git checkout' && c.target === 'api_server/main_LEGACY.py'),
  );
  assert.is(git(root, 'status', '--porcelain'), '', 'index and working tree as at HEAD');
  assert.ok(existsSync(join(root, 'api_server/app_LEGACY/__pycache__/routes.cpython-311.pyc')));
  assert.is(gitLog(root).length, 1, 'nothing committed');
  const next = await inventory(['--dry-run', '--json'], env(root));
  assert.not.match(next.report.notes.join('\n'), /completing/, 'an undone run is not completed later');
  assert.ok(next.report.changes.length > 0, 'the next run plans afresh');
});

test.run();
