/**
 * A real OpenSSH server on a loopback port, with its own host key, a generated client key and a
 * known_hosts file, for one test user. Needs root (it creates the user and runs sshd), as CI has.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshTarget } from '../../lib/runner.ts';
import { freePort, waitFor } from './ports.ts';

export interface SshdOptions {
  /** The login user; created when missing, with no password (login by key only). */
  user?: string;
  /** Extra groups of the user, e.g. ['docker']. */
  groups?: string[];
  /** Environment given to every session (sshd SetEnv), e.g. DOCKER_HOST. */
  env?: Record<string, string>;
  /** Reuse this client private key (its .pub beside it) instead of generating one. */
  clientKey?: string;
  /** Fixed port and state folder (the sandbox); by default a free port and a temporary folder. */
  port?: number;
  dir?: string;
  /** Leave sshd running after this process exits (the sandbox); stop it by its pid file. */
  detached?: boolean;
}

export interface Sshd {
  target: SshTarget;
  dir: string;
  /** A known_hosts file without this server's key, for the unknown-host-key case. */
  emptyKnownHostsFile: string;
  stop(): Promise<void>;
}

export function ensureUser(user: string, groups: string[] = []): void {
  try {
    execFileSync('id', [user], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', user]);
  }
  // A locked account ('!' in the password field) is refused even for key logins: '*' is not locked.
  execFileSync('usermod', ['-p', '*', user]);
  for (const group of groups) {
    try {
      execFileSync('getent', ['group', group], { stdio: 'ignore' });
    } catch {
      execFileSync('groupadd', [group]);
    }
    execFileSync('usermod', ['-aG', group, user]);
  }
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const user = options.user ?? 'cleanup-ops';
  ensureUser(user, options.groups ?? []);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cleanup-sshd-'));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  mkdirSync('/run/sshd', { recursive: true });
  const port = options.port ?? (await freePort());
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = options.clientKey ?? join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  if (!options.clientKey) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`));
  chmodSync(authorizedKeys, 0o644);
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const emptyKnownHostsFile = join(dir, 'known_hosts.empty');
  writeFileSync(emptyKnownHostsFile, '');
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'UsePAM no',
      `AllowUsers ${user}`,
      'MaxSessions 50',
      'MaxStartups 50:30:100',
      'LogLevel ERROR',
      ...(options.env ? [`SetEnv ${Object.entries(options.env).map(([k, v]) => `${k}=${v}`).join(' ')}`] : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', options.detached ? 'ignore' : 'pipe'], detached: options.detached });
  let log = '';
  child.stderr?.on('data', (chunk) => (log += chunk));
  if (options.detached) child.unref();
  await waitFor(`sshd on port ${port}`, () =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    }),
  ).catch((error) => {
    child.kill();
    throw new Error(`${(error as Error).message}\n${log}`);
  });
  return {
    target: { user, host: '127.0.0.1', port, identityFile: clientKey, knownHostsFile },
    dir,
    emptyKnownHostsFile,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
