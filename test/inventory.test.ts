/**
 * The inventory task on temporary git repositories laid out as the plan describes, with traps:
 * a DELETE file a kept Dockerfile copies, a listed path escaping the root, a symlink pointing
 * out, an unlisted *_LEGACY* file, two setup-registry.sh copies differing by a line, a doc
 * linking a deleted file, uncommitted edits in a DELETE file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveListed } from '../lib/inventory/paths.ts';
import { lineDiff, overlap } from '../lib/inventory/similarity.ts';
import { documentationUpToDate, legacyFilesDeleted, onlyNecessaryScripts } from '../tasks/inventory.ts';
import { backendFiles, createBackendRepo } from './support/inventory-repo.ts';
import { runTask } from './support/run-task.ts';

const dirs: string[] = [];
function repo(options: Parameters<typeof createBackendRepo>[1] = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-backend-'));
  dirs.push(dir);
  return createBackendRepo(join(dir, 'backend'), options);
}
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const env = (root: string) => ({ BACKEND_DIR: root, REPORTS_DIR: join(root, '..', 'reports') });
const gitLog = (root: string) => execFileSync('git', ['-C', root, 'log', '--format=%s'], { encoding: 'utf8' }).trim().split('\n');

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
  assert.equal(lineDiff(files['scripts/setup-registry.sh'], files['scripts/deploy/setup-registry.sh']), ['+ docker ps --filter name=registry']);
});

test('--yes leaves the KEEP set and the merged script, explains what it held back, and commits once', async () => {
  const root = repo({ dockerfileUsesLegacy: true, uncommittedEdit: true, symlinkOut: '/etc' });
  const run = await runTask('tasks/inventory.ts', ['--yes', '--json'], env(root));
  assert.is(run.code, 0, run.stderr);
  const report = run.report;

  for (const gone of ['api_server/main_LEGACY.py', 'api_server/test_main_LEGACY.py', 'api_server/app_LEGACY', 'docs/GALLERY_FIXES.md', 'scripts/setup-registry.sh']) assert.not.ok(existsSync(join(root, gone)), `${gone} is gone`);
  for (const kept of ['api_server/webhook_main.py', 'api_server/Dockerfile.webhook', 'scripts/deploy/setup-registry.sh', 'scripts/deploy-local.sh', 'api_server/notes_LEGACY.txt', 'docs/PAYMENT_SYSTEM.md']) assert.ok(existsSync(join(root, kept)), `${kept} stays`);
  // Held back, with reasons: the Dockerfile still copies legacy_main.py; the launcher has uncommitted edits.
  assert.ok(existsSync(join(root, 'api_server/legacy_main.py')));
  assert.ok(existsSync(join(root, 'api_server/run_api_server_LEGACY.py')));
  const refused = Object.fromEntries(report.refused.map((r: { target: string; reason: string }) => [r.target, r.reason]));
  assert.match(refused['api_server/legacy_main.py'], /still used by kept files: api_server\/Dockerfile.webhook:3 `COPY legacy_main.py \/app\/`/);
  assert.match(refused['api_server/run_api_server_LEGACY.py'], /uncommitted changes/);
  assert.match(readFileSync(join(root, 'api_server/run_api_server_LEGACY.py'), 'utf8'), /a local edit nobody committed/, 'the edit is untouched');
  // Merged: references point at the kept copy; the status document records the removals.
  assert.match(readFileSync(join(root, 'docs/DEPLOYMENT.md'), 'utf8'), /`scripts\/deploy\/setup-registry.sh`/);
  assert.match(readFileSync(join(root, 'docs/README.md'), 'utf8'), /\.\.\/scripts\/deploy\/setup-registry\.sh/);
  assert.match(readFileSync(join(root, 'docs/STATUS_CURRENT.md'), 'utf8'), /- `api_server\/main_LEGACY\.py`/);
  assert.match(JSON.stringify(report.changes), /only in the kept one\): \+ docker ps --filter name=registry/);
  // Reported, not deleted: the unlisted legacy file; the doc that links a deleted file.
  assert.ok(report.kept.some((k: { target: string; reason: string }) => k.target === 'api_server/notes_LEGACY.txt' && /unlisted legacy candidate/.test(k.reason)));
  assert.match(report.notes.join('\n'), /docs\/GALLERY_FIXES.md is about to go, but documents still mention it: docs\/PLANNING.md:3/);
  // ANALYZE answers keep or delete, and why, for every listed script.
  for (const script of ['scripts/deploy-local.sh', 'scripts/local-dev-setup.sh', 'scripts/quick-dev.sh', 'scripts/production/deploy_production_minimal.sh', 'scripts/production/fix-telegram-webhook.sh', 'scripts/production/deploy-transcription-fix.sh']) {
    const finding = report.kept.find((k: { target: string }) => k.target === script);
    assert.match(finding?.reason ?? '', /suggest (KEEP|DELETE|MERGE).*: .*bytes, \d+ lines, last commit 2024-12-11/, script);
  }
  assert.match(report.kept.find((k: { target: string }) => k.target === 'scripts/deploy-local.sh').reason, /suggest MERGE into scripts\/deploy\/webhook-remote-deploy.sh: 100% the same/);
  assert.ok(report.checks.some((c: { name: string; passed: boolean }) => c.name === 'every planned removal done' && c.passed));
  assert.match(report.kept.find((k: { target: string }) => k.target === 'scripts/quick-dev.sh').reason, /suggest DELETE: nothing references it and it is untouched for over a year/);
  // One commit holds it all; the user's uncommitted edit is still uncommitted.
  assert.equal(gitLog(root)[0], 'chore(cleanup): remove legacy files, merge duplicate scripts (clean-up plan, sections 1-3)');
  assert.match(execFileSync('git', ['-C', root, 'status', '--porcelain'], { encoding: 'utf8' }), /^ M api_server\/run_api_server_LEGACY.py$/m);

  const second = await runTask('tasks/inventory.ts', ['--yes', '--json'], env(root));
  assert.is(second.code, 0, second.stderr);
  assert.is(second.report.summary.changes, 0, JSON.stringify(second.report.changes));
  assert.is(gitLog(root).length, 2, 'no second commit');
});

test('the checks verify needs: legacy files, scripts, documentation', async () => {
  const root = repo();
  assert.is(legacyFilesDeleted(root).passed, false);
  const run = await runTask('tasks/inventory.ts', ['--yes'], env(root));
  assert.is(run.code, 0, run.stderr);
  assert.equal(legacyFilesDeleted(root), { name: 'all legacy files deleted', passed: true, figure: '0 of 6 listed legacy paths left' });
  assert.is(onlyNecessaryScripts(root).passed, true);
  const docs = documentationUpToDate(root);
  assert.is(docs.passed, false, 'PLANNING.md still links the deleted gallery fixes');
  assert.match(docs.detail!, /docs\/PLANNING.md:3 mentions docs\/GALLERY_FIXES.md/);
});

test('outside git, removals go to a dated trash folder with a restore script', async () => {
  const root = repo();
  rmSync(join(root, '.git'), { recursive: true, force: true });
  const run = await runTask('tasks/inventory.ts', ['--yes', '--json'], env(root));
  assert.is(run.code, 0, run.stderr);
  assert.not.ok(existsSync(join(root, 'api_server/main_LEGACY.py')));
  const trash = join(root, '.cleanup-trash', new Date().toISOString().slice(0, 10));
  assert.ok(existsSync(join(trash, 'api_server/main_LEGACY.py')));
  execFileSync('sh', [join(trash, 'RESTORE.sh')], { cwd: root });
  assert.ok(existsSync(join(root, 'api_server/main_LEGACY.py')), 'restored');
});

test.run();
