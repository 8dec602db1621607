/**
 * Clean deploy end to end: a real registry, a real Docker engine reached through a real sshd,
 * docker-compose v1 on the "server", and a sample backend whose images are built and pushed.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { breakHealth, createSampleBackend, newRevision } from './support/backend-sample.ts';
import { ensureBaseImage, ensureDockerd, type TestEngine } from './support/dockerd.ts';
import { freePort } from './support/ports.ts';
import { startRegistry, type TestRegistry } from './support/registry.ts';
import { runTask } from './support/run-task.ts';
import { startSshd, type Sshd } from './support/sshd.ts';

let dir: string;
let backend: string;
let deployDir: string;
let engine: TestEngine;
let registry: TestRegistry;
let sshd: Sshd;
let ports: { api: number; front: number };
let env: Record<string, string>;

const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status;
const version = async () => (await fetch(`http://127.0.0.1:${ports.api}/version`).catch(() => undefined))?.text();
const revision = () => execFileSync('git', ['-C', backend, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
const state = () => JSON.parse(readFileSync(join(deployDir, 'deploy-state.json'), 'utf8'));

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-deploy-'));
  chmodSync(dir, 0o755);
  engine = await ensureDockerd('deploy');
  ensureBaseImage(engine);
  for (const id of engine.docker(['ps', '-aq']).split('\n').filter(Boolean)) engine.docker(['rm', '-f', id]);
  registry = await startRegistry();
  const registryHost = `127.0.0.1:${registry.port}`;
  engine.docker(['tag', 'cleanup-test/busybox:base', `${registryHost}/nginx-webhook:latest`]);
  engine.docker(['push', '--quiet', `${registryHost}/nginx-webhook:latest`]);
  sshd = await startSshd({ user: 'cleanup-ops', groups: ['docker'], env: { DOCKER_HOST: engine.host } });
  backend = createSampleBackend(join(dir, 'backend'));
  deployDir = join(dir, 'srv');
  mkdirSync(deployDir);
  chownSync(deployDir, Number(execFileSync('id', ['-u', 'cleanup-ops'], { encoding: 'utf8' })), 0);
  ports = { api: await freePort(), front: await freePort() };
  const hostName = `cleanup-ops@127.0.0.1:${sshd.target.port}`;
  env = {
    BACKEND_DIR: backend,
    REGISTRY_URL: registry.url,
    DEPLOY_HOST: hostName,
    DEPLOY_DIR: deployDir,
    DEPLOY_IMAGE: `${registryHost}/webhook-api`,
    DEPLOY_BUILD_DOCKER_HOST: engine.host,
    DEPLOY_COMPOSE_ENV: `WEBHOOK_PORT=${ports.api},FRONT_PORT=${ports.front},NGINX_IMAGE=${registryHost}/nginx-webhook:latest`,
    DEPLOY_HEALTH_URLS: `http://127.0.0.1:${ports.api}/health,http://127.0.0.1:${ports.front}/health`,
    DEPLOY_HEALTH_TIMEOUT_SECONDS: '8',
    SERVER_HOSTS: hostName,
    SERVER_COMPOSE_PROJECT: 'webhook',
    SSH_IDENTITY_FILE: sshd.target.identityFile!,
    SSH_KNOWN_HOSTS_FILE: sshd.target.knownHostsFile!,
    REPORTS_DIR: join(dir, 'reports'),
  };
});

test.after(async () => {
  try {
    execFileSync('docker-compose', ['-p', 'webhook', '-f', join(deployDir, 'docker-compose.yml'), 'down'], { env: { ...process.env, DOCKER_HOST: engine.host }, stdio: 'ignore' });
  } catch {
    // nothing was deployed
  }
  await sshd?.stop();
  await registry?.destroy();
  rmSync(dir, { recursive: true, force: true });
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
