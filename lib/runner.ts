/**
 * The one executor. Every command the tool runs, local or remote, goes through `Runner.run`:
 * an argv array in, stdout/stderr/exit code out. Remote commands go over the system OpenSSH
 * client with one reused connection per host (ControlMaster) and host key checking on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { commandLine, type Command } from './command.ts';
import { childEnvironment } from './environment.ts';
import { TaskError, UsageError } from './errors.ts';

export interface RunOptions {
  /** Text (or bytes: an archive) fed to the command's stdin. */
  input?: string | Buffer;
  timeoutMs?: number;
  /** When false (the default), a non-zero exit throws CommandFailed. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Runner {
  /** "local" or the ssh destination, as error messages and reports name the host. */
  readonly name: string;
  run(command: Command, options?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
}

/** A command that did not finish in time: the host (or the command) hangs. */
export class CommandTimedOut extends TaskError {
  constructor(
    readonly host: string,
    readonly command: Command,
    readonly timeoutMs: number,
  ) {
    super(`${host}: \`${commandLine(command)}\` did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped; the host or the command hangs. Check the host, or raise the timeout (SSH_COMMAND_TIMEOUT_SECONDS for remote commands).`);
  }
}

export class CommandFailed extends TaskError {
  constructor(
    readonly host: string,
    readonly command: Command,
    readonly result: RunResult,
  ) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n    ');
    super(`${host}: \`${commandLine(command)}\` exited with ${result.exitCode}${detail ? `:\n    ${detail}` : ''}`);
  }
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

// zx quotes template arguments; our line is already quoted and must reach sh untouched.
const passThrough = (arg: string) => arg;

/** After a timeout kills the command, how long to wait for its output to close. */
const KILL_GRACE_MS = 5_000;

/**
 * Runs one `sh` line locally. Everything is quoted by us, so the shell only splits words.
 * At the timeout the process tree is killed; when its output still does not close (an ssh
 * session whose remote end hangs keeps it open), the run counts as timed out anyway.
 */
async function execute(line: string, options: RunOptions, fallbackTimeoutMs = DEFAULT_TIMEOUT_MS): Promise<RunResult & { timedOut: boolean }> {
  const timeout = options.timeoutMs ?? fallbackTimeoutMs;
  const startedAt = Date.now();
  const process = $({
    shell: '/bin/sh',
    prefix: '',
    postfix: '',
    quiet: true,
    nothrow: true,
    verbose: false,
    quote: passThrough,
    env: childEnvironment(),
    input: options.input,
    timeout,
    timeoutSignal: 'SIGKILL',
  })`${line}`;
  let grace: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (grace = setTimeout(resolve, timeout + KILL_GRACE_MS, 'late')));
  const output = await Promise.race([process, late]).finally(() => clearTimeout(grace));
  if (output === 'late') return { stdout: '', stderr: '', exitCode: 124, timedOut: true };
  const timedOut = output.exitCode !== 0 && Date.now() - startedAt >= timeout;
  return { stdout: output.stdout, stderr: output.stderr, exitCode: output.exitCode ?? (output.signal ? 124 : 1), timedOut };
}

export function localRunner(): Runner {
  return {
    name: 'local',
    async run(command, options = {}) {
      const result = await execute(commandLine(command), options);
      if (result.timedOut) throw new CommandTimedOut('local', command, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      if (result.exitCode !== 0 && !options.allowFailure) throw new CommandFailed('local', command, result);
      return result;
    },
    async close() {},
  };
}


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

/** The ssh argv for one remote command: pure, so tests can assert it without any ssh. */
export function sshCommand(target: SshTarget, controlPath: string, remote: Command | undefined): string[] {
  return [
    'ssh',
    '-o', 'BatchMode=yes',
    '-o', `StrictHostKeyChecking=${target.acceptNewHostKeys ? 'accept-new' : 'yes'}`,
    ...(target.knownHostsFile ? ['-o', `UserKnownHostsFile=${target.knownHostsFile}`] : []),
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${controlPath}`,
    '-o', 'ControlPersist=120',
    '-o', `ConnectTimeout=${target.connectTimeoutSeconds ?? 10}`,
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=3',
    ...(target.identityFile ? ['-i', target.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    ...(target.port ? ['-p', String(target.port)] : []),
    ...(target.user ? ['-l', target.user] : []),
    target.host,
    ...(remote ? ['--', commandLine(remote)] : []),
  ];
}

/** How known_hosts names the host: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(target: SshTarget): string {
  return target.port && target.port !== 22 ? `[${target.host}]:${target.port}` : target.host;
}

/** Turns ssh's own failures (exit 255) into messages that say what to do. */
export function sshFailure(target: SshTarget, stderr: string): TaskError {
  const name = describeTarget(target);
  const text = stderr.trim();
  if (/Host key verification failed|No (RSA|ED25519|ECDSA)? ?host key is known|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(text)) {
    const changed = /HAS CHANGED/.test(text);
    const knownHosts = target.knownHostsFile ?? '~/.ssh/known_hosts';
    return new TaskError(
      changed
        ? `${name}: the host key has CHANGED since it was trusted. Nothing was done. If the server was really reinstalled, remove the old key with\n    ssh-keygen -R '${knownHostsName(target)}' -f ${knownHosts}\nand trust the new one after checking its fingerprint.`
        : `${name}: the host key is not known, so the connection was refused. Nothing was done. After checking the fingerprint with the server's owner, trust it with \`ssh-keyscan ${target.port ? `-p ${target.port} ` : ''}${target.host} >> ${knownHosts}\`.`,
    );
  }
  if (/Permission denied/i.test(text)) return new TaskError(`${name}: ssh login was refused (${text.split('\n').pop()}). Check the user name and the identity file (SSH_IDENTITY_FILE). Nothing was done.`);
  if (/Connection refused|Connection timed out|No route to host|Could not resolve hostname|Name or service not known|Network is unreachable|Connection closed|Connection reset/i.test(text))
    return new TaskError(`${name}: the host is unreachable (${text.split('\n').pop()}). Check the host name, the port and that sshd runs. Nothing was done.`);
  return new TaskError(`${name}: ssh failed: ${text || 'no message'}`);
}

export function sshRunner(target: SshTarget): Runner {
  const name = describeTarget(target);
  // Socket paths are limited to ~104 bytes; %C is a 40-character hash of the destination.
  const controlDir = mkdtempSync(join(tmpdir(), 'cleanup-ssh-'));
  const controlPath = join(controlDir, '%C');
  let closed = false;
  return {
    name,
    async run(command, options = {}) {
      if (closed) throw new TaskError(`${name}: the connection was already closed`);
      const result = await execute(commandLine(sshCommand(target, controlPath, command)), options, target.commandTimeoutMs);
      if (result.timedOut) throw new CommandTimedOut(name, command, options.timeoutMs ?? target.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS);
      // 255 is ssh's own failure; a remote command exiting 255 is indistinguishable, and rare.
      if (result.exitCode === 255) throw sshFailure(target, result.stderr);
      if (result.exitCode !== 0 && !options.allowFailure) throw new CommandFailed(name, command, result);
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      const stop = sshCommand(target, controlPath, undefined);
      await execute(commandLine([...stop.slice(0, -1), '-O', 'exit', stop[stop.length - 1]]), { timeoutMs: 10_000 });
      rmSync(controlDir, { recursive: true, force: true });
    },
  };
}

export interface SshDefaults {
  port?: number;
  identityFile?: string;
  knownHostsFile?: string;
  acceptNewHostKeys?: boolean;
  connectTimeoutSeconds?: number;
  commandTimeoutSeconds?: number;
}

/**
 * The runner for a host named in a setting: `local` (or nothing) runs here, anything else is an
 * ssh destination `[user@]host[:port]` with the shared ssh settings filled in.
 */
export function runnerFor(destination: string | undefined, defaults: SshDefaults, settingName: string): Runner {
  if (!destination || destination === 'local') return localRunner();
  const target = parseSshTarget(destination);
  if (!target) throw new UsageError(`${settingName} has "${destination}", which is not an ssh destination; expected [user@]host[:port] or local.`);
  return sshRunner({
    ...target,
    port: target.port ?? defaults.port,
    identityFile: defaults.identityFile,
    knownHostsFile: defaults.knownHostsFile,
    acceptNewHostKeys: defaults.acceptNewHostKeys,
    connectTimeoutSeconds: defaults.connectTimeoutSeconds,
    commandTimeoutMs: defaults.commandTimeoutSeconds === undefined ? undefined : defaults.commandTimeoutSeconds * 1000,
  });
}
