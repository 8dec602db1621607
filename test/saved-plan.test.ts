/**
 * A saved plan applied exactly, through `npm run` as a user types it: `--out FILE` changes nothing
 * and writes the plan; `--plan FILE` applies it when nothing it was decided on moved, and refuses
 * (exit 1, naming what moved, nothing changed) when the world or a setting did. On a real git
 * repository (the inventory) and a real registry (distribution 2.8 on loopback).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackendRepo } from '../sandbox/fixtures/inventory-repo.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { pushImage, tagsOf } from '../sandbox/fixtures/registry-seed.ts';
import { npmRun } from './support/npm-run.ts';
import { howItEnded } from './support/run-task.ts';

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-saved-plan-'));
  dirs.push(dir);
  return dir;
};
let registry: TestRegistry | undefined;
test.after(async () => {
  await registry?.stop();
  await registry?.destroy();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** `npm run SCRIPT -- ARGS` in this project, as a user types it. */
const runScript = (script: string, args: string[], env: Record<string, string>) =>
  npmRun(process.cwd(), [script, '--', ...args], env);

const git = (root: string, ...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' });

function backend() {
  const dir = scratch();
  const root = createBackendRepo(join(dir, 'backend'));
  return { root, file: join(dir, 'plan.json'), env: { BACKEND_DIR: root, REPORTS_DIR: join(dir, 'reports') } };
}

test('inventory: --out saves the plan and changes nothing; --plan applies exactly that plan', async () => {
  const { root, file, env } = backend();
  const head = git(root, 'rev-parse', 'HEAD');
  const saved = await runScript('clean:inventory', ['--out', file], env);
  assert.is(saved.code, 0, howItEnded(saved));
  assert.match(saved.stderr, `Plan saved to ${file}`);
  assert.is(git(root, 'rev-parse', 'HEAD'), head, '--out changes nothing');
  const plan = JSON.parse(readFileSync(file, 'utf8'));
  const removals = plan.tasks[0].changes.filter((c: { action: string }) => c.action === 'git rm');
  assert.ok(removals.length > 0, 'the sample backend has legacy files to remove');
  assert.ok(removals.every((c: { decidedOn: string }) => /^sha256:[0-9a-f]{64}$/.test(c.decidedOn)));
  assert.match(plan.tasks[0].shown, removals[0].target);

  const applied = await runScript('clean:inventory', ['--plan', file, '--json'], env);
  assert.is(applied.code, 0, howItEnded(applied));
  const report = JSON.parse(applied.stdout);
  assert.is(report.status, 'applied');
  assert.equal(
    report.changes.map((c: { target: string }) => c.target),
    plan.tasks[0].changes.map((c: { target: string }) => c.target),
    'apply carried out the saved list',
  );
  for (const { target } of removals) assert.not.ok(existsSync(join(root, target)), `${target} removed`);
});

test('inventory: a plan saved before the world moved is refused, naming what moved; nothing changes', async () => {
  const { root, file, env } = backend();
  assert.is((await runScript('clean:inventory', ['--out', file], env)).code, 0);
  const plan = JSON.parse(readFileSync(file, 'utf8'));
  const gone = plan.tasks[0].changes.find((c: { action: string }) => c.action === 'git rm').target as string;
  // Someone removes one of the files by hand and commits: the saved plan was decided on a file that is gone.
  git(root, 'rm', '-r', '-q', '--', gone);
  git(root, 'commit', '-q', '-m', `remove ${gone} by hand`);
  const head = git(root, 'rev-parse', 'HEAD');
  const status = git(root, 'status', '--porcelain');

  const refused = await runScript('clean:inventory', ['--plan', file, '--json'], env);
  assert.is(refused.code, 1, howItEnded(refused));
  assert.match(refused.stderr, `the saved plan ${file} is stale`);
  assert.match(refused.stderr, `no longer planned: git rm ${gone}`);
  assert.match(refused.stderr, 'nothing was applied');
  assert.is(git(root, 'rev-parse', 'HEAD'), head, 'no commit');
  assert.is(git(root, 'status', '--porcelain'), status, 'no file touched');
});

test('bad input: --plan of a missing file, of another run, or with a flag of its own exits 2, changing nothing', async () => {
  const { root, file, env } = backend();
  const missing = await runScript('clean:inventory', ['--plan', join(root, 'nope.json')], env);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, 'cannot be read as a saved plan');

  assert.is((await runScript('clean:inventory', ['--out', file], env)).code, 0);
  const other = await runScript('clean:registry', ['--plan', file], { ...env, REGISTRY_URL: 'http://127.0.0.1:9' });
  assert.is(other.code, 2);
  assert.match(other.stderr, `was made by clean:inventory: apply it with npm run clean:inventory -- --plan ${file}`);

  const forced = await runScript('clean:inventory', ['--plan', file, '--force'], env);
  assert.is(forced.code, 2);
  assert.match(forced.stderr, 'leave out --force');

  writeFileSync(file, '{"hello": "world"}');
  const foreign = await runScript('clean:inventory', ['--plan', file], env);
  assert.is(foreign.code, 2);
  assert.match(foreign.stderr, 'is not a saved plan of this tool');
  assert.ok(existsSync(join(root, 'api_server')), 'nothing removed');
  unlinkSync(file);
});

test('registry: a saved plan applies on the same tags and settings; a changed setting or a new tag refuses it', async () => {
  registry = await startRegistry();
  const dir = scratch();
  const env = (extra: Record<string, string> = {}) => ({
    REGISTRY_URL: registry!.url,
    REPORTS_DIR: join(dir, 'reports'),
    REGISTRY_STATE_DIR: join(dir, 'state'),
    ...extra,
  });
  const to = { url: registry.url };
  for (const [i, version] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].entries())
    await pushImage(to, 'webhook-api', [version], { layers: [`v${version}`], created: `2026-0${i + 1}-01T00:00:00Z` });
  await pushImage(to, 'webhook-api', ['test-7'], { layers: ['t7'], created: '2026-05-01T00:00:00Z' });
  const file = join(dir, 'registry-plan.json');
  const noGc = ['--no-gc'];

  assert.is((await runScript('clean:registry', [...noGc, '--out', file], env())).code, 0);
  const changed = await runScript(
    'clean:registry',
    ['--plan', file],
    env({ REGISTRY_PROTECT_TAGS: 'latest,final,test-7' }),
  );
  assert.is(changed.code, 1, howItEnded(changed));
  assert.match(changed.stderr, 'setting REGISTRY_PROTECT_TAGS changed');
  assert.match(changed.stderr, /no longer planned: delete manifest webhook-api@\w+ \(:test-7\)/);

  await pushImage(to, 'webhook-api', ['debug-8'], { layers: ['d8'], created: '2026-06-01T00:00:00Z' });
  const moved = await runScript('clean:registry', ['--plan', file], env());
  assert.is(moved.code, 1, howItEnded(moved));
  assert.match(moved.stderr, /new item: delete manifest webhook-api@\w+ \(:debug-8\)/);
  assert.equal((await tagsOf(to, 'webhook-api')).sort(), ['1.0.0', '1.1.0', '1.2.0', '1.3.0', 'debug-8', 'test-7']);

  assert.is((await runScript('clean:registry', [...noGc, '--out', file], env())).code, 0);
  const applied = await runScript('clean:registry', ['--plan', file, '--json'], env());
  assert.is(applied.code, 0, howItEnded(applied));
  assert.equal((await tagsOf(to, 'webhook-api')).sort(), ['1.1.0', '1.2.0', '1.3.0']);
});

test.run();
