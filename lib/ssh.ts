/**
 * The system OpenSSH client as the runner uses it: where a host is (`[user@]host[:port]`), the
 * ssh argv for one remote line (pure, so tests assert it without any ssh), and ssh's own failures
 * turned into messages that say what to do. lib/runner.ts runs what this file builds.
 */
import { TaskError } from './errors.ts';

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
  identityFile?: string;
  knownHostsFile?: string;
  connectTimeoutSeconds?: number;
  /** Trust an unknown host key on first use (StrictHostKeyChecking=accept-new); a changed key is still refused. */
  acceptNewHostKeys?: boolean;
  /** Longest a remote command may run when the caller gives no timeout of its own. */
  commandTimeoutMs?: number;
}

/** Parses `[user@]host[:port]` (IPv6 as `[::1]:2222`). */
export function parseSshTarget(text: string): SshTarget | undefined {
  const match = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::([0-9]{1,5}))?$/.exec(text.trim());
  if (!match) return undefined;
  const host = match[2].replace(/^\[|\]$/g, '');
  const port = match[3] ? Number(match[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { ...(match[1] ? { user: match[1] } : {}), host, ...(port ? { port } : {}) };
}

export function describeTarget(target: SshTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.user ? `${target.user}@` : ''}${host}${target.port ? `:${target.port}` : ''}`;
}

/**
 * What ssh hands the remote login shell for one zx line. That shell may be dash, which does not
 * read zx's bash quoting (`$'it\'s'`), so the line travels base64-encoded: letters, digits,
 * `+`, `/` and `=` mean nothing to any shell. bash decodes it and runs it; the remote stdin
 * stays the command's. Remote hosts therefore need bash and base64, as zx needs bash here; a
 * missing base64 stops the line (`&&`) instead of handing bash an empty one, which would exit 0
 * having run nothing. --norc: bash run by sshd would source ~/.bashrc, whose output would corrupt
 * the command's.
 */
export function remoteShellLine(line: string): string {
  return `line="$(echo ${Buffer.from(line).toString('base64')} | base64 -d)" && exec bash --norc -c "$line"`;
}

/** The tool of the remote line a host lacks (exit 127 and its shell's "not found"), if that is why it failed. */
export function missingShellTool(exitCode: number, stderr: string): 'bash' | 'base64' | undefined {
  if (exitCode !== 127) return undefined;
  const match =
    /\b(bash|base64): (?:command )?not found|command not found: (bash|base64)|\b(bash|base64): No such file or directory/.exec(
      stderr,
    );
  return match ? ((match[1] ?? match[2] ?? match[3]) as 'bash' | 'base64') : undefined;
}

/**
 * The ssh argv for one remote line (or, without one, for the connection itself: `-O exit` goes
 * before the host). Host key checking stays on; every command reuses one connection per host.
 */
export function sshCommand(target: SshTarget, controlPath: string, remote: string | undefined): string[] {
  return [
    'ssh',
    '-o',
    'BatchMode=yes',
    '-o',
    `StrictHostKeyChecking=${target.acceptNewHostKeys ? 'accept-new' : 'yes'}`,
    ...(target.knownHostsFile ? ['-o', `UserKnownHostsFile=${target.knownHostsFile}`] : []),
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${controlPath}`,
    '-o',
    'ControlPersist=120',
    '-o',
    `ConnectTimeout=${target.connectTimeoutSeconds ?? 10}`,
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=3',
    ...(target.identityFile ? ['-i', target.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    ...(target.port ? ['-p', String(target.port)] : []),
    ...(target.user ? ['-l', target.user] : []),
    target.host,
    ...(remote === undefined ? [] : ['--', remoteShellLine(remote)]),
  ];
}

/** How known_hosts names the host: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(target: SshTarget): string {
  return target.port && target.port !== 22 ? `[${target.host}]:${target.port}` : target.host;
}

/** What ssh says when it never reached a login: the host, not the credentials, is the problem. */
const UNREACHABLE = new RegExp(
  [
    ...['Connection refused', 'Connection timed out', 'No route to host', 'Could not resolve hostname'],
    ...['Name or service not known', 'Network is unreachable', 'Connection closed', 'Connection reset'],
  ].join('|'),
  'i',
);

/** Turns ssh's own failures (exit 255) into messages that say what to do. */
export function sshFailure(target: SshTarget, stderr: string): TaskError {
  const name = describeTarget(target);
  const text = stderr.trim();
  if (
    /Host key verification failed|No (RSA|ED25519|ECDSA)? ?host key is known|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(
      text,
    )
  ) {
    const changed = /HAS CHANGED/.test(text);
    const knownHosts = target.knownHostsFile ?? '~/.ssh/known_hosts';
    return new TaskError(
      changed
        ? `${name}: the host key has CHANGED since it was trusted. Nothing was done. If the server ` +
            `was really reinstalled, remove the old key with\n    ssh-keygen -R ` +
            `'${knownHostsName(target)}' -f ${knownHosts}\nand trust the new one after checking its fingerprint.`
        : `${name}: the host key is not known, so the connection was refused. Nothing was done. ` +
            `After checking the fingerprint with the server's owner, trust it with \`ssh-keyscan ` +
            `${target.port ? `-p ${target.port} ` : ''}${target.host} >> ${knownHosts}\`.`,
    );
  }
  if (/Permission denied/i.test(text))
    return new TaskError(
      `${name}: ssh login was refused (${text.split('\n').pop()}). Check the user name and the identity file (SSH_IDENTITY_FILE). Nothing was done.`,
    );
  if (UNREACHABLE.test(text))
    return new TaskError(
      `${name}: the host is unreachable (${text.split('\n').pop()}). Check the host name, the port and that sshd runs. Nothing was done.`,
    );
  return new TaskError(`${name}: ssh failed: ${text || 'no message'}`);
}
