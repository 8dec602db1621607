/**
 * The sandbox's second host, the registry host as production runs it: a Docker engine of its own,
 * reached over ssh as the same non-root docker-group user `aisha`, running the registry as a
 * container (TLS from the sandbox's private CA, htpasswd auth, storage in a named volume) and the
 * database container beside it with its own volume. The production host's engine pushes and pulls
 * there as production's would: it trusts the CA (certs.d) and has the registry's credentials.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDockerd, type TestEngine } from './fixtures/dockerd.ts';
import { startRegistryHost, type RegistryHost } from './fixtures/registry-host.ts';
import type { Pusher } from './fixtures/registry-seed.ts';
import { startSshd } from './fixtures/sshd.ts';
import { sandbox } from './config.ts';
import { alive, registryHostProcesses } from './processes.ts';

/** The registry as Docker names it in image references. */
export const registryAddress = `127.0.0.1:${sandbox.registryPort}`;
/** Where Docker engines on this machine look for the CA of a registry (one folder per host:port). */
const certsDir = `/etc/docker/certs.d/${registryAddress}`;
/** The ssh user's docker client settings on the production host: the registry's credentials. */
export const clientConfigDir = join(sandbox.shared, 'ssh', 'docker-config');

export interface SandboxRegistryHost {
  engine: TestEngine;
  registry: RegistryHost;
  /** aisha@127.0.0.1:PORT */
  ssh: string;
  knownHostsFile: string;
  /** For the fixtures that push straight through the registry API. */
  pusher: Pusher;
}

/**
 * A sandbox seeded before it had a registry host kept its images in a registry process of its own
 * (which may still hold the port): brought up now, the registry host would be empty while the seed
 * mark says seeded. Stops with exit 2 and the way out, before anything starts.
 */
export function refuseSandboxWithoutRegistryHost(): void {
  if (!existsSync(join(sandbox.dir, 'seeded')) || existsSync(join(sandbox.dir, 'registry-host'))) return;
  process.stderr.write(
    `sandbox: ${sandbox.dir} was made before the sandbox had a registry host (its registry ran as a process of ` +
      'its own): run npm run sandbox:down, then npm run sandbox (or npm run demo) to make it again. Nothing was changed.\n',
  );
  process.exit(2);
}

/**
 * Brings the registry host up (or finds it up): its engine, its containers (started again after
 * `npm run sandbox:stop`), and its sshd, which takes the production host's client key so that one
 * SSH_IDENTITY_FILE reaches both hosts.
 */
export async function ensureRegistryHost(clientKey: string): Promise<SandboxRegistryHost> {
  const engine = await ensureDockerd('registry-host', join(sandbox.shared, 'docker'));
  const registry = await startRegistryHost(engine, join(sandbox.dir, 'registry-host'), {
    prefix: 'prod',
    port: sandbox.registryPort,
  });
  if (!alive(registryHostProcesses.sshdPidFile))
    await startSshd({
      user: sandbox.user,
      groups: ['docker'],
      env: { DOCKER_HOST: engine.host },
      port: sandbox.registrySshPort,
      dir: registryHostProcesses.sshDir,
      clientKey,
      detached: true,
    });
  const basic = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
  return {
    engine,
    registry,
    ssh: `${sandbox.user}@127.0.0.1:${sandbox.registrySshPort}`,
    knownHostsFile: join(registryHostProcesses.sshDir, 'known_hosts'),
    pusher: { url: registry.url, authorization: `Basic ${basic}`, ca: readFileSync(registry.caFile, 'utf8') },
  };
}

/**
 * What a production host needs to use the registry: its engine trusts the private CA (certs.d is
 * read by every engine on the machine, per registry host:port), and the docker clients that push
 * and pull have the credentials: root's, which builds and pushes, by `docker login`; the ssh
 * user's, whose compose pulls, in a config folder of its own (DOCKER_CONFIG in its sessions).
 * On loopback Docker would skip verification anyway (127.0.0.0/8 is an insecure registry by
 * default); the CA is installed as production must install it.
 */
export function trustRegistry(production: TestEngine, host: SandboxRegistryHost): void {
  mkdirSync(certsDir, { recursive: true });
  writeFileSync(join(certsDir, 'ca.crt'), readFileSync(host.registry.caFile));
  const { username, password } = host.registry;
  production.docker(['login', '--username', username, '--password-stdin', registryAddress], password);
  mkdirSync(clientConfigDir, { recursive: true, mode: 0o700 });
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  writeFileSync(join(clientConfigDir, 'config.json'), JSON.stringify({ auths: { [registryAddress]: { auth } } }), {
    mode: 0o600,
  });
  const uid = Number(execFileSync('id', ['-u', sandbox.user], { encoding: 'utf8' }));
  for (const path of [clientConfigDir, join(clientConfigDir, 'config.json')]) chownSync(path, uid, 0);
  chmodSync(clientConfigDir, 0o700);
}

/** The settings every task reads about the registry host (lines of the sandbox's .env). */
export function registryHostSettings(host: SandboxRegistryHost): string[] {
  const { registry } = host;
  return [
    `REGISTRY_URL=${registry.url}`,
    `REGISTRY_USERNAME=${registry.username}`,
    `REGISTRY_PASSWORD=${registry.password}`,
    `REGISTRY_CA_FILE=${registry.caFile}`,
    `REGISTRY_HOST=${host.ssh}`,
    `REGISTRY_GC_STOP_COMMAND=${registry.gc.stop}`,
    `REGISTRY_GC_COMMAND=${registry.gc.collect}`,
    `REGISTRY_GC_START_COMMAND=${registry.gc.start}`,
    // Docker's data root is not aisha's to read: the volume is measured as docker counts it.
    `REGISTRY_STORAGE_VOLUME=${registry.volume}`,
    `REGISTRY_STATE_DIR=${join(sandbox.dir, 'registry-state')}`,
  ];
}

/** One known_hosts file for both hosts (SSH_KNOWN_HOSTS_FILE is one file). */
export function writeKnownHosts(path: string, files: string[]): void {
  writeFileSync(path, files.map((file) => readFileSync(file, 'utf8')).join(''));
}

/** Undoes what trustRegistry did outside the sandbox's folders (for `npm run sandbox:down`). */
export function forgetRegistry(): void {
  rmSync(certsDir, { recursive: true, force: true });
  if (!existsSync(join(process.env.HOME ?? '/root', '.docker', 'config.json'))) return;
  try {
    execFileSync('docker', ['logout', registryAddress], { stdio: 'ignore' });
  } catch {
    // not logged in
  }
}
