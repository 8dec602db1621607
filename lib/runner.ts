/**
 * The one executor. Every command the tool runs, here or on a host over ssh, goes through a
 * Runner, so timeouts, failures and ssh's own errors read the same everywhere.
 *
 * A task speaks zx to a host: `await host.$\`docker image rm ${ids}\`` quotes every value with
 * zx's own quote (an array word by word), so a name with quotes, `$(…)`, a newline or a leading
 * dash reaches the command as one word, and nothing is ever pasted into a shell by hand.
 * `host.$({ allowFailure: true, input, timeoutMs })\`…\`` takes the run's options.
 *
 * Commands that tests assert are values instead: argv arrays built by small pure functions
 * (lib/command.ts; Kamal's style), run by `host.run(argv)`, which is `host.$\`${argv}\``.
 *
 * Locally zx runs the line in bash. Over ssh, zx builds the same line (its quoting, not run
 * here), lib/ssh.ts wraps it so the remote login shell (maybe dash) only starts bash on it, and
 * the ssh argv itself goes through zx's quoting again. One ssh connection per host is reused
 * (ControlMaster) with host key checking on; ssh's own exit 255 becomes a message saying what to do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// zx's core: the shell and its quoting, without the helpers zx bundles beside them (a third of its load time).
import { $, quote, type ProcessPromise } from 'zx/core';
import type { Command } from './command.ts';
import { childEnvironment } from './environment.ts';
import { TaskError, UsageError } from './errors.ts';
import { describeTarget, missingShellTool, parseSshTarget, sshCommand, sshFailure, type SshTarget } from './ssh.ts';

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

type Template = [pieces: TemplateStringsArray, ...values: unknown[]];

/** zx's `$`, bound to one host: a template tag, or options first and then the tag. */
export interface HostShell {
  (pieces: TemplateStringsArray, ...values: unknown[]): Promise<RunResult>;
  (options: RunOptions): (pieces: TemplateStringsArray, ...values: unknown[]) => Promise<RunResult>;
}

export interface Runner {
  /** "local" or the ssh destination, as error messages and reports name the host. */
  readonly name: string;
  readonly $: HostShell;
  /** Runs a command built as a value (an argv array): the same as `$\`${command}\``. */
  run(command: Command, options?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
}

/** A command that did not finish in time: the host (or the command) hangs. */
export class CommandTimedOut extends TaskError {
  constructor(
    readonly host: string,
    /** The line as zx quoted it. */
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(
      `${host}: \`${command}\` did not finish within ${Math.round(timeoutMs / 1000)} s and was ` +
        `stopped; the host or the command hangs. Check the host, or raise the timeout ` +
        `(SSH_COMMAND_TIMEOUT_SECONDS for remote commands).`,
    );
  }
}

export class CommandFailed extends TaskError {
  /** The line as zx quoted it. */
  readonly command: string;
  constructor(
    readonly host: string,
    command: string | Command,
    readonly result: RunResult,
  ) {
    const line = typeof command === 'string' ? command : command.map(quote).join(' ');
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n    ');
    super(`${host}: \`${line}\` exited with ${result.exitCode}${detail ? `:\n    ${detail}` : ''}`);
    this.command = line;
  }
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** After a timeout kills the command, how long to wait for its output to close. */
const KILL_GRACE_MS = 5_000;

/**
 * bash sources ~/.bashrc when its stdin is a socket (Node's pipes are) and SHLVL is under 2, as if
 * rshd had started it: a .bashrc that prints would corrupt the output, one that runs pyenv costs a
 * second per command. At SHLVL 1 our bash is level 2 and reads no startup file.
 */
const shellEnvironment = () => ({ ...childEnvironment(), SHLVL: '1' });

/** The line zx builds from a template (its quoting, arrays word by word), without running it. */
function zxLine([pieces, ...values]: Template): string {
  return $({ halt: true })(pieces, ...values).cmd;
}

/**
 * Starts one zx process and waits for it. At the timeout the process is killed; when its output
 * still does not close (an ssh session whose remote end hangs keeps it open), the run counts as
 * timed out anyway. Never throws for an exit code: the runners decide what a code means.
 */
async function execute(
  start: (shell: typeof $) => ProcessPromise,
  options: RunOptions,
  timeout: number,
): Promise<RunResult & { timedOut: boolean }> {
  const startedAt = Date.now();
  const process = start(
    $({
      quiet: true,
      nothrow: true,
      verbose: false,
      env: shellEnvironment(),
      input: options.input,
      timeout,
      timeoutSignal: 'SIGKILL',
    }),
  );
  // A command that ends without reading all its input closes the pipe: its exit code says how it went.
  process.stdin?.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  let grace: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (grace = setTimeout(resolve, timeout + KILL_GRACE_MS, 'late')));
  const output = await Promise.race([process, late]).finally(() => clearTimeout(grace));
  if (output === 'late') return { stdout: '', stderr: '', exitCode: 124, timedOut: true };
  const timedOut = output.exitCode !== 0 && Date.now() - startedAt >= timeout;
  return {
    stdout: output.stdout,
    stderr: output.stderr,
    exitCode: output.exitCode ?? (output.signal ? 124 : 1),
    timedOut,
  };
}

/** The `$` and `run` of a runner, from the one function that runs a template with options. */
function hostShell(
  runTemplate: (template: Template, options: RunOptions) => Promise<RunResult>,
): Pick<Runner, '$' | 'run'> {
  const isTemplate = (value: unknown): value is TemplateStringsArray => Array.isArray(value) && 'raw' in value;
  const shell = ((first: TemplateStringsArray | RunOptions, ...values: unknown[]) => {
    if (isTemplate(first)) return runTemplate([first, ...values], {});
    return (pieces: TemplateStringsArray, ...rest: unknown[]) => runTemplate([pieces, ...rest], first);
  }) as HostShell;
  return { $: shell, run: (command, options = {}) => shell(options)`${command}` };
}

export function localRunner(): Runner {
  return {
    name: 'local',
    ...hostShell(async (template, options) => {
      const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const result = await execute((shell) => shell(...template), options, timeout);
      if (result.timedOut) throw new CommandTimedOut('local', zxLine(template), timeout);
      if (result.exitCode !== 0 && !options.allowFailure) throw new CommandFailed('local', zxLine(template), result);
      return result;
    }),
    async close() {},
  };
}

/**
 * The ssh connections open in this process, by their argv: runners of one host share its
 * connection (the audit line a run writes after its tasks, clean:all's tasks on one host), and
 * it closes with the last of them.
 */
const connections = new Map<string, { controlDir: string; runners: number }>();

export function sshRunner(target: SshTarget): Runner {
  const name = describeTarget(target);
  const key = sshCommand(target, '', undefined).join('\0');
  // Socket paths are limited to ~104 bytes; %C is a 40-character hash of the destination.
  const connection = connections.get(key) ?? { controlDir: mkdtempSync(join(tmpdir(), 'cleanup-ssh-')), runners: 0 };
  connections.set(key, connection);
  connection.runners++;
  const controlPath = join(connection.controlDir, '%C');
  let closed = false;
  return {
    name,
    ...hostShell(async (template, options) => {
      if (closed) throw new TaskError(`${name}: the connection was already closed`);
      const line = zxLine(template);
      const timeout = options.timeoutMs ?? target.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS;
      const result = await execute((shell) => shell`${sshCommand(target, controlPath, line)}`, options, timeout);
      if (result.timedOut) throw new CommandTimedOut(name, line, timeout);
      // 255 is ssh's own failure; a remote command exiting 255 is indistinguishable, and rare.
      if (result.exitCode === 255) throw sshFailure(target, result.stderr);
      const missing = missingShellTool(result.exitCode, result.stderr);
      if (missing)
        throw new TaskError(
          `${name} has no ${missing}: every command there runs through bash, handed over ` +
            `base64-encoded (lib/ssh.ts). Install ${missing} on that host (Debian: apt-get install ` +
            `${missing === 'bash' ? 'bash' : 'coreutils'}; Alpine: apk add ` +
            `${missing === 'bash' ? 'bash' : 'coreutils'}) and run again. Nothing was run there.`,
        );
      if (result.exitCode !== 0 && !options.allowFailure) throw new CommandFailed(name, line, result);
      return result;
    }),
    async close() {
      if (closed) return;
      closed = true;
      if (--connection.runners) return;
      connections.delete(key);
      const master = sshCommand(target, controlPath, undefined);
      await execute((shell) => shell`${master.slice(0, -1)} -O exit ${master.at(-1)}`, {}, 10_000);
      rmSync(connection.controlDir, { recursive: true, force: true });
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
  if (!target)
    throw new UsageError(
      `${settingName} has "${destination}", which is not an ssh destination; expected [user@]host[:port] or local.`,
    );
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
