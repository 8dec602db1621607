/**
 * `npm run sandbox`, `sandbox:stop` and `sandbox:down` through npm run, on free ports and folders of
 * their own (@real-parts: two Docker engines and two sshd, started by the sandbox). The sandbox is
 * production's shape: the production host, and the registry host running the registry in a
 * container behind TLS with auth beside the database; the production host's ssh user pulls from it
 * with the credentials it was given, a deploy pushes there and pulls from there, clean:server keeps
 * the registry host's containers and volumes, a stopped sandbox comes back with the same CA and
 * data, and down leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'dotenv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engine } from '../sandbox/fixtures/dockerd.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { npmRun } from './support/npm-run.ts';
import { howItEnded } from './support/run-task.ts';

const repo = resolve(import.meta.dirname, '..');
let root: string;
let env: Record<string, string>;
let ports: { ssh: number; registry: number; registrySsh: number };

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cleanup-sandbox-'));
  // The ssh user reads its authorized_keys under the shared folder: every folder on the way must be enterable.
  chmodSync(root, 0o755);
  ports = { ssh: await freePort(), registry: await freePort(), registrySsh: await freePort() };
  env = {
    SANDBOX_DIR: join(root, 'state'),
    SANDBOX_SHARED_DIR: join(root, 'shared'),
    SANDBOX_SSH_PORT: String(ports.ssh),
    SANDBOX_REGISTRY_PORT: String(ports.registry),
    SANDBOX_REGISTRY_SSH_PORT: String(ports.registrySsh),
    SANDBOX_WEBHOOK_PORT: String(await freePort()),
    SANDBOX_FRONT_PORT: String(await freePort()),
  };
});

test.after(async () => {
  if (existsSync(env.SANDBOX_SHARED_DIR)) await npmRun(repo, ['sandbox:down'], env);
  rmSync(root, { recursive: true, force: true });
});

const settings = () => parse(readFileSync(join(env.SANDBOX_DIR, '.env')));
const certsDir = () => `/etc/docker/certs.d/127.0.0.1:${ports.registry}`;
const registryEngine = () => engine('registry-host', join(env.SANDBOX_SHARED_DIR, 'docker'));
/** A command as the sandbox's ssh user on the production host. */
const onProduction = (command: string) =>
  execFileSync(
    'ssh',
    [
      ...['-i', settings().SSH_IDENTITY_FILE, '-o', `UserKnownHostsFile=${settings().SSH_KNOWN_HOSTS_FILE}`],
      ...['-o', 'BatchMode=yes', '-p', String(ports.ssh), 'aisha@127.0.0.1', command],
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );

test('a sandbox made before the registry host is refused with exit 2 and the way out, nothing started', async () => {
  const old = { ...env, SANDBOX_DIR: join(root, 'old'), SANDBOX_SHARED_DIR: join(root, 'old-shared') };
  mkdirSync(old.SANDBOX_DIR);
  writeFileSync(join(old.SANDBOX_DIR, 'seeded'), '2026-11-01T00:00:00Z\n');
  const run = await npmRun(repo, ['sandbox'], old);
  assert.is(run.code, 2, howItEnded(run));
  assert.match(run.stderr, 'was made before the sandbox had a registry host');
  assert.match(run.stderr, 'run npm run sandbox:down, then npm run sandbox');
  assert.not.ok(existsSync(old.SANDBOX_SHARED_DIR), 'nothing was started');
});

test('npm run sandbox brings up the production host and the registry host, and the settings point at both', async () => {
  const run = await npmRun(repo, ['sandbox'], env);
  assert.is(run.code, 0, howItEnded(run));
  assert.match(run.stderr, `production host: Docker engine unix://${env.SANDBOX_SHARED_DIR}/docker/engine/`);
  assert.match(run.stderr, `registry host: Docker engine unix://${env.SANDBOX_SHARED_DIR}/docker/registry-host/`);
  assert.match(run.stderr, `runs the registry in container prod-registry (https://127.0.0.1:${ports.registry}`);
  const s = settings();
  assert.is(s.REGISTRY_URL, `https://127.0.0.1:${ports.registry}`);
  assert.match(readFileSync(s.REGISTRY_CA_FILE, 'utf8'), 'BEGIN CERTIFICATE');
  assert.is(s.REGISTRY_HOST, `aisha@127.0.0.1:${ports.registrySsh}`);
  assert.is(s.REGISTRY_STORAGE_VOLUME, 'prod-registry-data');
  assert.is(s.SERVER_HOSTS, `aisha@127.0.0.1:${ports.ssh},aisha@127.0.0.1:${ports.registrySsh}`);
  assert.is(readFileSync(join(certsDir(), 'ca.crt'), 'utf8'), readFileSync(s.REGISTRY_CA_FILE, 'utf8'));

  // What the deploy's compose pull does on the production host: through TLS, with the ssh user's credentials.
  // (The seeded webhook-api versions have made-up layers; the front is a real image the seed pushed with docker.)
  const pulled = onProduction(`docker pull --quiet 127.0.0.1:${ports.registry}/nginx-webhook:latest`);
  assert.match(pulled, `127.0.0.1:${ports.registry}/nginx-webhook:latest`);
});

test('clean:server on the sandbox keeps the registry host’s registry, database and volumes, saying why', async () => {
  const envFile = join(env.SANDBOX_DIR, '.env');
  const run = await npmRun(repo, ['clean:server', '--', '--env-file', envFile, '--dry-run', '--json'], env);
  assert.is(run.code, 0, howItEnded(run));
  const report = JSON.parse(run.stdout);
  const registryHost = `aisha@127.0.0.1:${ports.registrySsh}`;
  const kept = (target: string) =>
    report.kept.find((k: { host: string; target: string }) => k.host === registryHost && k.target === target)?.reason ??
    `(${target} not kept on the registry host)`;
  assert.match(kept('container prod-registry'), 'holds data in volume prod-registry-data');
  assert.match(kept('container prod-database'), 'holds data in volume prod-database-data');
  assert.match(kept('volume prod-registry-data'), 'used by container prod-registry');
  assert.match(kept('volume prod-database-data'), 'used by container prod-database');
});

test('deploy:clean on the sandbox pushes to the TLS registry with auth and the production host pulls from it', async () => {
  const envFile = join(env.SANDBOX_DIR, '.env');
  const run = await npmRun(repo, ['deploy:clean', '--', '--env-file', envFile, '--yes', '--json'], env);
  assert.is(run.code, 0, howItEnded(run));
  const report = JSON.parse(run.stdout);
  const done = report.applied.map((item: { action: string }) => item.action);
  assert.ok(done.includes('push') && done.includes('pull'), done.join(', '));
  const serving = report.figures.find((f: { label: string }) => f.label === 'serving')?.value ?? '(no serving figure)';
  assert.match(serving, `127.0.0.1:${ports.registry}/webhook-api:`);
  const images = onProduction(`docker ps --format '{{.Image}}'`);
  assert.match(images, `127.0.0.1:${ports.registry}/webhook-api:`);
});

test('a stopped sandbox comes back with the same CA, the same images and the database’s data', async () => {
  const ca = readFileSync(settings().REGISTRY_CA_FILE, 'utf8');
  const stop = await npmRun(repo, ['sandbox:stop'], env);
  assert.is(stop.code, 0, howItEnded(stop));
  assert.match(stop.stderr, "stopped the registry host's Docker engine (its containers first)");
  const again = await npmRun(repo, ['sandbox'], env);
  assert.is(again.code, 0, howItEnded(again));
  assert.not.match(again.stderr, 'seeding');
  assert.is(readFileSync(settings().REGISTRY_CA_FILE, 'utf8'), ca);
  const data = registryEngine().docker(['exec', 'prod-database', 'cat', '/var/lib/postgresql/data/PG_VERSION']);
  assert.is(data.trim(), 'the rows that must survive');
  assert.match(
    onProduction(`docker pull --quiet 127.0.0.1:${ports.registry}/nginx-webhook:latest`),
    `127.0.0.1:${ports.registry}/nginx-webhook:latest`,
  );
});

test('npm run sandbox:down stops both hosts and removes their folders, the CA and the login', async () => {
  const pidFiles = [
    'docker/engine/dockerd.pid',
    'docker/registry-host/dockerd.pid',
    'ssh/sshd.pid',
    'registry-host/ssh/sshd.pid',
  ];
  const pids = pidFiles.map((file) => Number(readFileSync(join(env.SANDBOX_SHARED_DIR, file), 'utf8')));
  const down = await npmRun(repo, ['sandbox:down'], env);
  assert.is(down.code, 0, howItEnded(down));
  // A zombie still has its /proc entry: gone means no entry, or state Z.
  const running = (pid: number) =>
    existsSync(`/proc/${pid}/stat`) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  const alive = pids.filter(running);
  assert.equal(alive, [], 'every engine and sshd of the sandbox is gone');
  assert.not.ok(existsSync(env.SANDBOX_SHARED_DIR) || existsSync(env.SANDBOX_DIR), 'both folders removed');
  assert.not.ok(existsSync(certsDir()), 'the CA is no longer in certs.d');
  const logins = existsSync(join(process.env.HOME!, '.docker', 'config.json'))
    ? readFileSync(join(process.env.HOME!, '.docker', 'config.json'), 'utf8')
    : '';
  assert.not.match(logins, `127.0.0.1:${ports.registry}`);
});

test.run();
