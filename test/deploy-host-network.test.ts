/**
 * Blue/green on the host's network (the sample's `network_mode: host` shape, the real nginx front):
 * with DEPLOY_SECOND_PORT the new release starts on the other port beside the serving one, the
 * front's upstream moves to that port by a reload, the old release goes. Deploys and a rollback
 * alternate the port; the deploy's probe through the front counts no failed request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newRevision } from '../sandbox/fixtures/backend-sample.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { runTask, howItEnded } from './support/run-task.ts';
import { BESIDE_STEPS, figure, zeroDowntime } from './support/deploy-steps.ts';

let stack: DeployStack;
let env: Record<string, string>;
let second: number;

const deploy = (...args: string[]) => runTask('tasks/deploy.ts', args, env);
const actions = (report: { changes: { action: string }[] }) => report.changes.map((c) => c.action);
const version = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/version`).catch(() => undefined))?.text();
/** The port the front's configuration on the host proxies to. */
const frontPort = () =>
  Number(
    /proxy_pass http:\/\/127\.0\.0\.1:(\d+)/.exec(
      readFileSync(join(stack.deployDir, 'nginx/conf.d/webhook.conf'), 'utf8'),
    )![1],
  );
const apiContainers = () =>
  stack.engine
    .docker(['ps', '-q', '--filter', 'label=com.docker.compose.service=webhook-api'])
    .split('\n')
    .filter(Boolean);

test.before(async () => {
  stack = await startDeployStack('deploy-host-network', 8, 'host');
  second = await freePort();
  // Through the front only: the API's own port moves with each release.
  env = {
    ...stack.env,
    DEPLOY_SECOND_PORT: `WEBHOOK_PORT=${second}`,
    DEPLOY_HEALTH_URLS: `http://127.0.0.1:${stack.ports.front}/health`,
  };
});

test.after(async () => {
  await stack?.stop();
});

test('a first deploy starts on the first port; the next starts on the second beside it, the front moves there by a reload, without a failed request', async () => {
  newRevision(stack.backend, 'v1');
  const first = await deploy('--yes', '--json');
  assert.is(first.code, 0, howItEnded(first));
  assert.is((await version(stack.ports.api))?.trim(), 'v1');
  assert.is(frontPort(), stack.ports.api);

  newRevision(stack.backend, 'v2');
  const run = await deploy('--yes', '--json');
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(actions(run.report).slice(5, 11), ['pull', ...BESIDE_STEPS.slice(0, -1)]);
  assert.not.ok(actions(run.report).includes('settle front'), 'the front keeps naming the port that serves');
  assert.match(figure(run.report, 'expected downtime')!, new RegExp(`^zero: .* on port ${second}`));
  assert.match(
    run.report.changes.find((c: { action: string }) => c.action === 'ship').reason,
    new RegExp(`WEBHOOK_PORT=${second}`),
  );
  assert.ok(zeroDowntime(run.report), figure(run.report, 'downtime'));
  assert.is((await version(second))?.trim(), 'v2', 'the new release listens on the second port');
  assert.is(await version(stack.ports.api), undefined, 'nothing listens on the first port any more');
  assert.is(frontPort(), second);
  assert.is(apiContainers().length, 1);
});

test('the next deploy goes back to the first port; a rollback to the second, each without a failed request', async () => {
  newRevision(stack.backend, 'v3');
  const run = await deploy('--yes', '--json');
  assert.is(run.code, 0, howItEnded(run));
  assert.ok(zeroDowntime(run.report), figure(run.report, 'downtime'));
  assert.is((await version(stack.ports.api))?.trim(), 'v3');
  assert.is(frontPort(), stack.ports.api);
  const back = await deploy('--rollback', '--yes', '--json');
  assert.is(back.code, 0, howItEnded(back));
  assert.ok(actions(back.report).includes('start beside'), actions(back.report).join(', '));
  assert.ok(zeroDowntime(back.report), figure(back.report, 'downtime'));
  assert.is((await version(second))?.trim(), 'v2');
  assert.is(frontPort(), second);
  assert.is(apiContainers().length, 1);
});

test('DEPLOY_SECOND_PORT that is not KEY=PORT of a DEPLOY_COMPOSE_ENV variable is refused: exit 2, nothing done', async () => {
  const run = await runTask('tasks/deploy.ts', ['--yes'], { ...env, DEPLOY_SECOND_PORT: 'NO_SUCH_PORT=1' });
  assert.is(run.code, 2, howItEnded(run));
  assert.match(run.stderr, /DEPLOY_SECOND_PORT=NO_SUCH_PORT=1: write it as KEY=PORT/);
});

test.run();
