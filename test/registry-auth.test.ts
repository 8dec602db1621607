/**
 * The registry task against registries that answer differently: htpasswd basic auth, token auth
 * (with a token issuer of our own), and deletion disabled. Each bad case must say what is wrong
 * and delete nothing; credentials never appear in the output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { pushImage, tagsOf, type Pusher } from '../sandbox/fixtures/registry-seed.ts';
import { rootCertificates } from 'node:tls';
import { trustedCertificates } from '../lib/registry/client.ts';
import { runTask, howItEnded } from './support/run-task.ts';
import { startTokenIssuer, type TokenIssuer } from './support/token-issuer.ts';

const USER = 'ci';
const PASSWORD = 's3cret-Registry-Pass';
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
let dir: string;
const started: { stop(): Promise<void> }[] = [];

async function seed(to: Pusher, repository = 'webhook-api') {
  await pushImage(to, repository, ['final', 'test-1'], { layers: ['final'] });
  await pushImage(to, repository, ['debug-2'], { layers: ['debug'] });
  await pushImage(to, repository, ['1.0.0'], { layers: ['one'] });
}

const env = (registry: TestRegistry, extra: Record<string, string> = {}) => ({
  REGISTRY_URL: registry.url,
  REPORTS_DIR: join(dir, 'reports'),
  ...extra,
});

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-registry-auth-'));
});
test.after(async () => {
  for (const service of started) await service.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('htpasswd basic auth: works with the credentials, refuses clearly without them or with wrong ones', async () => {
  const htpasswd = join(dir, 'htpasswd');
  writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', USER, PASSWORD]));
  const registry = await startRegistry({
    authYaml: ['  htpasswd:', '    realm: test', `    path: ${htpasswd}`].join('\n'),
  });
  started.push({ stop: () => registry.destroy() });
  const to = { url: registry.url, authorization: basic };
  await seed(to);

  const none = await runTask('tasks/registry.ts', ['--yes'], env(registry));
  assert.is(none.code, 1);
  assert.match(none.stderr, /requires authentication \(401\)\. Set REGISTRY_USERNAME and REGISTRY_PASSWORD/);

  const wrong = await runTask(
    'tasks/registry.ts',
    ['--yes'],
    env(registry, { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: 'not-the-password' }),
  );
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /refused the credentials \(401\)/);
  assert.not.match(wrong.stderr, /not-the-password/);
  assert.equal(await tagsOf(to, 'webhook-api'), ['1.0.0', 'debug-2', 'final', 'test-1'], 'nothing deleted');

  const right = await runTask(
    'tasks/registry.ts',
    ['--yes', '--json'],
    env(registry, { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD }),
  );
  assert.is(right.code, 0, howItEnded(right));
  assert.not.match(right.stdout + right.stderr, PASSWORD);
  assert.equal(await tagsOf(to, 'webhook-api'), ['1.0.0', 'final']);
});

test('token auth: a token per scope from the realm, reused, with delete granted', async () => {
  // The realm is on another origin, so over https: basic credentials never travel plain http.
  const issuer: TokenIssuer = await startTokenIssuer(dir, { [USER]: PASSWORD }, { https: true });
  started.push(issuer);
  const registry = await startRegistry({ authYaml: issuer.authYaml });
  started.push({ stop: () => registry.destroy() });
  const trusting = new Agent({ connect: { ca: readFileSync(issuer.certFile) } });
  started.push({ stop: () => trusting.close() });
  const token = async (scope: string) => {
    const url = `${issuer.realm}?service=${issuer.service}&scope=${scope}`;
    const body = (await (
      await undiciFetch(url, { headers: { authorization: basic }, dispatcher: trusting })
    ).json()) as { access_token: string };
    return `Bearer ${body.access_token}`;
  };
  const to = { url: registry.url, authorization: await token('repository:webhook-api:pull,push') };
  await seed(to);
  issuer.requests.length = 0;

  const run = await runTask(
    'tasks/registry.ts',
    ['--yes', '--json'],
    env(registry, { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD, REGISTRY_CA_FILE: issuer.certFile }),
  );
  assert.is(run.code, 0, howItEnded(run));
  // One token per scope for the whole run (plan, apply and check), not one per request.
  const normal = (scope: string) =>
    scope.replace(/:([a-z,]+)$/, (_, actions: string) => `:${actions.split(',').sort().join(',')}`);
  const scopes = issuer.requests.map((s) => s.map(normal).join(' ')).filter(Boolean);
  assert.equal(scopes.sort(), [
    'registry:catalog:*',
    'repository:webhook-api:delete',
    'repository:webhook-api:pull',
    'repository:webhook-api:pull,push',
  ]);
  assert.equal(
    await tagsOf({ url: registry.url, authorization: await token('repository:webhook-api:pull') }, 'webhook-api'),
    ['1.0.0', 'final'],
  );

  const wrong = await runTask(
    'tasks/registry.ts',
    ['--dry-run'],
    env(registry, { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: 'nope-nope', REGISTRY_CA_FILE: issuer.certFile }),
  );
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /refused the credentials/);
});

test('REGISTRY_CA_FILE: a file that is not a certificate exits 2 naming it; a CA is trusted besides the system roots', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-ca-'));
  started.push({ stop: async () => rmSync(dir, { recursive: true, force: true }) });
  const notCertificate = join(dir, 'registry.key');
  writeFileSync(notCertificate, '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n');
  const run = await runTask('tasks/registry.ts', ['--dry-run'], {
    REGISTRY_URL: 'https://127.0.0.1:9',
    REGISTRY_CA_FILE: notCertificate,
  });
  assert.is(run.code, 2, howItEnded(run));
  assert.match(run.stderr, `REGISTRY_CA_FILE ${notCertificate} is not a PEM certificate`);

  const issuer = await startTokenIssuer(dir, {}, { https: true });
  started.push(issuer);
  const trusted = trustedCertificates(issuer.certFile);
  assert.ok(
    rootCertificates.every((root) => trusted.includes(root)),
    'every system root stays trusted',
  );
  assert.ok(trusted.includes(readFileSync(issuer.certFile, 'utf8')), 'and the private CA beside them');
});

test('deletion disabled: stops before deleting anything and names the setting that enables it', async () => {
  const registry = await startRegistry({ deleteEnabled: false });
  started.push({ stop: () => registry.destroy() });
  const to = { url: registry.url };
  await seed(to);
  const run = await runTask('tasks/registry.ts', ['--yes'], env(registry));
  assert.is(run.code, 1);
  assert.match(run.stderr, /deletion is disabled/);
  assert.match(run.stderr, /storage: delete: enabled: true/);
  assert.equal(await tagsOf(to, 'webhook-api'), ['1.0.0', 'debug-2', 'final', 'test-1']);
});

test.run();
