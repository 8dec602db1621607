/**
 * A real Docker engine for the tests: Debian's dockerd with its own data root, exec root and
 * socket, no iptables and no bridge (containers use --network host or none). One engine serves
 * every test file and is left running for the next run: starting one takes seconds, and the
 * tests clean up what they create by label.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './ports.ts';

export const DOCKER_STATE_DIR = process.env.CLEANUP_TEST_DOCKER_DIR ?? '/tmp/cleanup-test-docker';
export const DOCKER_SOCKET = join(DOCKER_STATE_DIR, 'docker.sock');
export const DOCKER_HOST = `unix://${DOCKER_SOCKET}`;

export function docker(args: string[], input?: string): string {
  return execFileSync('docker', ['-H', DOCKER_HOST, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

function answers(): boolean {
  try {
    docker(['version', '--format', '{{.Server.Version}}']);
    return true;
  } catch {
    return false;
  }
}

/** Starts the test engine unless it already answers; returns its DOCKER_HOST. */
export async function ensureDockerd(): Promise<string> {
  if (existsSync(DOCKER_SOCKET) && answers()) return DOCKER_HOST;
  mkdirSync(DOCKER_STATE_DIR, { recursive: true });
  try {
    execFileSync('getent', ['group', 'docker'], { stdio: 'ignore' });
  } catch {
    execFileSync('groupadd', ['docker']);
  }
  const log = openSync(join(DOCKER_STATE_DIR, 'dockerd.log'), 'a');
  const child = spawn(
    'dockerd',
    [
      '--host', DOCKER_HOST,
      '--data-root', join(DOCKER_STATE_DIR, 'data'),
      '--exec-root', join(DOCKER_STATE_DIR, 'exec'),
      '--pidfile', join(DOCKER_STATE_DIR, 'dockerd.pid'),
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--group', 'docker',
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  await waitFor('dockerd', async () => answers(), 60_000).catch((error) => {
    const tail = readFileSync(join(DOCKER_STATE_DIR, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${(error as Error).message}\n${tail}`);
  });
  return DOCKER_HOST;
}

/**
 * A tiny base image made without any registry: a root file system holding busybox-static,
 * imported with `docker import`. Its httpd serves HTTP (CGI included) for health checks.
 */
export function ensureBaseImage(name = 'cleanup-test/busybox:base'): string {
  try {
    docker(['image', 'inspect', name]);
    return name;
  } catch {
    // not there yet
  }
  const script = [
    'set -e',
    'root=$(mktemp -d)',
    'mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"',
    'cp /bin/busybox "$root/bin/busybox"',
    'for tool in sh ls cat echo sleep httpd wget mkdir rm touch dd env printf; do ln -s busybox "$root/bin/$tool"; done',
    'echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"',
    `tar -C "$root" -c . | docker -H ${DOCKER_HOST} import --change 'CMD ["/bin/sh"]' - ${name}`,
    'rm -rf "$root"',
  ].join('\n');
  execFileSync('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  return name;
}
