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

/**
 * Splits a command written in a setting (`docker restart registry`, `sh -c 'x y'`) into argv,
 * with the quoting rules of sh for single and double quotes and backslashes. The result is run
 * as argv by the one runner, so nothing in a setting is ever interpreted by a second shell.
 */
export function parseCommandSetting(text: string, settingName: string): Command {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`${settingName} has an unclosed ${quote} quote: ${text}`);
  if (inWord) words.push(word);
  return words;
}
