/**
 * `clean:all` end to end on the sample stack: a backend repository as the plan describes, a
 * registry with versions and test tags, a Docker host through sshd. The first run cleans and
 * deploys and every success criterion passes; the second changes nothing and verify still passes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSampleBackend } from './support/backend-sample.ts';
import { ensureBaseImage, ensureDockerd, type TestEngine } from './support/dockerd.ts';
import { freePort } from './support/ports.ts';
import { startRegistry, type TestRegistry } from './support/registry.ts';
import { pushImage, tagsOf } from './support/registry-seed.ts';
import { runTask } from './support/run-task.ts';
import { startSshd, type Sshd } from './support/sshd.ts';

let dir: string;
let engine: TestEngine;
let registry: TestRegistry;
let sshd: Sshd;
let env: Record<string, string>;
let deployDir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-all-'));
  chmodSync(dir, 0o755);
  engine = await ensureDockerd('all');
  ensureBaseImage(engine);
  for (const id of engine.docker(['ps', '-aq']).split('\n').filter(Boolean)) engine.docker(['rm', '-f', id]);
  registry = await startRegistry();
  const registryHost = `127.0.0.1:${registry.port}`;
  engine.docker(['tag', 'cleanup-test/busybox:base', `${registryHost}/nginx-webhook:latest`]);
  engine.docker(['push', '--quiet', `${registryHost}/nginx-webhook:latest`]);
  const to = { url: registry.url };
  for (const [i, v] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].entries()) await pushImage(to, 'webhook-api', [v], { layers: [`api ${v}`], created: `2026-0${i + 1}-01T00:00:00Z` });
  await pushImage(to, 'webhook-api', ['test-7', 'debug-7'], { layers: ['api test'], created: '2026-05-01T00:00:00Z' });
  await pushImage(to, 'nginx-webhook', ['temp-1'], { layers: ['nginx temp'] });
  sshd = await startSshd({ user: 'cleanup-ops', groups: ['docker'], env: { DOCKER_HOST: engine.host } });
  const backend = createSampleBackend(join(dir, 'backend'));
  deployDir = join(dir, 'srv');
  mkdirSync(deployDir);
  chownSync(deployDir, Number(execFileSync('id', ['-u', 'cleanup-ops'], { encoding: 'utf8' })), 0);
  const [api, front] = [await freePort(), await freePort()];
  const hostName = `cleanup-ops@127.0.0.1:${sshd.target.port}`;
  env = {
    BACKEND_DIR: backend,
    REGISTRY_URL: registry.url,
    REGISTRY_GC_STOP_COMMAND: registry.stopCommand,
    REGISTRY_GC_COMMAND: `docker-registry garbage-collect ${registry.config}`,
    REGISTRY_GC_START_COMMAND: registry.startCommand,
    REGISTRY_STORAGE_PATH: registry.storage,
    SERVER_HOSTS: hostName,
    SERVER_COMPOSE_PROJECT: 'webhook',
    DEPLOY_HOST: hostName,
    DEPLOY_DIR: deployDir,
    DEPLOY_IMAGE: `${registryHost}/webhook-api`,
    DEPLOY_BUILD_DOCKER_HOST: engine.host,
    DEPLOY_COMPOSE_ENV: `WEBHOOK_PORT=${api},FRONT_PORT=${front},NGINX_IMAGE=${registryHost}/nginx-webhook:latest`,
    DEPLOY_HEALTH_URLS: `http://127.0.0.1:${api}/health,http://127.0.0.1:${front}/health`,
    DEPLOY_HEALTH_TIMEOUT_SECONDS: '15',
    VERIFY_PROBES: '5',
    VERIFY_WINDOW_SECONDS: '1',
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

test('clean:all --yes cleans, deploys, and every success criterion passes', async () => {
  const run = await runTask('tasks/all.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, run.stderr);
  const report = run.report;
  assert.equal(report.tasks.map((t: { task: string }) => t.task), ['inventory', 'registry', 'server', 'deploy', 'verify']);
  const verify = report.tasks.find((t: { task: string }) => t.task === 'verify');
  assert.equal(verify.checks.map((c: { name: string }) => c.name), [
    'all legacy files deleted',
    'only the necessary scripts remain',
    'registry under 5.00 GB',
    `${env.SERVER_HOSTS} disk under 80%`,
    'webhook API works stably',
    'all tests pass',
    'documentation up to date',
  ]);
  assert.ok(verify.checks.every((c: { passed: boolean }) => c.passed), JSON.stringify(verify.checks, null, 1));
  assert.match(verify.checks.find((c: { name: string }) => c.name === 'all tests pass').detail, /2 passed, 0 failed/);
  assert.not.ok(existsSync(join(env.BACKEND_DIR, 'api_server/main_LEGACY.py')));
  assert.not.ok((await tagsOf({ url: registry.url }, 'webhook-api')).some((t) => /test|debug/.test(t)));
});

test('a second clean:all --yes changes nothing and verify still passes', async () => {
  const run = await runTask('tasks/all.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.report.summary.changes, 0, JSON.stringify(run.report.tasks.map((t: { task: string; changes: unknown[] }) => [t.task, t.changes])));
  assert.ok(run.report.tasks.find((t: { task: string }) => t.task === 'verify').checks.every((c: { passed: boolean }) => c.passed));
});

test.run();
