/**
 * Clean deploy end to end: a real registry, a real Docker engine reached through a real sshd,
 * docker-compose v1 on the "server", and a sample backend whose images are built and pushed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { breakHealth, newRevision } from './support/backend-sample.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { runTask } from './support/run-task.ts';

let stack: DeployStack;
let backend: string;
let deployDir: string;
let registry: DeployStack['registry'];
let ports: DeployStack['ports'];
let env: Record<string, string>;

const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status;
const version = async () => (await fetch(`http://127.0.0.1:${ports.api}/version`).catch(() => undefined))?.text();
const revision = () => execFileSync('git', ['-C', backend, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
const state = () => JSON.parse(readFileSync(join(deployDir, 'deploy-state.json'), 'utf8'));

test.before(async () => {
  stack = await startDeployStack('deploy', 8);
  ({ backend, deployDir, registry, ports, env } = stack);
});

test.after(async () => {
  await stack?.stop();
});

test('a first deploy builds, pushes, boots both services and passes the health gate', async () => {
  const run = await runTask('tasks/deploy.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, run.stderr);
  assert.is(await health(ports.api), 200);
  assert.is(await health(ports.front), 200);
  assert.is(state().current, `${env.DEPLOY_IMAGE}:${revision()}`);
  assert.not.ok(existsSync(join(deployDir, '.deploy.lock')), 'the lock is released');
  const tags = (await (await fetch(`${registry.url}/v2/webhook-api/tags/list`)).json()) as { tags: string[] };
  assert.equal(tags.tags.sort(), [revision(), 'final'].sort());
});

test('a redeploy of the same revision plans nothing', async () => {
  const run = await runTask('tasks/deploy.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.report.summary.changes, 0);
  assert.match(run.report.kept[0].reason, /already deployed, running and healthy/);
});

test('a broken image fails the health gate, is rolled back, and the previous version still answers', async () => {
  newRevision(backend, 'v2');
  const good = await runTask('tasks/deploy.ts', ['--yes'], env);
  assert.is(good.code, 0, good.stderr);
  assert.is((await version())?.trim(), 'v2');
  const goodImage = state().current;
  breakHealth(backend);
  const broken = await runTask('tasks/deploy.ts', ['--yes', '--json'], env);
  assert.is(broken.code, 1);
  assert.match(broken.stderr, /did not become healthy within 8s/);
  assert.match(broken.stderr, new RegExp(`rolled back to ${goodImage.replace(/[.:/]/g, '\\$&')}, which answers healthy`));
  assert.match(broken.stderr, /Last log lines/);
  assert.is(await health(ports.api), 200, 'the previous version is serving');
  assert.is(state().current, goodImage);
  assert.not.ok(existsSync(join(deployDir, '.deploy.lock')), 'the lock is released after a failure too');
});

test('a concurrent deploy is refused by the lock', async () => {
  newRevision(backend, 'v3');
  mkdirSync(join(deployDir, '.deploy.lock'));
  try {
    const run = await runTask('tasks/deploy.ts', ['--yes'], env);
    assert.is(run.code, 1);
    assert.match(run.stderr, /another deploy holds the lock/);
    assert.match(run.stderr, /rm -rf .*\.deploy\.lock/);
  } finally {
    rmSync(join(deployDir, '.deploy.lock'), { recursive: true });
  }
  const after = await runTask('tasks/deploy.ts', ['--yes'], env);
  assert.is(after.code, 0, after.stderr);
  assert.is((await version())?.trim(), 'v3');
});

test('deploy:rollback boots the previous version on demand', async () => {
  const before = state();
  // The deploys' own clean-ups kept what a rollback needs, in the registry too.
  const tags = ((await (await fetch(`${registry.url}/v2/webhook-api/tags/list`)).json()) as { tags: string[] }).tags;
  for (const ref of [before.current, ...before.previous]) assert.ok(tags.includes(ref.slice(ref.lastIndexOf(':') + 1)), `${ref} is still in the registry`);
  const run = await runTask('tasks/deploy.ts', ['--rollback', '--yes'], env);
  assert.is(run.code, 0, run.stderr);
  assert.is((await version())?.trim(), 'v2');
  assert.is(state().current, before.previous[0]);
});

test.run();
