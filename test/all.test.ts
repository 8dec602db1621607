/**
 * `clean:all` end to end on the sample stack: a backend repository as the plan describes, a
 * registry with versions and test tags, a Docker host through sshd. The first run cleans and
 * deploys and every success criterion passes; the second changes nothing and verify still passes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pushImage, tagsOf } from '../sandbox/fixtures/registry-seed.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { runTask } from './support/run-task.ts';

let stack: DeployStack;
let env: Record<string, string>;
let registry: DeployStack['registry'];

test.before(async () => {
  stack = await startDeployStack('all', 15);
  ({ env, registry } = stack);
  const to = { url: registry.url };
  for (const [i, v] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].entries()) await pushImage(to, 'webhook-api', [v], { layers: [`api ${v}`], created: `2026-0${i + 1}-01T00:00:00Z` });
  await pushImage(to, 'webhook-api', ['test-7', 'debug-7'], { layers: ['api test'], created: '2026-05-01T00:00:00Z' });
  await pushImage(to, 'nginx-webhook', ['temp-1'], { layers: ['nginx temp'] });
});

test.after(async () => {
  await stack?.stop();
});

test('clean:all --yes cleans, deploys, and every success criterion passes', async () => {
  const head = () => execFileSync('git', ['-C', env.BACKEND_DIR, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
  const before = head();
  const run = await runTask('chain/all.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, run.stderr);
  const report = run.report;
  assert.equal(
    report.tasks.map((t: { task: string }) => t.task),
    ['inventory', 'registry', 'server', 'deploy', 'verify'],
  );
  // The deploy's plan named the revision the inventory commit would make; it built exactly that.
  const deploy = report.tasks.find((t: { task: string }) => t.task === 'deploy');
  const build = deploy.changes.find((c: { action: string }) => c.action === 'build');
  assert.match(build.reason, new RegExp(`the revision the inventory commit will make \\(the tree of api_server/ after that commit, based on HEAD ${before}\\)`));
  assert.is.not(head(), before, 'the inventory committed');
  assert.match(deploy.figures.find((f: { label: string }) => f.label === 'revision built').value, new RegExp(`^${head()} \\(the inventory commit on top of ${before}, as planned\\)`));
  const verify = report.tasks.find((t: { task: string }) => t.task === 'verify');
  assert.equal(
    verify.checks.map((c: { name: string }) => c.name),
    ['all legacy files deleted', 'only the necessary scripts remain', 'registry under 5 GB', `${env.SERVER_HOSTS} disk under 80%`, 'webhook API works stably', 'all tests pass', 'documentation up to date'],
  );
  assert.ok(
    verify.checks.every((c: { passed: boolean }) => c.passed),
    JSON.stringify(verify.checks, null, 1),
  );
  assert.match(verify.checks.find((c: { name: string }) => c.name === 'all tests pass').detail, /2 passed, 0 failed/);
  assert.not.ok(existsSync(join(env.BACKEND_DIR, 'api_server/main_LEGACY.py')));
  assert.not.ok((await tagsOf({ url: registry.url }, 'webhook-api')).some((t) => /test|debug/.test(t)));
});

test('a second clean:all --yes changes nothing and verify still passes', async () => {
  const run = await runTask('chain/all.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.report.summary.changes, 0, JSON.stringify(run.report.tasks.map((t: { task: string; changes: unknown[] }) => [t.task, t.changes])));
  assert.ok(run.report.tasks.find((t: { task: string }) => t.task === 'verify').checks.every((c: { passed: boolean }) => c.passed));
});

test.run();
