/**
 * `clean:all` end to end on the sample stack: a backend repository as the plan describes, a
 * registry with versions and test tags, a Docker host through sshd. The first run cleans and
 * deploys and every success criterion passes; the second changes nothing and verify still passes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pushImage, tagsOf } from '../sandbox/fixtures/registry-seed.ts';
import { build } from '../sandbox/fixtures/server-seed.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { runTask, howItEnded } from './support/run-task.ts';

let stack: DeployStack;
let env: Record<string, string>;
let registry: DeployStack['registry'];
const oldContainers = () =>
  stack.engine
    .docker(['ps', '--all', '--filter', 'name=webhook_api_old', '--format', '{{.Names}}'])
    .split('\n')
    .filter(Boolean)
    .sort()
    .join(' ');

test.before(async () => {
  stack = await startDeployStack('all', 15);
  ({ env, registry } = stack);
  const to = { url: registry.url };
  for (const [i, v] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].entries())
    await pushImage(to, 'webhook-api', [v], { layers: [`api ${v}`], created: `2026-0${i + 1}-01T00:00:00Z` });
  await pushImage(to, 'webhook-api', ['test-7', 'debug-7'], { layers: ['api test'], created: '2026-05-01T00:00:00Z' });
  await pushImage(to, 'nginx-webhook', ['temp-1'], { layers: ['nginx temp'] });
  // What a real host has beside a deploy (the demo found it): stopped containers of the project's
  // older releases, each with its own image. Both the server task and the deploy keep them by one rule.
  const workdir = mkdtempSync(join(tmpdir(), 'cleanup-all-'));
  for (let i = 0; i < 4; i++) {
    build(stack.engine, workdir, `registry.example:5000/webhook-api:0.${i}`, `old api ${i}`);
    stack.engine.docker([
      'run',
      '--network',
      'none',
      '--name',
      `webhook_api_old${i}`,
      '--label',
      'com.docker.compose.project=webhook',
      '--label',
      'com.docker.compose.service=api',
      `registry.example:5000/webhook-api:0.${i}`,
      'true',
    ]);
  }
  rmSync(workdir, { recursive: true, force: true });
});

test.after(async () => {
  await stack?.stop();
});

test('clean:all --yes cleans, deploys, and every success criterion passes', async () => {
  const head = () =>
    execFileSync('git', ['-C', env.BACKEND_DIR, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
  const before = head();
  const run = await runTask('chain/all.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, howItEnded(run));
  const report = run.report;
  assert.equal(
    report.tasks.map((t: { task: string }) => t.task),
    ['inventory', 'registry', 'server', 'deploy', 'verify'],
  );
  // The deploy's plan named the revision the inventory commit would make; it built exactly that.
  const deploy = report.tasks.find((t: { task: string }) => t.task === 'deploy');
  const build = deploy.changes.find((c: { action: string }) => c.action === 'build');
  assert.match(
    build.reason,
    new RegExp(
      `the revision the inventory commit will make \\(the tree of api_server/ after that commit, based on HEAD ${before}\\)`,
    ),
  );
  assert.is.not(head(), before, 'the inventory committed');
  assert.match(
    deploy.figures.find((f: { label: string }) => f.label === 'revision built').value,
    new RegExp(`^${head()} \\(the inventory commit on top of ${before}, as planned\\)`),
  );
  const verify = report.tasks.find((t: { task: string }) => t.task === 'verify');
  assert.equal(
    verify.checks.map((c: { name: string }) => c.name),
    [
      'all legacy files deleted',
      'only the necessary scripts remain',
      'registry under 5 GB',
      `${env.SERVER_HOSTS} disk under 80%`,
      'webhook API works stably',
      'all tests pass',
      'documentation up to date',
    ],
  );
  assert.ok(
    verify.checks.every((c: { passed: boolean }) => c.passed),
    JSON.stringify(verify.checks, null, 1),
  );
  assert.match(verify.checks.find((c: { name: string }) => c.name === 'all tests pass').detail, /1 passed, 0 failed/);
  assert.not.ok(existsSync(join(env.BACKEND_DIR, 'api_server/main_LEGACY.py')));
  assert.not.ok((await tagsOf({ url: registry.url }, 'webhook-api')).some((t) => /test|debug/.test(t)));
  // Stopped within the grace period, or among the newest three: kept by the server task and the deploy alike.
  assert.is(oldContainers(), 'webhook_api_old0 webhook_api_old1 webhook_api_old2 webhook_api_old3');
  assert.match(
    deploy.kept.find((k: { target: string }) => k.target === 'container webhook_api_old3').reason,
    /kept for rollback: #1 of the 3 newest stopped containers of webhook\/api/,
  );
});

test('a second clean:all --yes changes nothing and verify still passes', async () => {
  const run = await runTask('chain/all.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, howItEnded(run));
  assert.is(
    run.report.summary.changes,
    0,
    JSON.stringify(run.report.tasks.map((t: { task: string; changes: unknown[] }) => [t.task, t.changes])),
  );
  assert.ok(
    run.report.tasks
      .find((t: { task: string }) => t.task === 'verify')
      .checks.every((c: { passed: boolean }) => c.passed),
  );
  assert.is(oldContainers(), 'webhook_api_old0 webhook_api_old1 webhook_api_old2 webhook_api_old3');
});

test.run();
