/**
 * The inventory task on temporary git repositories laid out as the plan describes, with traps:
 * a DELETE file a kept Dockerfile copies or a kept module imports, a listed path escaping the
 * root, a symlink pointing out, an unlisted *_LEGACY* file, two setup-registry.sh copies
 * differing by a line, documents naming removed files, the user's own uncommitted work (staged
 * and not), ignored byte code in a DELETE folder, and runs outside git whose removed files share
 * names. The task runs in this process (test/support/run-in-process.ts); through npm run, and
 * killed between `git rm` and its commit: test/inventory-processes.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveListed } from '../lib/inventory/paths.ts';
import { lineDiff, overlap } from '../lib/inventory/similarity.ts';
import { applyInventory } from '../lib/inventory/apply.ts';
import { planInventory } from '../lib/inventory/planner.ts';
import { localRunner } from '../lib/runner.ts';
import { documentationUpToDate, legacyFilesDeleted, onlyNecessaryScripts } from '../lib/inventory/criteria.ts';
import { sections, statusDocument } from '../lib/inventory/sections.ts';
import { backendFiles } from '../sandbox/fixtures/inventory-repo.ts';
import { backendRepos, byTarget, env, git, gitLog, inventory, read, runs, type Item } from './support/backend-repos.ts';
import { howItEnded } from './support/run-task.ts';

const { repo, removeAll } = backendRepos();
test.after(removeAll);

test('paths: absolute, climbing out, or through a symlink out are refused', () => {
  const root = repo({ symlinkOut: '/etc' });
  assert.is(resolveListed(root, '/etc/passwd').ok, false);
  assert.is(resolveListed(root, '../outside').ok, false);
  assert.is(resolveListed(root, 'api_server/outside_link/passwd').ok, false);
  assert.is(resolveListed(root, 'api_server/main_LEGACY.py').ok, true);
});

test('similarity: near-identical scripts overlap highly, and the diff shows the extra line', () => {
  const files = backendFiles();
  assert.ok(overlap(files['scripts/setup-registry.sh'], files['scripts/deploy/setup-registry.sh']) > 0.8);
  assert.equal(lineDiff(files['scripts/setup-registry.sh'], files['scripts/deploy/setup-registry.sh']), [
    '+ docker ps --filter name=registry',
  ]);
});

test('--yes removes the DELETE set, merges, updates documents, explains what it held back, and commits once', async () => {
  const root = repo({ dockerfileUsesLegacy: true, uncommittedEdit: true, symlinkOut: '/etc' });
  const run = await inventory(['--yes', '--json'], env(root));
  assert.is(run.code, 0, howItEnded(run));
  const report = run.report;

  for (const gone of [
    'api_server/test_main_LEGACY.py',
    'api_server/app_LEGACY',
    'docs/GALLERY_FIXES.md',
    'scripts/setup-registry.sh',
  ])
    assert.not.ok(existsSync(join(root, gone)), `${gone} is gone`);
  for (const kept of [
    'api_server/webhook_main.py',
    'api_server/Dockerfile.webhook',
    'scripts/deploy/setup-registry.sh',
    'scripts/deploy-local.sh',
    'api_server/notes_LEGACY.txt',
    'docs/PAYMENT_SYSTEM.md',
  ])
    assert.ok(existsSync(join(root, kept)), `${kept} stays`);
  // Held back, with reasons: the Dockerfile copies legacy_main.py; the launcher has uncommitted
  // edits, and since it stays, main_LEGACY.py, which it imports, stays too.
  const refused = byTarget(report.refused);
  assert.match(
    refused['api_server/legacy_main.py'],
    /still used by kept files: api_server\/Dockerfile.webhook:3 `COPY legacy_main.py \/app\/`/,
  );
  assert.match(refused['api_server/run_api_server_LEGACY.py'], /uncommitted changes/);
  assert.match(
    refused['api_server/main_LEGACY.py'],
    /still used by kept files: api_server\/run_api_server_LEGACY.py:1 `import main_LEGACY` \(python import\)/,
  );
  for (const held of ['api_server/legacy_main.py', 'api_server/run_api_server_LEGACY.py', 'api_server/main_LEGACY.py'])
    assert.ok(existsSync(join(root, held)), `${held} stays`);
  assert.match(
    read(root, 'api_server/run_api_server_LEGACY.py'),
    /a local edit nobody committed/,
    'the edit is untouched',
  );
  // Section 3: references point at the kept copy, the line linking the deleted file is gone,
  // each edit was shown as a diff, and the status document records the run.
  assert.match(read(root, 'docs/DEPLOYMENT.md'), /`scripts\/deploy\/setup-registry.sh`/);
  assert.match(read(root, 'docs/README.md'), /\.\.\/scripts\/deploy\/setup-registry\.sh/);
  assert.is(read(root, 'docs/PLANNING.md'), '# Planning\n\n');
  const changes = byTarget(report.changes);
  assert.match(changes['docs/PLANNING.md'], /@@ line 3\n\s+- See \[gallery fixes\]\(GALLERY_FIXES.md\)\./);
  assert.match(
    changes['docs/README.md'],
    /- - Registry: \[setup\]\(\.\.\/scripts\/setup-registry\.sh\)\n\s+\+ - Registry: \[setup\]\(\.\.\/scripts\/deploy\/setup-registry\.sh\)/,
  );
  const [runName] = runs(root);
  assert.match(
    read(root, 'docs/STATUS_CURRENT.md'),
    new RegExp(
      `## Clean-up of \\d{4}-\\d\\d-\\d\\d \\(run ${runName}\\)[^]*- \`api_server/test_main_LEGACY\\.py\`[^]*--restore ${runName}`,
    ),
  );
  assert.match(JSON.stringify(report.changes), /only in the kept one\): \+ docker ps --filter name=registry/);
  // Reported, not deleted: the unlisted legacy file, named in the summary's figures.
  assert.ok(
    report.kept.some(
      (k: Item) => k.target === 'api_server/notes_LEGACY.txt' && /unlisted legacy candidate/.test(k.reason),
    ),
  );
  assert.match(run.stderr, /unlisted legacy candidates: 1: api_server\/notes_LEGACY\.txt/);
  // ANALYZE answers keep or delete, and why, for every listed script.
  for (const script of [
    'scripts/deploy-local.sh',
    'scripts/local-dev-setup.sh',
    'scripts/quick-dev.sh',
    'scripts/production/deploy_production_minimal.sh',
    'scripts/production/fix-telegram-webhook.sh',
    'scripts/production/deploy-transcription-fix.sh',
  ]) {
    const finding = report.kept.find((k: Item) => k.target === script);
    assert.match(
      finding?.reason ?? '',
      /suggest (KEEP|DELETE|MERGE).*: .*bytes, \d+ lines, last commit 2024-12-11/,
      script,
    );
  }
  assert.match(
    report.kept.find((k: Item) => k.target === 'scripts/deploy-local.sh').reason,
    /suggest MERGE into scripts\/deploy\/webhook-remote-deploy.sh: 100% the same/,
  );
  assert.match(
    report.kept.find((k: Item) => k.target === 'scripts/quick-dev.sh').reason,
    /suggest DELETE: nothing references it and it is untouched for over a year/,
  );
  assert.ok(
    report.checks.some((c: { name: string; passed: boolean }) => c.name === 'every planned removal done' && c.passed),
  );
  // One commit holds it all, tied to its run; the report prints how to revert it.
  const sha = git(root, 'rev-parse', 'HEAD').trim();
  assert.equal(
    gitLog(root)[0],
    'chore(cleanup): remove legacy files, merge duplicate scripts (clean-up plan, sections 1-3)',
  );
  assert.match(git(root, 'log', '-1', '--format=%B'), new RegExp(`Cleanup-Run: ${runName}`));
  assert.ok(
    report.figures.some(
      (f: { label: string; value: string }) => f.label === 'undo' && f.value.includes(`revert --no-edit ${sha}`),
    ),
  );
  assert.match(run.stderr, new RegExp(`undo: git -C \\S+ revert --no-edit ${sha}`));
  assert.match(git(root, 'status', '--porcelain'), /^ M api_server\/run_api_server_LEGACY.py$/m);

  const second = await inventory(['--yes', '--json'], env(root));
  assert.is(second.code, 0, howItEnded(second));
  assert.is(second.report.summary.changes, 0, JSON.stringify(second.report.changes));
  assert.is(gitLog(root).length, 2, 'no second commit');
});

test("BACKEND_DIR as a folder inside a larger repository: the user's work there is found and left alone", async () => {
  const root = repo({ pythonImport: true });
  const top = join(root, '..');
  // The backend becomes a folder of its parent's repository.
  execFileSync('mv', [join(root, '.git'), join(top, '.git')]);
  git(top, 'add', '-A');
  git(top, 'commit', '-q', '-m', 'monorepo');
  writeFileSync(join(root, 'docs/DEPLOYMENT.md'), 'my unstaged edit of scripts/setup-registry.sh\n');
  writeFileSync(join(top, 'other.txt'), 'staged elsewhere\n');
  git(top, 'add', 'other.txt');
  const run = await inventory(['--yes', '--json'], env(root));
  assert.is(run.code, 0, howItEnded(run));
  assert.match(byTarget(run.report.refused)['docs/DEPLOYMENT.md'], /has uncommitted changes: skipped/);
  assert.match(
    byTarget(run.report.refused)['api_server/legacy_main.py'],
    /api_server\/handlers.py:2 `from legacy_main import handler`/,
  );
  assert.is(read(root, 'docs/DEPLOYMENT.md'), 'my unstaged edit of scripts/setup-registry.sh\n');
  const status = git(top, 'status', '--porcelain')
    .split('\n')
    .filter((line) => line && line !== '?? reports/'); // the test's reports folder
  assert.equal(status.sort(), [' M backend/docs/DEPLOYMENT.md', 'A  other.txt']);
  assert.ok(
    git(top, 'show', '--name-only', '--format=', 'HEAD')
      .trim()
      .split('\n')
      .every((f) => f.startsWith('backend/')),
  );
  assert.not.ok(existsSync(join(root, 'api_server/main_LEGACY.py')));
});

test('a DELETE module that a kept module imports is held back with the import line', async () => {
  const root = repo({ pythonImport: true });
  const run = await inventory(['--yes', '--json'], env(root));
  assert.is(run.code, 0, howItEnded(run));
  assert.match(
    byTarget(run.report.refused)['api_server/legacy_main.py'],
    /DELETE held back: still used by kept files: api_server\/handlers.py:2 `from legacy_main import handler` \(python import\)/,
  );
  assert.ok(existsSync(join(root, 'api_server/legacy_main.py')));
  assert.not.ok(existsSync(join(root, 'api_server/main_LEGACY.py')), 'the others go');
});

test('a DELETE folder holding ignored byte code goes whole; a second run plans nothing; restore brings all back', async () => {
  const root = repo({ pycache: true });
  const run = await inventory(['--yes', '--json'], env(root));
  assert.is(run.code, 0, howItEnded(run));
  assert.not.ok(existsSync(join(root, 'api_server/app_LEGACY')), 'the folder is gone, __pycache__ included');
  assert.match(
    byTarget(run.report.changes)['api_server/app_LEGACY'],
    /with 1 file git does not track \(api_server\/app_LEGACY\/__pycache__\/routes\.cpython-311\.pyc\), moved to \.cleanup-trash\//,
  );
  const [runName] = runs(root);
  assert.ok(
    existsSync(join(root, '.cleanup-trash', runName, 'files/api_server/app_LEGACY/__pycache__/routes.cpython-311.pyc')),
  );
  assert.is(git(root, 'status', '--porcelain'), '', 'the trash folder is invisible to git');

  const second = await inventory(['--yes', '--json'], env(root));
  assert.is(second.code, 0, howItEnded(second));
  assert.is(second.report.summary.changes, 0, JSON.stringify(second.report.changes));

  const restore = await inventory(['--restore', runName, '--yes', '--json'], env(root));
  assert.is(restore.code, 0, howItEnded(restore));
  assert.equal(
    restore.report.changes.map((c: Item) => c.action),
    ['git revert', 'put back'],
  );
  assert.is(read(root, 'api_server/app_LEGACY/routes.py'), 'ROUTES = []\n');
  assert.ok(existsSync(join(root, 'api_server/app_LEGACY/__pycache__/routes.cpython-311.pyc')));
  assert.is(read(root, 'docs/PLANNING.md'), backendFiles()['docs/PLANNING.md'], 'the document edit is undone too');
  assert.match(gitLog(root)[0], /^Revert "chore\(cleanup\)/);
  const again = await inventory(['--restore', runName, '--yes', '--json'], env(root));
  assert.is(again.code, 0, howItEnded(again));
  assert.is(again.report.summary.changes, 0, 'a restored run has nothing left to restore');
  const unknown = await inventory(['--restore', 'no-such-run', '--yes'], env(root));
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, new RegExp(`--restore no-such-run: no such run in .*Runs there: ${runName}`));
});

test('outside git: each run has its own trash folder, files of the same name never overwrite, and each run restores', async () => {
  const root = repo();
  rmSync(join(root, '.git'), { recursive: true, force: true });
  const first = await inventory(['--yes', '--json'], env(root));
  assert.is(first.code, 0, howItEnded(first));
  assert.not.ok(existsSync(join(root, 'api_server/main_LEGACY.py')));
  assert.is(read(root, 'docs/PLANNING.md'), '# Planning\n\n');
  writeFileSync(join(root, 'api_server/main_LEGACY.py'), 'print("a second one")\n');
  const second = await inventory(['--yes', '--json'], env(root));
  assert.is(second.code, 0, howItEnded(second));
  assert.equal(
    second.report.changes.map((c: Item) => c.target),
    ['api_server/main_LEGACY.py', 'docs/STATUS_CURRENT.md'],
  );
  const [run1, run2] = runs(root);
  assert.ok(run1 && run2 && run1 !== run2, `two run folders: ${runs(root)}`);
  assert.is(read(root, `.cleanup-trash/${run1}/files/api_server/main_LEGACY.py`), 'print("old main")\n');
  assert.is(read(root, `.cleanup-trash/${run2}/files/api_server/main_LEGACY.py`), 'print("a second one")\n');
  assert.match(second.stderr, new RegExp(`undo: sh \\S+/\\.cleanup-trash/${run2}/RESTORE\\.sh`));
  const third = await inventory(['--yes', '--json'], env(root));
  assert.is(third.report.summary.changes, 0, JSON.stringify(third.report.changes));

  // Undo the second run with its RESTORE.sh, then the first through --restore.
  const statusAfterFirst = read(root, `.cleanup-trash/${run1}/after/docs/STATUS_CURRENT.md`);
  execFileSync('sh', [join(root, '.cleanup-trash', run2, 'RESTORE.sh')], { cwd: tmpdir() });
  assert.is(read(root, 'api_server/main_LEGACY.py'), 'print("a second one")\n');
  assert.is(read(root, 'docs/STATUS_CURRENT.md'), statusAfterFirst, "the second run's record is undone");
  const restore = await inventory(['--restore', run1, '--yes', '--json'], env(root));
  assert.is(restore.code, 0, howItEnded(restore));
  assert.match(byTarget(restore.report.refused)['api_server/main_LEGACY.py'], /exists again: left alone/);
  assert.is(
    read(root, 'api_server/main_LEGACY.py'),
    'print("a second one")\n',
    'the file put back first is not overwritten',
  );
  assert.is(read(root, `.cleanup-trash/${run1}/files/api_server/main_LEGACY.py`), 'print("old main")\n');
  for (const path of [
    'api_server/test_main_LEGACY.py',
    'api_server/app_LEGACY/routes.py',
    'docs/GALLERY_FIXES.md',
    'scripts/setup-registry.sh',
    'docs/PLANNING.md',
    'docs/README.md',
    'docs/DEPLOYMENT.md',
    'docs/STATUS_CURRENT.md',
  ])
    assert.is(read(root, path), backendFiles()[path], `${path} is as before the first run`);
});

test("--force removes a DELETE file with uncommitted edits, and keeps the edited copy in the run's trash", async () => {
  const root = repo({ uncommittedEdit: true });
  const run = await inventory(['--yes', '--force', '--json'], env(root));
  assert.is(run.code, 0, howItEnded(run));
  assert.match(
    byTarget(run.report.changes)['api_server/run_api_server_LEGACY.py'],
    /forced: its uncommitted changes are kept in \.cleanup-trash\/[^/]+\/files\//,
  );
  assert.not.ok(existsSync(join(root, 'api_server/run_api_server_LEGACY.py')));
  const [runName] = runs(root);
  assert.match(
    read(root, `.cleanup-trash/${runName}/files/api_server/run_api_server_LEGACY.py`),
    /a local edit nobody committed/,
  );
  assert.match(git(root, 'show', '--name-only', '--format=', 'HEAD'), /api_server\/run_api_server_LEGACY.py/);
  assert.is(git(root, 'status', '--porcelain'), '');
});

test('outside git: a run stopped halfway is completed by the next one, in the same trash folder, and restores whole', async () => {
  const root = repo();
  rmSync(join(root, '.git'), { recursive: true, force: true });
  const original = Object.fromEntries(Object.keys(backendFiles()).map((p) => [p, read(root, p)]));
  // Apply part of a real plan, and have one document change under it, so the run stops open.
  const plan = await planInventory(localRunner(), { root, sections, statusDocument, force: false });
  const removals = plan.changes.filter((c) => c.op.kind === 'remove');
  const partial = [...removals.slice(0, 2), ...plan.changes.filter((c) => c.op.kind === 'edit')];
  writeFileSync(join(root, 'docs/PLANNING.md'), `${original['docs/PLANNING.md']}A line added after the plan.\n`);
  const outcome = await applyInventory(localRunner(), partial, { root, now: new Date() });
  assert.equal(
    outcome.failed.map((f) => f.target),
    ['docs/PLANNING.md'],
  );
  const [runName] = runs(root);
  assert.ok(
    existsSync(join(root, removals[2].op.kind === 'remove' ? removals[2].op.path : '')),
    'the rest is still there',
  );

  const rerun = await inventory(['--yes', '--json'], env(root));
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.match(
    rerun.report.notes.join('\n'),
    new RegExp(`completing the earlier run ${runName}, which was interrupted before it finished`),
  );
  assert.equal(
    rerun.report.changes.map((c: Item) => c.target),
    [...removals.slice(2).map((c) => c.target), 'docs/PLANNING.md'],
  );
  assert.equal(runs(root), [runName]);
  assert.is(legacyFilesDeleted(root).passed, true);
  assert.is(documentationUpToDate(root).passed, true, documentationUpToDate(root).detail);
  assert.is((await inventory(['--yes', '--json'], env(root))).report.summary.changes, 0);

  const restore = await inventory(['--restore', runName, '--yes', '--json'], env(root));
  assert.is(restore.code, 0, howItEnded(restore));
  for (const [path, text] of Object.entries(original))
    assert.is(read(root, path), path === 'docs/PLANNING.md' ? `${text}A line added after the plan.\n` : text, path);
});

test('the checks verify needs pass after one run, with no hand edits', async () => {
  const root = repo();
  assert.is(legacyFilesDeleted(root).passed, false);
  assert.is(documentationUpToDate(root).passed, false, 'PLANNING.md links the gallery fixes');
  const run = await inventory(['--yes'], env(root));
  assert.is(run.code, 0, howItEnded(run));
  const listed = sections.flatMap((s) => s.entries.filter((e) => e.verdict === 'DELETE')).length; // 6 today; a DELETE entry added counts here too
  assert.equal(legacyFilesDeleted(root), {
    name: 'all legacy files deleted',
    passed: true,
    figure: `0 of ${listed} listed legacy paths left`,
  });
  assert.is(onlyNecessaryScripts(root).passed, true);
  assert.is(documentationUpToDate(root).passed, true, documentationUpToDate(root).detail);
});

test.run();
