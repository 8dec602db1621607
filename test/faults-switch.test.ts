/**
 * Faults of a deploy beside the serving release, on the production-shaped sample (a compose network,
 * the real nginx front, compose healthchecks): a release healthy by its own healthcheck that fails
 * the gate through the front, after the front moved to it; and a deploy SIGKILLed while its new
 * container starts beside the old one, then run again. A probe of the test's own asks the front every
 * 20 ms throughout each: not one request fails, and what the deploy leaves is one API container and
 * the repository's nginx configuration.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newRevision } from '../sandbox/fixtures/backend-sample.ts';
import { startDowntimeProbe } from '../lib/deploy/downtime.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { runTask, howItEnded, startTask } from './support/run-task.ts';

let stack: DeployStack;
let env: Record<string, string>;

const deploy = (...args: string[]) => runTask('tasks/deploy.ts', args, env);
const front = (path: string) => `http://127.0.0.1:${stack.ports.front}${path}`;
const version = async () => (await fetch(front('/version')).catch(() => undefined))?.text();
const apiContainers = () =>
  stack.engine
    .docker(['ps', '-q', '--filter', 'label=com.docker.compose.service=webhook-api'])
    .split('\n')
    .filter(Boolean);
const git = (...args: string[]) => execFileSync('git', ['-C', stack.backend, ...args], { stdio: 'ignore' });
const frontConfig = () => readFileSync(join(stack.deployDir, 'nginx/conf.d/webhook.conf'), 'utf8');

/** The test's own probe of the front, every 20 ms on new connections, for the duration of `during`. */
async function noRequestFails(during: () => Promise<void>): Promise<void> {
  const probe = startDowntimeProbe(front('/health'));
  try {
    await during();
  } finally {
    const measured = await probe.stop();
    assert.is(measured.failed, 0, `${measured.failed} of ${measured.requests} failed: ${measured.firstFailure}`);
    assert.ok(measured.requests >= 100, `${measured.requests} requests`);
  }
}

test.before(async () => {
  stack = await startDeployStack('faults-switch', 8);
  // The gate asks for /version through the front: a release can pass its own healthcheck (/health) and fail it.
  env = { ...stack.env, DEPLOY_HEALTH_URLS: front('/version') };
  newRevision(stack.backend, 'v1');
  const first = await deploy('--yes', '--json');
  assert.is(first.code, 0, howItEnded(first));
});

test.after(async () => {
  await stack?.stop();
});

test('a release that fails the gate through the front after the switch: the front is pointed back at the old container, which never stopped; the new one goes', async () => {
  const serving = apiContainers();
  rmSync(join(stack.backend, 'api_server/www/version'));
  git('commit', '-qam', 'healthy by its own check, no /version');
  await noRequestFails(async () => {
    const run = await deploy('--yes', '--json');
    assert.is(run.code, 1, howItEnded(run));
    assert.ok(
      run.report.changes.findIndex((c: { action: string }) => c.action === 'switch front') <
        run.report.changes.findIndex((c: { action: string }) => c.action === 'health gate'),
      'the gate runs through the switched front',
    );
    assert.match(run.stderr, /points nginx back at webhook_webhook-api_\d+ \(never stopped\)|restored what ran before/);
    assert.match(run.report.figures.find((f: { label: string }) => f.label === 'serving').value, /healthy/);
  });
  assert.is((await version())?.trim(), 'v1', 'the old release serves');
  assert.equal(apiContainers(), serving, 'the old container, and only it');
  assert.is(frontConfig(), readFileSync(join(stack.backend, 'nginx/conf.d/webhook.conf'), 'utf8'));
  assert.not.ok(existsSync(join(stack.deployDir, '.deploy-under-way.json')), 'no marker is left');
});

test('a deploy SIGKILLed while its new container starts beside the old one: the rerun brings the old one back first without a gap, then deploys', async () => {
  newRevision(stack.backend, 'v2');
  const before = apiContainers();
  await noRequestFails(async () => {
    const { child, exited: ended, stdout, stderr } = startTask('tasks/deploy.ts', ['--yes', '--json'], env);
    let done = false;
    const exited = ended.then(() => (done = true));
    const deadline = Date.now() + 240_000;
    // Events, not a sleep: the moment compose created the container beside the serving one.
    while (!done && apiContainers().length < 2 && Date.now() < deadline) await sleep(50);
    assert.is(
      apiContainers().length,
      2,
      `a container started beside the serving one; the deploy said:\n${stdout()}${stderr()}`,
    );
    child.kill('SIGKILL');
    await exited;
    const rerun = await deploy('--yes', '--json');
    assert.is(rerun.code, 0, howItEnded(rerun));
    assert.equal(
      rerun.report.changes.slice(0, 2).map((c: { action: string }) => c.action),
      ['lock', 'bring back'],
    );
    assert.match(
      rerun.report.changes[1].reason,
      /points nginx back at .* \(never stopped\) and removes what was started beside it/,
    );
  });
  assert.is((await version())?.trim(), 'v2');
  assert.is(apiContainers().length, 1, 'one API container');
  assert.not.ok(before.includes(apiContainers()[0]), 'the new one');
  assert.is(frontConfig(), readFileSync(join(stack.backend, 'nginx/conf.d/webhook.conf'), 'utf8'));
});

test.run();
