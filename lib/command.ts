import { parse } from 'shell-quote';
import { UsageError } from './errors.ts';

/**
 * Commands are values: an argv array built by a small pure function, executed in one place
 * (lib/runner.ts, `host.run(argv)`, where zx quotes each word). Building never runs anything,
 * so tests can assert a command's exact words.
 */
export type Command = readonly string[];

const safe = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for POSIX `sh` (dash included): single quotes, with each embedded single
 * quote written as '\''. Only for text a person reads or a `#!/bin/sh` file we write (plans,
 * RESTORE.sh): running a command never goes through it, zx quotes those (lib/runner.ts).
 * zx's own quote() emits bash-only $'…', which such a file, read by dash, would not understand.
 */
export function quotePosix(arg: string): string {
  if (arg === '') return "''";
  if (safe.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command as one POSIX `sh` line, every argument quoted: how a plan shows it. */
export function commandLine(command: Command): string {
  return command.map(quotePosix).join(' ');
}

/** Quoted strings and escapes, left to right: a quote left over after them is never closed. */
const closed = /\\.|'[^']*'|"(?:\\.|[^"\\])*"/gs;

/**
 * Splits a command written in a setting (`docker restart registry`, `sh -c 'x y'`) into argv with
 * shell-quote, by sh's rules for single and double quotes and backslashes. The result is run as
 * argv by the one runner, so nothing in a setting is ever interpreted by a second shell: `$NAME`
 * stays as written (shell-quote would put the environment's value in), a glob stays a word, and
 * an operator or comment, which only a shell would act on, is refused (shell-quote would return
 * it as an object, where sh would have piped or redirected).
 */
export function parseCommandSetting(text: string, settingName: string): Command {
  const quote = text.replace(closed, '').match(/['"]/)?.[0];
  if (quote) throw new UsageError(`${settingName} has an unclosed ${quote} quote: ${text}`);
  return parse(text, (name) => `$${name}`).map((entry) => {
    if (typeof entry === 'string') return entry;
    if ('op' in entry && entry.op === 'glob') return entry.pattern;
    const what = 'comment' in entry ? `a # comment` : `the shell operator ${entry.op}`;
    throw new UsageError(
      `${settingName} has ${what}: ${text}. The command runs without a shell; ` +
        `quote it to pass it as a word, or write sh -c '…' to have a shell run it.`,
    );
  });
}
