/**
 * The front itself (issue 25, item 4), on the production-shaped stack (a compose network, the real
 * nginx): a committed nginx configuration is loaded by the switch's `nginx -t` and reload, without
 * a restart or a failed request (a changed key alone, with the API kept: deploy.test.ts); a new
 * nginx image cannot be loaded by a reload, so the plan names its restart as the one gap, and
 * afterwards the front runs the new image.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newRevision } from '../sandbox/fixtures/backend-sample.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { figure, zeroDowntime } from './support/deploy-steps.ts';
import { howItEnded, runTask } from './support/run-task.ts';

let stack: DeployStack;
let env: Record<string, string>;

const deploy = (settings = env) => runTask('tasks/deploy.ts', ['--yes', '--json'], settings);
const actions = (report: { changes: { action: string }[] }) => report.changes.map((c) => c.action);
const running = (service: string) =>
  stack.engine
    .docker([
      'ps',
      '--filter',
      'label=com.docker.compose.project=webhook',
      '--filter',
      `label=com.docker.compose.service=${service}`,
      '--format',
      '{{.ID}} {{.Image}}',
    ])
    .trim();
const revision = () =>
  execFileSync('git', ['-C', stack.backend, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
const commit = (message: string) =>
  execFileSync('git', ['-C', stack.backend, 'commit', '-q', '-am', message], { stdio: 'ignore' });

test.before(async () => {
  stack = await startDeployStack('deploy-front', 30);
  env = stack.env;
  newRevision(stack.backend, 'first');
  const first = await deploy();
  assert.is(first.code, 0, howItEnded(first));
});

test.after(async () => {
  await stack?.stop();
});

test('a committed nginx configuration: the switch’s nginx -t and reload load it with the new release, no restart, no failed request', async () => {
  const conf = join(stack.backend, 'nginx/conf.d/webhook.conf');
  appendFileSync(conf, 'server {\n  listen 80;\n  server_name front-check.invalid;\n  return 204;\n}\n');
  commit('the front answers one more name');

  const run = await deploy();
  assert.is(run.code, 0, howItEnded(run));
  const done = actions(run.report);
  assert.ok(done.includes('switch front'), done.join(', '));
  assert.not.ok(done.includes('restart front'), done.join(', '));
  assert.ok(zeroDowntime(run.report), figure(run.report, 'downtime'));
  const status = await new Promise<number | undefined>((resolve) =>
    get({ host: '127.0.0.1', port: stack.ports.front, path: '/', headers: { host: 'front-check.invalid' } }, (r) => {
      r.resume();
      resolve(r.statusCode);
    }).on('error', () => resolve(undefined)),
  );
  assert.is(status, 204, 'nginx serves the shipped configuration');
});

test('a new nginx image: the plan names its restart as the one gap; then the front runs it and the API moved without a gap', async () => {
  const registryHost = `127.0.0.1:${stack.registry.port}`;
  const next = `${registryHost}/nginx-webhook:next`;
  stack.engine.docker(['tag', `${registryHost}/nginx-webhook:latest`, next]);
  stack.engine.docker(['push', '--quiet', next]);
  const settings = {
    ...env,
    DEPLOY_COMPOSE_ENV: env.DEPLOY_COMPOSE_ENV.replace(`${registryHost}/nginx-webhook:latest`, next),
  };
  newRevision(stack.backend, 'with the next front');

  const planned = await runTask('tasks/deploy.ts', ['--dry-run', '--json'], settings);
  assert.is(planned.code, 0, howItEnded(planned));
  const restart = planned.report.changes.find((c: { action: string }) => c.action === 'restart front');
  assert.ok(restart, actions(planned.report).join(', '));
  assert.match(restart.reason, `its image changes (${registryHost}/nginx-webhook:latest → ${next})`);
  assert.match(restart.reason, 'requests fail while it restarts');
  assert.match(figure(planned.report, 'expected downtime') ?? '', "except nginx's own restart");

  const run = await deploy(settings);
  assert.is(run.code, 0, howItEnded(run));
  const done = actions(run.report);
  assert.ok(done.indexOf('restart front') < done.indexOf('start beside'), done.join(', '));
  assert.match(running('nginx'), next);
  assert.match(figure(run.report, 'downtime') ?? '', /^\d+ of [1-9]\d* requests/, 'the gap is measured');
  assert.is((await fetch(`http://127.0.0.1:${stack.ports.front}/version`)).status, 200);
});

test('the same again plans nothing, and the switch after it is without a gap', async () => {
  const settings = {
    ...env,
    DEPLOY_COMPOSE_ENV: env.DEPLOY_COMPOSE_ENV.replace(
      `127.0.0.1:${stack.registry.port}/nginx-webhook:latest`,
      `127.0.0.1:${stack.registry.port}/nginx-webhook:next`,
    ),
  };
  const again = await deploy(settings);
  assert.is(again.code, 0, howItEnded(again));
  assert.equal(actions(again.report), []);
  newRevision(stack.backend, 'after the front moved');
  const run = await deploy(settings);
  assert.is(run.code, 0, howItEnded(run));
  assert.not.ok(actions(run.report).includes('restart front'));
  assert.ok(zeroDowntime(run.report), figure(run.report, 'downtime'));
});

test('an API the compose file scales to two: compose starts the second after the switch and the front reloads to reach both, each deploy without a gap', async () => {
  const compose = join(stack.backend, 'docker-compose.webhook.prod.yml');
  writeFileSync(compose, readFileSync(compose, 'utf8').replace('    init: true\n', '    init: true\n    scale: 2\n'));
  commit('two API containers');
  const settings = {
    ...env,
    DEPLOY_COMPOSE_ENV: env.DEPLOY_COMPOSE_ENV.replace(
      `127.0.0.1:${stack.registry.port}/nginx-webhook:latest`,
      `127.0.0.1:${stack.registry.port}/nginx-webhook:next`,
    ),
  };
  for (const note of ['scaled', 'scaled again']) {
    if (note !== 'scaled') newRevision(stack.backend, note);
    const run = await deploy(settings);
    assert.is(run.code, 0, howItEnded(run));
    const done = actions(run.report);
    assert.equal(done.slice(done.indexOf('settle front'), done.indexOf('settle front') + 3), [
      'settle front',
      'up',
      'reload front',
    ]);
    const api = running('webhook-api').split('\n');
    assert.is(api.length, 2, api.join('\n'));
    assert.ok(
      api.every((line) => line.endsWith(`webhook-api:${revision()}`)),
      api.join('\n'),
    );
    assert.ok(zeroDowntime(run.report), `${note}: ${figure(run.report, 'downtime')}`);
  }
});

test.run();
