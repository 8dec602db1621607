/**
 * The registry host as production runs it (sandbox/fixtures/registry-host.ts): the registry in a
 * container with its storage in a named volume, TLS from a private CA, bcrypt htpasswd auth, and a
 * database container beside it; reached over ssh as a non-root member of the docker group, who
 * cannot read Docker's data root. clean:registry deletes, collects garbage there through docker
 * (stop the container, the collector in a one-off container on the volume, start it again), and
 * every kept tag still pulls; the storage it cannot read is a warning, not a skipped collection.
 * clean:server on that host keeps the registry, the database and their volumes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureDockerd, type TestEngine } from '../sandbox/fixtures/dockerd.ts';
import { startRegistryHost, type RegistryHost } from '../sandbox/fixtures/registry-host.ts';
import { pushImage, resolves, tagsOf, type Pusher } from '../sandbox/fixtures/registry-seed.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';
import { runTask, howItEnded } from './support/run-task.ts';

let dir: string;
let host: TestEngine;
let sshd: Sshd;
let registry: RegistryHost;
let to: Pusher;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-registry-host-'));
  host = await ensureDockerd('registry-host');
  sshd = await startSshd({ user: 'cleanup-registry', groups: ['docker'], env: { DOCKER_HOST: host.host } });
  registry = await startRegistryHost(host, join(dir, 'registry'));
  const basic = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
  to = { url: registry.url, authorization: `Basic ${basic}`, ca: readFileSync(registry.caFile, 'utf8') };
  const base = 'a shared base layer '.repeat(10_000);
  for (const [i, version] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].entries())
    await pushImage(to, 'webhook-api', [version], {
      layers: [base, `webhook ${version} `.repeat(4000)],
      created: `2026-0${i + 1}-01T00:00:00Z`,
    });
  await pushImage(to, 'webhook-api', ['latest', 'test-7'], {
    layers: [base, 'latest'],
    created: '2026-06-01T00:00:00Z',
  });
  await pushImage(to, 'webhook-api', ['debug-8'], {
    layers: [base, 'a debug build '.repeat(4000)],
    created: '2026-06-02T00:00:00Z',
  });
});

test.after(async () => {
  await sshd?.stop();
  for (const name of [registry?.container, registry?.database.container].filter(Boolean))
    host.docker(['rm', '--force', name!]);
  host?.docker(['volume', 'rm', registry.volume, registry.database.volume]);
  rmSync(dir, { recursive: true, force: true });
});

const target = () => `${sshd.target.user}@127.0.0.1:${sshd.target.port}`;
const ssh = () => ({
  SSH_IDENTITY_FILE: sshd.target.identityFile!,
  SSH_KNOWN_HOSTS_FILE: sshd.target.knownHostsFile!,
  REPORTS_DIR: join(dir, 'reports'),
});
const registryEnv = () => ({
  ...ssh(),
  REGISTRY_URL: registry.url,
  REGISTRY_USERNAME: registry.username,
  REGISTRY_PASSWORD: registry.password,
  REGISTRY_CA_FILE: registry.caFile,
  REGISTRY_HOST: target(),
  REGISTRY_GC_STOP_COMMAND: registry.gc.stop,
  REGISTRY_GC_COMMAND: registry.gc.collect,
  REGISTRY_GC_START_COMMAND: registry.gc.start,
  // Where the volume's files are: under Docker's data root, which the ssh user may not read.
  REGISTRY_STORAGE_PATH: host.docker(['volume', 'inspect', '--format', '{{.Mountpoint}}', registry.volume]).trim(),
  REGISTRY_STATE_DIR: join(dir, 'state'),
  SERVER_HOSTS: target(),
});
const running = (name: string) => host.docker(['inspect', '--format', '{{.State.Running}}', name]).trim() === 'true';

test('clean:registry deletes, collects garbage through docker on the registry host, and every kept tag pulls', async () => {
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], registryEnv());
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(await tagsOf(to, 'webhook-api'), ['1.1.0', '1.2.0', '1.3.0', 'latest']);
  assert.ok(await resolves(to, 'webhook-api', 'latest'), 'latest kept although it shared its image with test-7');
  assert.ok(run.report.applied.some((c: { action: string }) => c.action === 'collect garbage'));
  const figures = JSON.stringify(run.report.figures);
  assert.match(figures, /registry downtime/);
  assert.match(figures, /storage freed.*not measured \(warning: .*could not measure the registry storage/);
  assert.ok(
    run.report.checks.every((c: { passed: boolean }) => c.passed),
    'every kept tag still pulls',
  );
  assert.ok(running(registry.container), 'the registry container serves again');
  assert.ok(running(registry.database.container), 'the database never stopped');

  const again = await runTask('tasks/registry.ts', ['--yes', '--json'], registryEnv());
  assert.is(again.code, 0, howItEnded(again));
  assert.is(again.report.summary.changes, 0, 'a second run changes nothing');
});

test('a storage volume is measured as docker counts it, without reading the data root', async () => {
  await pushImage(to, 'webhook-api', ['debug-9'], {
    layers: ['a debug layer of its own '.repeat(40_000)],
    created: '2026-06-03T00:00:00Z',
  });
  const env = { ...registryEnv(), REGISTRY_STORAGE_PATH: '', REGISTRY_STORAGE_VOLUME: registry.volume };
  const run = await runTask('tasks/registry.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, howItEnded(run));
  const figure = (label: string) =>
    run.report.figures.find((f: { label: string }) => f.label === label)?.value ?? `(no ${label})`;
  const bytes = (label: string) => Number(/\((\d+) bytes\)/.exec(figure(label))?.[1]);
  assert.ok(bytes('storage before GC') - bytes('storage after GC') > 500_000, figure('storage freed'));
  assert.match(figure('storage freed'), /agrees within 15% or 64 kB/);
});

test('clean:server on the registry host keeps the registry, the database and their volumes', async () => {
  const env = { ...ssh(), SERVER_HOSTS: target(), SERVER_COMPOSE_PROJECT: 'webhook' };
  const run = await runTask('tasks/server.ts', ['--yes', '--json'], env);
  assert.is(run.code, 0, howItEnded(run));
  const kept = (name: string) =>
    run.report.kept.find((k: { target: string }) => k.target.includes(name))?.reason ?? `(${name} not in kept)`;
  assert.match(kept(`container ${registry.container}`), `running, not ours: kept`);
  assert.match(kept(`container ${registry.container}`), `holds data in volume ${registry.volume}`);
  assert.match(kept(`container ${registry.database.container}`), `holds data in volume ${registry.database.volume}`);
  assert.match(kept('cleanup-test/registry:local'), `used by container ${registry.container}`);
  const volumes = host.docker(['volume', 'ls', '--format', '{{.Name}}']).split('\n');
  assert.ok(volumes.includes(registry.volume) && volumes.includes(registry.database.volume), 'both volumes stay');
  assert.ok(running(registry.container) && running(registry.database.container));
  const data = host.docker(['exec', registry.database.container, 'cat', '/var/lib/postgresql/data/PG_VERSION']);
  assert.is(data.trim(), 'the rows that must survive');
  assert.ok(await resolves(to, 'webhook-api', '1.3.0'), 'the registry still serves');
});

test.run();
