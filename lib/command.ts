/**
 * Commands are values: an argv array built by a small pure function, executed in one place
 * (lib/runner.ts). Building never runs anything, so tests can assert a command's exact text.
 */
export type Command = readonly string[];

const safe = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for POSIX `sh` (dash included): single quotes, with each embedded single
 * quote written as '\''. zx's own quote() emits bash-only $'…', which dash would not understand.
 */
export function quotePosix(arg: string): string {
  if (arg === '') return "''";
  if (safe.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command as one `sh` line, every argument quoted. */
export function commandLine(command: Command): string {
  return command.map(quotePosix).join(' ');
}
