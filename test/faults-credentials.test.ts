/**
 * Credentials stay home: basic credentials go only to the registry's own origin or to a token
 * realm over https; a redirect never carries the Authorization header. Against a real registry
 * (htpasswd and token auth), a real token issuer on another origin, and a redirecting front.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { forward } from './support/forward.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { startRegistry } from '../sandbox/fixtures/registry.ts';
import { pushImage, tagsOf } from '../sandbox/fixtures/registry-seed.ts';
import { runTask, howItEnded } from './support/run-task.ts';
import { startTokenIssuer } from './support/token-issuer.ts';

const USER = 'ci';
const PASSWORD = 'Home-Only-Pass-42';
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
let dir: string;
const started: { stop(): Promise<void> }[] = [];

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-credentials-'));
});
test.after(async () => {
  for (const service of started.reverse()) await service.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function listen(server: Server): Promise<string> {
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  started.push({ stop: () => new Promise((resolve) => server.close(() => resolve())) });
  return `http://127.0.0.1:${port}`;
}

test('a token realm on another origin over plain http gets no credentials, and the run says why', async () => {
  const issuerDir = join(dir, 'issuer');
  mkdirSync(issuerDir);
  const issuer = await startTokenIssuer(issuerDir, { [USER]: PASSWORD });
  started.push(issuer);
  const registry = await startRegistry({ authYaml: issuer.authYaml });
  started.push({ stop: () => registry.destroy() });

  const run = await runTask('tasks/registry.ts', ['--yes'], {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: join(dir, 'reports'),
    REGISTRY_USERNAME: USER,
    REGISTRY_PASSWORD: PASSWORD,
  });
  assert.is(run.code, 1, howItEnded(run));
  assert.match(run.stderr, `names the token realm ${issuer.realm}: another origin, over plain http`);
  assert.match(run.stderr, /Serve the token realm over https/);
  assert.is(issuer.requests.length, 0, 'the issuer never saw the credentials');
  assert.not.match(run.stderr + run.stdout, PASSWORD);
});

test('a redirect (blob storage elsewhere) is followed without the Authorization header', async () => {
  const htpasswd = join(dir, 'htpasswd');
  writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', USER, PASSWORD]));
  const registry = await startRegistry({
    authYaml: ['  htpasswd:', '    realm: test', `    path: ${htpasswd}`].join('\n'),
  });
  started.push({ stop: () => registry.destroy() });
  const to = { url: registry.url, authorization: basic };
  // Tags that are not versions: ranking them needs the image dates, read from config blobs.
  for (const [i, tag] of ['alpha', 'beta', 'gamma', 'delta'].entries())
    await pushImage(to, 'webhook-api', [tag], { layers: [tag], created: `2026-0${i + 1}-01T00:00:00Z` });

  // The storage: serves a blob to whoever asks, as a presigned URL would; records what it got.
  const seen: IncomingHttpHeaders[] = [];
  const storage = await listen(
    createServer(async (req, res) => {
      seen.push(req.headers);
      const upstream = await fetch(`${registry.url}${req.url}`, { headers: { authorization: basic } });
      res
        .writeHead(upstream.status, { 'content-type': 'application/octet-stream' })
        .end(Buffer.from(await upstream.arrayBuffer()));
    }),
  );
  // The registry's front: blob GETs are redirected to the storage, everything else passes.
  const registryUrl = new URL(registry.url);
  const front = await listen(
    createServer((req, res) => {
      if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) {
        req.resume();
        res.writeHead(307, { location: `${storage}${req.url}` }).end();
        return;
      }
      forward(req, res, registryUrl);
    }),
  );

  const run = await runTask('tasks/registry.ts', ['--dry-run', '--json'], {
    REGISTRY_URL: front,
    REPORTS_DIR: join(dir, 'reports'),
    REGISTRY_USERNAME: USER,
    REGISTRY_PASSWORD: PASSWORD,
  });
  assert.is(run.code, 0, howItEnded(run));
  assert.ok(seen.length >= 4, `the storage served ${seen.length} config blobs`);
  assert.equal(
    seen.filter((headers) => headers.authorization),
    [],
    'no redirected request carried credentials',
  );
  assert.equal(
    run.report.changes.map((c: { target: string }) => c.target),
    [run.report.changes[0].target],
    'one image planned',
  );
  assert.match(run.report.changes[0].target, /:alpha/, 'the oldest by the dates read through the redirect');
  assert.equal(await tagsOf(to, 'webhook-api'), ['alpha', 'beta', 'delta', 'gamma']);
});

test.run();
