/**
 * `npm run sandbox`: brings up, on loopback, the real components the clean-up works on: two hosts,
 * each a Docker engine with an sshd (ports 2222 and 2223) whose user `aisha` reaches it: the
 * production host, where the backend is deployed, and the registry host, where the registry runs
 * in a container behind TLS (port 5000) beside the database (sandbox/registry-host.ts); and a
 * backend repository. Then seeds the mess the plan describes, and writes .sandbox/.env for every
 * task. What aisha must reach is kept in sandbox.shared (config.ts). Safe to run twice: what runs
 * is reused, a seeded part is kept, and after `npm run sandbox:stop` (which the demo ends with) the
 * same sandbox comes back.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createSampleBackend, sampleComposeEnv, sampleHealthUrls } from './fixtures/backend-sample.ts';
import { ensureBaseImage, ensureDockerd } from './fixtures/dockerd.ts';
import { ensureNginxImage } from './fixtures/nginx-image.ts';
import { pushImage } from './fixtures/registry-seed.ts';
import { seedDockerHost } from './fixtures/server-seed.ts';
import { startSshd } from './fixtures/sshd.ts';
import { sandbox } from './config.ts';
import { alive, runningAtStop, say } from './processes.ts';
import {
  clientConfigDir,
  ensureRegistryHost,
  registryAddress,
  registryHostSettings,
  refuseSandboxWithoutRegistryHost,
  trustRegistry,
  writeKnownHosts,
} from './registry-host.ts';

/** Waits until the URL answers 2xx, or the time is up (then says so: it may not have been deployed). */
async function answering(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  say(`${url} does not answer; the next deploy will say so`);
}

refuseSandboxWithoutRegistryHost();
mkdirSync(sandbox.dir, { recursive: true });
// What user aisha reaches lives here (see config.ts); every folder on the way must be enterable.
mkdirSync(sandbox.shared, { recursive: true });
chmodSync(sandbox.shared, 0o755);
const registryHost = registryAddress;
// The front's TLS port is the one after its HTTP port; the API's is used on the host's network only.
const samplePorts = { api: sandbox.webhookPort, front: sandbox.frontPort, tls: sandbox.frontPort + 1 };

// The Docker engine (the "production server").
// With networks (iptables on): the sample runs on a compose network, as production does.
const engine = await ensureDockerd('engine', join(sandbox.shared, 'docker'), { networks: true });
ensureBaseImage(engine);
say(`Docker engine at ${engine.host}`);
// Stopped by the demo or `npm run sandbox:stop`: what ran then runs again, as a restart policy would have it.
if (existsSync(runningAtStop)) {
  const ids = readFileSync(runningAtStop, 'utf8').split('\n').filter(Boolean);
  if (ids.length) engine.docker(['start', ...ids]);
  rmSync(runningAtStop);
  say(`started again the ${ids.length} container${ids.length === 1 ? '' : 's'} that ran when the sandbox was stopped`);
  // A deployed API answers again before any task looks at it, as it would on a host that was up;
  // nothing to wait for before the first deploy (no release recorded in the deploy folder).
  const deployed = existsSync(join(sandbox.shared, 'srv', 'webhook', 'deploy-state.json'));
  for (const url of ids.length && deployed ? sampleHealthUrls(samplePorts) : []) await answering(url, 60_000);
}

// The ssh server: user aisha, in the docker group, reaching the sandbox engine.
const sshDir = join(sandbox.shared, 'ssh');
if (!alive(join(sshDir, 'sshd.pid'))) {
  await startSshd({
    user: sandbox.user,
    groups: ['docker'],
    // DOCKER_CONFIG: the registry's credentials, for compose's pulls (registry-host.ts).
    env: { DOCKER_HOST: engine.host, DOCKER_CONFIG: clientConfigDir },
    port: sandbox.sshPort,
    dir: sshDir,
    detached: true,
  });
}
say(
  `production host: Docker engine ${engine.host}, ssh ${sandbox.user}@127.0.0.1:${sandbox.sshPort}; ` +
    'runs the webhook project the deploy puts there (API and nginx), a database with its volume, ' +
    'and what clean:server tidies (old containers and images, orphaned volumes, build cache)',
);

const registry = await registryHostUp(join(sshDir, 'client_ed25519'));

// The mess, seeded once.
const seeded = join(sandbox.dir, 'seeded');
if (!existsSync(seeded)) {
  say('seeding the backend repository, the registry and the server');
  // The front's TLS port is the one after the front's HTTP port.
  createSampleBackend(join(sandbox.dir, 'backend'), samplePorts);
  const to = registry.pusher;
  const blob = () => randomBytes(1_500_000);
  for (const [i, v] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0'].entries())
    await pushImage(to, 'webhook-api', [v], {
      layers: ['python base '.repeat(200_000), blob()],
      created: `2026-0${i + 1}-01T00:00:00Z`,
    });
  await pushImage(to, 'webhook-api', ['final', 'test-final-check'], {
    layers: ['python base '.repeat(200_000), blob()],
    created: '2026-08-01T00:00:00Z',
  });
  // Every image is dated weeks back: the age floor (REGISTRY_MIN_AGE_HOURS, 24 h) keeps what was
  // pushed within it, and the demo is there to show the clean-up.
  for (const tag of ['test-42', 'temp-hotfix', 'debug-trace'])
    await pushImage(to, 'webhook-api', [tag], {
      layers: ['python base '.repeat(200_000), blob()],
      created: '2026-09-01T00:00:00Z',
    });
  for (const [i, v] of ['1.0', '1.1', '1.2', '1.3', '1.4'].entries())
    await pushImage(to, 'nginx-webhook', [v], {
      layers: ['nginx base '.repeat(100_000), blob()],
      created: `2026-0${i + 1}-15T00:00:00Z`,
    });
  await pushImage(to, 'nginx-webhook', ['debug'], {
    layers: ['nginx base '.repeat(100_000), blob()],
    created: '2026-09-01T00:00:00Z',
  });
  for (let i = 1; i <= 5; i++)
    await pushImage(to, 'transcription-worker', [`build-${i}`], {
      layers: [blob()],
      created: `2026-0${i}-20T00:00:00Z`,
    });
  await pushImage(to, 'gallery-service', ['0.9.0', 'temp'], { layers: [blob()], created: '2026-09-01T00:00:00Z' });
  // The front the deploy runs: a real nginx built from Debian's binary, as nginx-webhook:latest.
  engine.docker(['tag', ensureNginxImage(engine), `${registryHost}/nginx-webhook:latest`]);
  engine.docker(['push', '--quiet', `${registryHost}/nginx-webhook:latest`]);
  seedDockerHost(engine, sandbox.dir);
  writeFileSync(seeded, new Date().toISOString() + '\n');
}

// Where the deploy puts the compose project on the "server".
const deployDir = join(sandbox.shared, 'srv', 'webhook');
mkdirSync(deployDir, { recursive: true });
chownSync(deployDir, Number(execFileSync('id', ['-u', sandbox.user], { encoding: 'utf8' })), 0);
const host = `${sandbox.user}@127.0.0.1:${sandbox.sshPort}`;
const knownHosts = join(sandbox.shared, 'known_hosts');
writeKnownHosts(knownHosts, [join(sshDir, 'known_hosts'), registry.knownHostsFile]);
writeFileSync(
  join(sandbox.dir, '.env'),
  [
    '# Written by npm run sandbox: every setting, pointing at the loopback sandbox.',
    `REPORTS_DIR=${join(sandbox.dir, 'reports')}`,
    `SSH_IDENTITY_FILE=${join(sshDir, 'client_ed25519')}`,
    `SSH_KNOWN_HOSTS_FILE=${knownHosts}`,
    `BACKEND_DIR=${join(sandbox.dir, 'backend')}`,
    ...registryHostSettings(registry),
    // Both hosts: clean:server keeps the registry, the database and their volumes, and says why.
    `SERVER_HOSTS=${host},${registry.ssh}`,
    'SERVER_COMPOSE_PROJECT=webhook',
    'SERVER_PROTECT_LABELS=role=database',
    'SERVER_GRACE_HOURS=0',
    'SERVER_BUILD_CACHE_MAX_AGE_HOURS=0',
    `DEPLOY_HOST=${host}`,
    `DEPLOY_DIR=${deployDir}`,
    `DEPLOY_IMAGE=${registryHost}/webhook-api`,
    `DEPLOY_BUILD_DOCKER_HOST=${engine.host}`,
    `DEPLOY_COMPOSE_ENV=${sampleComposeEnv(samplePorts, `${registryHost}/nginx-webhook:latest`)}`,
    `DEPLOY_HEALTH_URLS=${sampleHealthUrls(samplePorts).join(',')}`,
    'DEPLOY_HEALTH_TIMEOUT_SECONDS=30',
    `DEPLOY_PROBE_URL=http://127.0.0.1:${sandbox.frontPort}/health`,
    'VERIFY_PROBES=10',
    'VERIFY_WINDOW_SECONDS=3',
    '',
  ].join('\n'),
);
say(`settings in ${join(sandbox.dir, '.env')}; run any task with --env-file ${join(sandbox.dir, '.env')}`);

/**
 * The registry host (sandbox/registry-host.ts), up, and the production host able to push to it
 * and pull from it.
 */
async function registryHostUp(clientKey: string) {
  const up = await ensureRegistryHost(clientKey);
  trustRegistry(engine, up);
  say(
    `registry host: Docker engine ${up.engine.host}, ssh ${up.ssh}; runs the registry in container ` +
      `${up.registry.container} (${up.registry.url}: TLS from the sandbox's CA ${up.registry.caFile}, ` +
      `htpasswd auth, storage in volume ${up.registry.volume}) and the database in container ` +
      `${up.registry.database.container} (volume ${up.registry.database.volume}), which every clean-up keeps`,
  );
  return up;
}
