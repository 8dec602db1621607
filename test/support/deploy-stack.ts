/**
 * The whole stack a deploy needs, on loopback: a registry (with a real nginx pushed as nginx-webhook:latest),
 * a Docker engine with networks reached through sshd as the "server", the sample backend (on a
 * compose network as production runs it, or on the host's network), a deploy folder the ssh user
 * owns, and the settings of every task pointing at them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSampleBackend,
  sampleComposeEnv,
  sampleHealthUrls,
  type SampleNetwork,
} from '../../sandbox/fixtures/backend-sample.ts';
import { ensureBaseImage, ensureDockerd, type TestEngine } from '../../sandbox/fixtures/dockerd.ts';
import { ensureNginxImage } from '../../sandbox/fixtures/nginx-image.ts';
import { freePort } from '../../sandbox/fixtures/ports.ts';
import { startRegistry, type TestRegistry } from '../../sandbox/fixtures/registry.ts';
import { startSshd, type Sshd } from '../../sandbox/fixtures/sshd.ts';

export interface DeployStack {
  dir: string;
  engine: TestEngine;
  registry: TestRegistry;
  sshd: Sshd;
  backend: string;
  deployDir: string;
  ports: { api: number; front: number; tls: number };
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface DeployStackOptions {
  /** The folder of the engine's state (default: the test run's, CLEANUP_TEST_DOCKER_DIR). */
  engineRoot?: string;
  /** Fixed loopback ports (the bench's own block) instead of free ones the kernel picks. */
  ports?: { registry: number; ssh: number; api: number; front: number; tls: number };
}

export async function startDeployStack(
  name: string,
  healthTimeoutSeconds: number,
  network: SampleNetwork = 'bridge',
  options: DeployStackOptions = {},
): Promise<DeployStack> {
  const dir = mkdtempSync(join(tmpdir(), `cleanup-${name}-`));
  chmodSync(dir, 0o755);
  const engine = await ensureDockerd(name, options.engineRoot, { networks: true });
  ensureBaseImage(engine);
  for (const id of engine.docker(['ps', '-aq']).split('\n').filter(Boolean)) engine.docker(['rm', '-f', id]);
  const registry = await startRegistry({ port: options.ports?.registry });
  const registryHost = `127.0.0.1:${registry.port}`;
  engine.docker(['tag', ensureNginxImage(engine), `${registryHost}/nginx-webhook:latest`]);
  engine.docker(['push', '--quiet', `${registryHost}/nginx-webhook:latest`]);
  const sshd = await startSshd({
    user: 'cleanup-ops',
    groups: ['docker'],
    env: { DOCKER_HOST: engine.host },
    port: options.ports?.ssh,
  });
  const ports = options.ports
    ? { api: options.ports.api, front: options.ports.front, tls: options.ports.tls }
    : { api: await freePort(), front: await freePort(), tls: await freePort() };
  const backend = createSampleBackend(join(dir, 'backend'), ports, network);
  const deployDir = join(dir, 'srv');
  mkdirSync(deployDir);
  chownSync(deployDir, Number(execFileSync('id', ['-u', 'cleanup-ops'], { encoding: 'utf8' })), 0);
  const host = `cleanup-ops@127.0.0.1:${sshd.target.port}`;
  const env = {
    BACKEND_DIR: backend,
    REGISTRY_URL: registry.url,
    REGISTRY_GC_STOP_COMMAND: registry.stopCommand,
    REGISTRY_GC_COMMAND: `docker-registry garbage-collect ${registry.config}`,
    REGISTRY_GC_START_COMMAND: registry.startCommand,
    REGISTRY_STORAGE_PATH: registry.storage,
    SERVER_HOSTS: host,
    SERVER_COMPOSE_PROJECT: 'webhook',
    // This engine is both the server and the build host: the server clean-up must leave the base
    // image the webhook API is built FROM (here it has no registry to come back from).
    SERVER_PROTECT_IMAGES: 'cleanup-test/busybox:base',
    DEPLOY_HOST: host,
    DEPLOY_DIR: deployDir,
    DEPLOY_IMAGE: `${registryHost}/webhook-api`,
    DEPLOY_BUILD_DOCKER_HOST: engine.host,
    DEPLOY_COMPOSE_ENV: sampleComposeEnv(ports, `${registryHost}/nginx-webhook:latest`),
    DEPLOY_HEALTH_URLS: sampleHealthUrls(ports, network).join(','),
    DEPLOY_HEALTH_TIMEOUT_SECONDS: String(healthTimeoutSeconds),
    // The sample's requests take milliseconds: a second of drain is plenty, and saves the suite time.
    DEPLOY_DRAIN_SECONDS: '1',
    DEPLOY_PROBE_URL: `http://127.0.0.1:${ports.front}/health`,
    VERIFY_PROBES: '5',
    VERIFY_WINDOW_SECONDS: '1',
    SSH_IDENTITY_FILE: sshd.target.identityFile!,
    SSH_KNOWN_HOSTS_FILE: sshd.target.knownHostsFile!,
    REPORTS_DIR: join(dir, 'reports'),
  };
  return {
    dir,
    engine,
    registry,
    sshd,
    backend,
    deployDir,
    ports,
    env,
    async stop() {
      try {
        execFileSync('docker-compose', ['-p', 'webhook', '-f', join(deployDir, 'docker-compose.yml'), 'down'], {
          env: { ...process.env, DOCKER_HOST: engine.host },
          stdio: 'ignore',
        });
      } catch {
        // nothing was deployed
      }
      await sshd.stop();
      await registry.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
