/**
 * The compose model comes from compose itself (docker-compose 1.29 here), tried on compose files of
 * public projects (test/fixtures/compose/, each names its source): x- anchors merged with `<<`,
 * variables with and without defaults, `extends: file:`, env_file, and host paths (/proc, /sys,
 * /var/lib/docker, /etc/localtime, data folders from variables), which are the host's and never shipped.
 * @real-parts: it runs docker-compose and git (about 20 s), so a quick run leaves it out.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readBackend } from '../lib/deploy/backend.ts';
import type { DeploySettings } from '../lib/deploy/settings.ts';

const fixtures = join(import.meta.dirname, 'fixtures/compose');
const scratch = mkdtempSync(join(tmpdir(), 'cleanup-compose-real-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

/** A git repository holding the fixture as docker-compose.yml, the files it needs, and which of them git ignores. */
function project(name: string, fixture: string, files: Record<string, string>, ignored: string[] = []): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(fixtures, fixture), join(dir, 'docker-compose.yml'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  writeFileSync(join(dir, '.gitignore'), ignored.map((p) => `${p}\n`).join(''));
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'fixture');
  return dir;
}

const settings = (dir: string, env: string[] = []) =>
  ({
    BACKEND_DIR: dir,
    DEPLOY_COMPOSE_FILE: 'docker-compose.yml',
    DEPLOY_IMAGE: '127.0.0.1:5000/app',
    DEPLOY_COMPOSE_ENV: env,
    DEPLOY_BUILD_CONTEXT: '.',
    DEPLOY_DOCKERFILE: 'Dockerfile',
  }) as unknown as DeploySettings;

const shipped = (b: Awaited<ReturnType<typeof readBackend>>) =>
  b.files.map((f) => `${f.path}${f.secret ? ' (secret)' : ''} <- ${f.readers!.join(',')}`);

test("dockprom (monitoring): its config folders are shipped; /proc, /sys, /, /var/run and Docker's data root are the host's", async () => {
  const dir = project('dockprom', 'dockprom.yml', {
    'prometheus/prometheus.yml': 'global: {}\n',
    'alertmanager/config.yml': 'route: {}\n',
    'grafana/provisioning/datasources/d.yml': 'datasources: []\n',
    'caddy/Caddyfile': ':3000\n',
  });
  const backend = await readBackend(settings(dir));
  assert.equal(shipped(backend), [
    'alertmanager/config.yml <- alertmanager',
    'caddy/Caddyfile <- caddy',
    'grafana/provisioning/datasources/d.yml <- grafana',
    'prometheus/prometheus.yml <- prometheus',
  ]);
  // In compose's order (it sorts the services).
  assert.equal(backend.hostPaths, [
    { path: '/', services: ['cadvisor', 'nodeexporter'] },
    { path: '/var/run', services: ['cadvisor'] },
    { path: '/sys', services: ['cadvisor', 'nodeexporter'] },
    { path: '/var/lib/docker', services: ['cadvisor'] },
    { path: '/proc', services: ['nodeexporter'] },
  ]);
  assert.equal(backend.services, [
    'alertmanager',
    'caddy',
    'cadvisor',
    'grafana',
    'nodeexporter',
    'prometheus',
    'pushgateway',
  ]);
});

test('sentry self-hosted: services merged from x- anchors with << ship what the anchor mounts; an ignored folder ships as a secret; a value compose rejects is refused in its words', async () => {
  const dir = project(
    'sentry',
    'sentry-self-hosted.yml',
    {
      'sentry/Dockerfile': 'FROM scratch\n',
      'sentry/sentry.conf.py': '# conf\n',
      'geoip/GeoLite2-City.mmdb': 'not in git\n',
      'certificates/.gitignore': '*\n!.gitignore\n',
      'postgres/postgres-entrypoint.sh': '#!/bin/sh\n',
      'clickhouse/Dockerfile': 'FROM scratch\n',
      'clickhouse/config.xml': '<yandex/>\n',
      'nginx/nginx.conf': 'events {}\n',
    },
    ['geoip/*.mmdb'],
  );
  const env = ['HEALTHCHECK_INTERVAL=30s', 'HEALTHCHECK_TIMEOUT=1m30s', 'HEALTHCHECK_RETRIES=10', 'SENTRY_BIND=9000'];
  const backend = await readBackend(settings(dir, env));
  assert.equal(shipped(backend), [
    'certificates/.gitignore <- cron,web',
    'clickhouse/config.xml <- clickhouse',
    'clickhouse/Dockerfile <- clickhouse',
    'geoip/GeoLite2-City.mmdb (secret) <- cron,web',
    'nginx/nginx.conf <- nginx',
    'postgres/postgres-entrypoint.sh <- postgres',
    'sentry/Dockerfile <- cron,web',
    'sentry/sentry.conf.py <- cron,web',
  ]);
  assert.equal(backend.inputs.secrets, ['geoip/GeoLite2-City.mmdb'], 'hashed, not a git blob');
  assert.equal(backend.hostPaths, []);
  const rejected = await readBackend(
    settings(
      dir,
      env.filter((l) => !l.startsWith('HEALTHCHECK_RETRIES')),
    ),
  ).catch((e: Error) => e);
  assert.instance(rejected, Error);
  assert.match((rejected as Error).message, /^docker-compose refused .*docker-compose\.yml:\n.*retries/s);
});

test("immich: compose 1.29 rejects it in its own words; made v1-readable, its env_file .env (the file the deploy writes itself) is refused by name, and its variable data folders and /etc/localtime are the host's", async () => {
  const dir = project('immich', 'immich.yml', { '.env': 'DB_PASSWORD=postgres\n' }, ['.env']);
  const env = ['UPLOAD_LOCATION=/srv/immich/library', 'DB_DATA_LOCATION=/srv/immich/postgres', 'DB_PASSWORD=x'];
  const rejected = await readBackend(settings(dir, env)).catch((e: Error) => e);
  assert.match((rejected as Error).message, /^docker-compose refused .*'name' does not match any of the regexes/s);
  const file = join(dir, 'docker-compose.yml');
  // What a user of compose v1 does: no top-level name, ports written the v1 way.
  const v1 = readFileSync(file, 'utf8').replace('name: immich\n', '').replace('${EXPOSE_PORT-:2283:2283}', '2283:2283');
  writeFileSync(file, v1);
  const refused = await readBackend(settings(dir, env)).catch((e: Error) => e);
  assert.match(
    (refused as Error).message,
    /service immich-server, immich-machine-learning: reads \.env, the file the deploy writes on the host itself/,
  );
  writeFileSync(file, v1.replaceAll('- .env', '- .env.immich'));
  writeFileSync(join(dir, '.env.immich'), 'DB_PASSWORD=postgres\n');
  const backend = await readBackend(settings(dir, env));
  assert.equal(shipped(backend), ['.env.immich (secret) <- immich-machine-learning,immich-server']);
  assert.equal(backend.hostPaths, [
    { path: '/srv/immich/postgres', services: ['database'] },
    { path: '/srv/immich/library', services: ['immich-server'] },
    { path: '/etc/localtime', services: ['immich-server'] },
  ]);
});

test("docker docs extends: the file `extends: file:` names is shipped (the host's compose reads it again); an anonymous volume is nothing to ship", async () => {
  const dir = project('extends', 'docker-docs-extends.yml', { Dockerfile: 'FROM scratch\n' });
  copyFileSync(join(fixtures, 'common-services.yml'), join(dir, 'common-services.yml'));
  execFileSync('git', ['-C', dir, 'add', '-A']);
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'extends']);
  const backend = await readBackend(settings(dir));
  const common = backend.files.find((f) => f.path === 'common-services.yml');
  assert.ok(common, 'common-services.yml is shipped');
  assert.ok(common!.readers!.includes('web'), 'read by web, which extends it');
  assert.equal(backend.services, ['important_web', 'web']);
  assert.equal(backend.hostPaths, []);
  rmSync(join(dir, 'common-services.yml'));
  const missing = await readBackend(settings(dir)).catch((e: Error) => e);
  assert.match((missing as Error).message, /service web: extends file common-services\.yml does not exist/);
});

test.run();
