/**
 * A registry host that hangs, and one that fails request after request: the first ends the run
 * with the host and the step named once the timeout passes; the second stops apply after the set
 * number of failures in a row instead of pressing on, and a rerun finishes the work.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { forward } from './support/forward.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { pushImage, tagsOf } from '../sandbox/fixtures/registry-seed.ts';
import { runTask, howItEnded } from './support/run-task.ts';

let registry: TestRegistry;
let reports: string;
const closers: (() => Promise<void>)[] = [];

test.before(async () => {
  registry = await startRegistry();
  reports = mkdtempSync(join(tmpdir(), 'cleanup-faults-timeouts-'));
});
test.after(async () => {
  for (const close of closers) await close();
  await registry?.destroy();
  rmSync(reports, { recursive: true, force: true });
});

test('a registry that accepts connections and never answers: the run ends naming host and step', async () => {
  const sockets: Socket[] = [];
  const hung = createTcpServer((socket) => sockets.push(socket)); // reads the request, answers nothing
  const port = await freePort();
  await new Promise<void>((resolve) => hung.listen(port, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), hung.close(() => resolve()))));
  const started = Date.now();
  const run = await runTask('tasks/registry.ts', ['--dry-run'], {
    REGISTRY_URL: `http://127.0.0.1:${port}`,
    REPORTS_DIR: reports,
    REGISTRY_TIMEOUT_SECONDS: '2',
    REGISTRY_RETRIES: '1',
  });
  assert.is(run.code, 1, howItEnded(run));
  assert.match(
    run.stderr,
    `127.0.0.1:${port}: GET /v2/ got no answer within 2 s (REGISTRY_TIMEOUT_SECONDS), also after 1 retries`,
  );
  assert.ok(Date.now() - started < 90_000, `took ${Date.now() - started} ms`);
});

test('a registry failing request after request stops apply after the set number in a row; a rerun finishes', async () => {
  const to = { url: registry.url };
  for (let i = 0; i < 10; i++) await pushImage(to, 'webhook-api', [`temp-${i}`], { layers: [`t${i}`] });
  await pushImage(to, 'webhook-api', ['final'], { layers: ['final'] });
  // Passes everything through until the third manifest DELETE; from then on, every request is a 503.
  let deletes = 0;
  let failing = false;
  let refused = 0;
  const target = new URL(registry.url);
  const server: Server = createServer((req, res) => {
    if (req.method === 'DELETE' && ++deletes >= 3) failing = true;
    if (failing) {
      refused++;
      req.resume();
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAVAILABLE","message":"down"}]}');
      return;
    }
    forward(req, res, target);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));

  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], {
    REGISTRY_URL: `http://127.0.0.1:${port}`,
    REPORTS_DIR: reports,
    REGISTRY_RETRIES: '1',
    REGISTRY_CONCURRENCY: '1',
    REGISTRY_MAX_CONSECUTIVE_FAILURES: '3',
  });
  assert.is(run.code, 1, howItEnded(run));
  assert.match(run.stderr, /failed 3 requests in a row/);
  assert.match(run.stderr, /changes were not started/);
  // 3 failures in a row, each after 1 retry: 6 answers of 503, then nothing more was sent.
  assert.is(refused, 6, `${refused} requests reached the failing registry`);
  const left = (await tagsOf(to, 'webhook-api')).filter((t) => t.startsWith('temp-'));
  assert.ok(left.length > 0 && left.length < 10, `${left.length} temp tags left`);

  const rerun = await runTask('tasks/registry.ts', ['--yes', '--json'], {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: reports,
  });
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.equal(await tagsOf(to, 'webhook-api'), ['final']);
});

test.run();
