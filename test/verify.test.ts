/**
 * `npm run verify -- --check`, as a monitoring job runs it, on real parts: a real registry, a
 * real dockerd (the server, reached as `local`), a health endpoint on loopback and a backend
 * repository cleaned by the inventory task. The checks run under --check: exit 0 when every
 * criterion passes, 1 when one fails (here: the backend's own tests).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureDockerd, type TestEngine } from '../sandbox/fixtures/dockerd.ts';
import { createBackendRepo } from '../sandbox/fixtures/inventory-repo.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { runTask, howItEnded, taskEnvironment } from './support/run-task.ts';

let registry: TestRegistry;
let engine: TestEngine;
let health: Server;
let healthUrl: string;
let dir: string;
let backend: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-verify-'));
  registry = await startRegistry();
  engine = await ensureDockerd('verify');
  health = createServer((_req, res) => res.end('ok'));
  const port = await freePort();
  await new Promise<void>((resolve) => health.listen(port, '127.0.0.1', resolve));
  healthUrl = `http://127.0.0.1:${port}/health`;
  backend = createBackendRepo(join(dir, 'backend'));
  // The inventory's run is what makes the legacy and documentation criteria pass.
  const cleaned = await runTask('tasks/inventory.ts', ['--yes'], {
    BACKEND_DIR: backend,
    REPORTS_DIR: join(dir, 'reports'),
  });
  assert.is(cleaned.code, 0, howItEnded(cleaned));
});
test.after(async () => {
  await registry?.destroy();
  health?.closeAllConnections();
  await new Promise((resolve) => health?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run verify -- ARGS`, as a monitoring job types it. */
function npmVerify(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn('npm', ['run', '--silent', 'verify', '--', ...args], {
    env: taskEnvironment({
      DOCKER_HOST: engine.host,
      REGISTRY_URL: registry.url,
      SERVER_HOSTS: 'local',
      SERVER_COMPOSE_PROJECT: 'webhook',
      SERVER_DISK_MAX_PERCENT: '99',
      DEPLOY_HEALTH_URLS: healthUrl,
      VERIFY_PROBES: '2',
      VERIFY_WINDOW_SECONDS: '0',
      BACKEND_DIR: backend,
      REPORTS_DIR: join(dir, 'reports'),
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

test('verify -- --check runs the criteria: exit 0 when all pass', async () => {
  const run = await npmVerify(['--check'], { VERIFY_TEST_COMMAND: 'true' });
  assert.is(run.code, 0, run.output);
  for (const criterion of [
    'all legacy files deleted',
    'registry under 5 GB',
    'local disk under 99%',
    'webhook API works stably: 2 of 2 probes healthy',
    'all tests pass: true: exit 0',
    'documentation',
  ])
    assert.match(run.output, `PASS  ${criterion}`);
});

test('verify -- --check exits 1 when a criterion fails, naming it', async () => {
  const run = await npmVerify(['--check'], { VERIFY_TEST_COMMAND: 'false' });
  assert.is(run.code, 1, run.output);
  assert.match(run.output, 'FAIL  all tests pass: false: exit 1');
});

test.run();
