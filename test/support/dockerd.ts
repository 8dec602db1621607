/**
 * Real Docker engines for the tests: Debian's dockerd with its own data root, exec root and
 * socket, no iptables and no bridge (containers use --network host or none). Each suite names
 * its own engine, so a prune test never sees another suite's containers. An engine stays up for
 * the rest of the run (starting one takes seconds); scripts/test.ts stops them all when the run
 * ends, containers first, so that nothing is left running.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { waitFor } from './ports.ts';

const ROOT = process.env.CLEANUP_TEST_DOCKER_DIR ?? '/tmp/cleanup-test-docker';

export interface TestEngine {
  /** unix:///…/docker.sock, for DOCKER_HOST or `docker -H`. */
  host: string;
  socket: string;
  dir: string;
  /** Runs the docker CLI against this engine and returns its stdout. */
  docker(args: string[], input?: string): string;
}

function engine(name: string, root: string): TestEngine {
  const dir = join(root, name);
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  return {
    host,
    socket,
    dir,
    docker: (args, input) => execFileSync('docker', ['-H', host, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 }),
  };
}

function answers(test: TestEngine): boolean {
  try {
    test.docker(['version', '--format', '{{.Server.Version}}']);
    return true;
  } catch {
    return false;
  }
}

/** Starts the named test engine unless it already answers. */
export async function ensureDockerd(name = 'default', root = ROOT): Promise<TestEngine> {
  const test = engine(name, root);
  const DOCKER_STATE_DIR = test.dir;
  const DOCKER_HOST = test.host;
  if (existsSync(test.socket) && answers(test)) return test;
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
  await waitFor(`dockerd ${name}`, async () => answers(test), 60_000).catch((error) => {
    const tail = readFileSync(join(DOCKER_STATE_DIR, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${(error as Error).message}\n${tail}`);
  });
  return test;
}

/**
 * A tiny base image made without any registry: a root file system holding busybox-static,
 * imported with `docker import`. Its httpd serves HTTP (CGI included) for health checks.
 */
export function ensureBaseImage(test: TestEngine, name = 'cleanup-test/busybox:base'): string {
  return ensureImportedImage(test, name, [
    'set -e',
    'root=$(mktemp -d)',
    'mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"',
    'cp /bin/busybox "$root/bin/busybox"',
    'for tool in sh true false ls cat echo sleep httpd wget mkdir rm touch dd env printf grep kill ps id; do ln -s busybox "$root/bin/$tool"; done',
    'echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"',
    `tar -C "$root" -c . | docker -H ${test.host} import --change 'CMD ["/bin/sh"]' - ${name}`,
    'rm -rf "$root"',
  ]);
}

/** Builds an image with a shell script (which ends in `docker import`) unless the engine has it. */
export function ensureImportedImage(test: TestEngine, name: string, script: string[]): string {
  try {
    test.docker(['image', 'inspect', name]);
    return name;
  } catch {
    // not there yet
  }
  execFileSync('sh', ['-c', script.join('\n')], { stdio: ['ignore', 'pipe', 'pipe'] });
  return name;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pid` has exited; SIGKILL after `ms`. True when it exited by itself. */
export async function waitForExit(pid: number, ms = 60_000): Promise<boolean> {
  for (const start = Date.now(); Date.now() - start < ms; ) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  return false;
}

/**
 * Stops the engine whose state is in `dir` (the folder holding dockerd.pid and docker.sock):
 * its containers first, so that no containerd shim outlives it, then dockerd, waiting for it to
 * exit. Returns false when no engine was running there.
 */
export async function stopDockerd(dir: string): Promise<boolean> {
  const pidFile = join(dir, 'dockerd.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!pid || !alive(pid)) return false;
  const test = engine(basename(dir), dirname(dir));
  try {
    const running = test.docker(['ps', '-q']).split('\n').filter(Boolean);
    if (running.length) test.docker(['stop', '--time', '5', ...running]);
  } catch {
    // the engine does not answer: stopping it below stops its containers too
  }
  process.kill(pid, 'SIGTERM');
  await waitForExit(pid);
  // dockerd leaves its network namespace mounted under the exec root; unmounted, the folder can go.
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1]).filter((mount) => mount?.startsWith(`${dir}/`));
  for (const mount of mounts.sort().reverse()) execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
  return true;
}

/** Stops every engine under `root` (each suite's engine is a folder of it). */
export async function stopAllDockerd(root = ROOT): Promise<string[]> {
  if (!existsSync(root)) return [];
  const stopped: string[] = [];
  for (const name of readdirSync(root)) if (await stopDockerd(join(root, name))) stopped.push(name);
  return stopped;
}
