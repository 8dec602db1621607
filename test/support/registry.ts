/**
 * A real Docker Registry v2 (Debian's docker-registry, CNCF distribution 2.8) on a loopback
 * port, with filesystem storage in a temporary folder. Stoppable and restartable on the same
 * port and storage, as garbage collection needs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface RegistryOptions {
  /** storage.delete.enabled; true unless a test needs the 405 UNSUPPORTED answer. */
  deleteEnabled?: boolean;
  readOnly?: boolean;
  /** Extra YAML appended under `auth:` (htpasswd or token), already indented by two spaces. */
  authYaml?: string;
  /** Keep storage in this folder instead of a fresh temporary one. */
  dir?: string;
  port?: number;
}

export interface TestRegistry {
  url: string;
  port: number;
  dir: string;
  storage: string;
  config: string;
  /** `sh <dir>/control.sh stop|start`: what a GC setting would run on a real host. */
  stopCommand: string;
  startCommand: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Runs `docker-registry garbage-collect` on the storage (stop the registry first). */
  garbageCollect(): string;
  /** Removes the storage folder (after stop). */
  destroy(): Promise<void>;
}

export function registryConfig(options: { port: number; storage: string; deleteEnabled: boolean; readOnly: boolean; authYaml?: string }): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${options.storage}`,
    '  delete:',
    `    enabled: ${options.deleteEnabled}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    '    readonly:',
    `      enabled: ${options.readOnly}`,
    'http:',
    `  addr: 127.0.0.1:${options.port}`,
    ...(options.authYaml ? ['auth:', options.authYaml] : []),
    '',
  ].join('\n');
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cleanup-registry-'));
  const port = options.port ?? (await freePort());
  const storage = join(dir, 'storage');
  const config = join(dir, 'config.yml');
  writeFileSync(config, registryConfig({ port, storage, deleteEnabled: options.deleteEnabled ?? true, readOnly: options.readOnly ?? false, authYaml: options.authYaml }));
  const url = `http://127.0.0.1:${port}`;
  // Started detached through a control script, so that a task under test can stop and start it
  // with commands, as garbage collection on a real host does.
  const control = join(dir, 'control.sh');
  const pidFile = join(dir, 'registry.pid');
  const log = join(dir, 'registry.log');
  writeFileSync(
    control,
    [
      'set -e',
      'case "$1" in',
      `  start) setsid docker-registry serve ${config} >> ${log} 2>&1 < /dev/null & echo $! > ${pidFile} ;;`,
      `  stop) if [ -f ${pidFile} ]; then pid=$(cat ${pidFile}); kill "$pid" 2>/dev/null || true; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; rm -f ${pidFile}; fi ;;`,
      'esac',
      '',
    ].join('\n'),
  );
  const start = async () => {
    execFileSync('sh', [control, 'start']);
    await waitFor(`registry on ${url}`, async () => {
      const response = await fetch(`${url}/v2/`);
      return response.status === 200 || response.status === 401;
    }).catch((error) => {
      throw new Error(`${(error as Error).message}\n${readFileSync(log, 'utf8')}`);
    });
  };
  const stop = async () => {
    execFileSync('sh', [control, 'stop']);
  };
  await start();
  return {
    url,
    port,
    dir,
    storage,
    config,
    stopCommand: `sh ${control} stop`,
    startCommand: `sh ${control} start`,
    start,
    stop,
    garbageCollect: () => execFileSync('docker-registry', ['garbage-collect', config], { encoding: 'utf8' }),
    async destroy() {
      await stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
