/**
 * Settings come from `.env` (dotenv) and the environment, the environment winning.
 * Each task declares the keys it reads with the builders below; `readSettings` checks all of
 * them at once and throws one UsageError listing every problem, so a user fixes `.env` in one
 * pass. Secret settings are registered for redaction the moment they are read.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors.ts';
import { parseBytes } from './bytes.ts';
import { registerSecret } from './redact.ts';
import { registerOwnKey } from './environment.ts';
import { parseCommandSetting } from './command.ts';
import { parseSshTarget } from './runner.ts';

export interface Setting<T> {
  /** What is expected, shown in errors and in the README's settings table. */
  readonly help: string;
  readonly secret?: boolean;
  /** A value that would be accepted, shown when the set one is not. */
  readonly example?: string;
  /** Returns the value, or a string saying what is wrong with the raw text. */
  readonly parse: (raw: string | undefined) => { value: T } | { problem: string };
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type SettingsOf<S extends SettingsSpec> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

type Parsed<T> = { value: T } | { problem: string };

function optional<T>(fallback: T, parse: (raw: string) => Parsed<T>) {
  return (raw: string | undefined): Parsed<T> => (raw === undefined || raw.trim() === '' ? { value: fallback } : parse(raw.trim()));
}

function required<T>(parse: (raw: string) => Parsed<T>) {
  return (raw: string | undefined): Parsed<T> => (raw === undefined || raw.trim() === '' ? { problem: 'is not set' } : parse(raw.trim()));
}

export const setting = {
  string(help: string, fallback?: string): Setting<string> {
    const parse = (raw: string) => ({ value: raw });
    return { help, parse: fallback === undefined ? required(parse) : optional(fallback, parse) };
  },

  optionalString(help: string): Setting<string | undefined> {
    return { help, parse: optional<string | undefined>(undefined, (raw) => ({ value: raw })) };
  },

  secret(help: string): Setting<string | undefined> {
    return { help, secret: true, parse: optional<string | undefined>(undefined, (raw) => ({ value: raw })) };
  },

  url(help: string, fallback?: string): Setting<URL> {
    const parse = (raw: string): Parsed<URL> => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return { problem: `is not a URL: "${raw}"${/^[a-z0-9.-]+(:[0-9]+)?(\/|$)/i.test(raw) ? ' (the scheme is missing: write http:// or https:// in front)' : ''}` };
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `must start with http:// or https://, not ${url.protocol}//` };
      if (url.username || url.password) return { problem: 'must not carry credentials; put them in their own settings' };
      return { value: url };
    };
    return { help, example: fallback ?? 'http://127.0.0.1:5000', parse: fallback === undefined ? required(parse) : optional(new URL(fallback), parse) };
  },

  /** A comma-separated list of http(s) URLs, at least one. */
  urlList(help: string): Setting<string[]> {
    const one = setting.url(help);
    return {
      help,
      example: 'http://127.0.0.1:8001/health,http://127.0.0.1:8002/health',
      parse: required<string[]>((raw) => {
        const value = splitList(raw);
        if (!value.length) return { problem: 'names nothing' };
        for (const item of value) {
          const parsed = one.parse(item);
          if ('problem' in parsed) return { problem: `has an item that ${parsed.problem.replace(/^is /, 'is ')}` };
        }
        return { value };
      }),
    };
  },

  int(help: string, fallback: number, bounds: { min?: number; max?: number } = {}): Setting<number> {
    return {
      help,
      example: String(fallback),
      parse: optional<typeof fallback>(fallback, (raw) => {
        if (!/^-?[0-9]+$/.test(raw)) return { problem: `must be a whole number${bounds.min === 0 ? ' (0 or more)' : bounds.min !== undefined ? ` (${bounds.min} or more)` : ''}, not "${raw}"` };
        const value = Number(raw);
        if (bounds.min !== undefined && value < bounds.min) return { problem: `must be at least ${bounds.min}, not ${value}` };
        if (bounds.max !== undefined && value > bounds.max) return { problem: `must be at most ${bounds.max}, not ${value}` };
        return { value };
      }),
    };
  },

  bool(help: string, fallback: boolean): Setting<boolean> {
    return {
      help,
      example: String(fallback),
      parse: optional<typeof fallback>(fallback, (raw) => {
        if (/^(1|true|yes|on)$/i.test(raw)) return { value: true };
        if (/^(0|false|no|off)$/i.test(raw)) return { value: false };
        return { problem: `must be true or false, not "${raw}"` };
      }),
    };
  },

  bytes(help: string, fallback: number): Setting<number> {
    return {
      help,
      example: '5GB',
      parse: optional<typeof fallback>(fallback, (raw) => {
        const value = parseBytes(raw);
        return value === undefined ? { problem: `must be a size such as 5GB or 500MB, not "${raw}"` } : { value };
      }),
    };
  },

  /** A comma-separated list; empty items are dropped. */
  list(help: string, fallback: string[] = []): Setting<string[]> {
    return {
      help,
      parse: optional(fallback, (raw) => ({ value: splitList(raw) })),
    };
  },

  /** A comma-separated list that must name at least one item. */
  requiredList(help: string): Setting<string[]> {
    return {
      help,
      parse: required<string[]>((raw) => {
        const value = splitList(raw);
        return value.length ? { value } : { problem: 'names nothing' };
      }),
    };
  },

  oneOf<T extends string>(help: string, choices: readonly T[], fallback: T): Setting<T> {
    return {
      help,
      example: fallback,
      parse: optional<T>(fallback, (raw) =>
        (choices as readonly string[]).includes(raw) ? { value: raw as T } : { problem: `must be one of ${choices.join(', ')}, not "${raw}"` },
      ),
    };
  },
  /** A regular expression (JavaScript syntax), checked by compiling it. */
  regex(help: string, fallback?: string): Setting<RegExp | undefined> {
    return {
      help,
      example: '^(test|temp|debug)-',
      parse: optional<RegExp | undefined>(fallback === undefined ? undefined : new RegExp(fallback), (raw) => {
        try {
          return { value: new RegExp(raw) };
        } catch (error) {
          return { problem: `is not a regular expression: "${raw}" (${(error as Error).message.replace(/^Invalid regular expression: /, '')})` };
        }
      }),
    };
  },

  /** Where commands run: `local`, or an ssh destination [user@]host[:port]. */
  host(help: string): Setting<string> {
    return { help, example: 'aisha@prod-1.example:22', parse: required(checked(hostProblem)) };
  },

  optionalHost(help: string): Setting<string | undefined> {
    return { help, example: 'aisha@registry-1.example', parse: optional<string | undefined>(undefined, checked(hostProblem)) };
  },

  /** A comma-separated list of hosts, each `local` or [user@]host[:port]; at least one. */
  hostList(help: string): Setting<string[]> {
    return {
      help,
      example: 'aisha@prod-1.example,aisha@prod-2.example:2222',
      parse: required<string[]>((raw) => {
        const value = splitList(raw);
        if (!value.length) return { problem: 'names nothing' };
        for (const item of value) {
          const problem = hostProblem(item);
          if (problem) return { problem: `has an item that ${problem}` };
        }
        return { value };
      }),
    };
  },

  /** A path on this machine that must exist (a file or a folder, as said) and be readable. */
  path(help: string, kind: 'file' | 'folder'): Setting<string> {
    return { help, example: kind === 'file' ? '/root/.ssh/id_ed25519' : '../backend', parse: required(checked((raw) => pathProblem(raw, kind))) };
  },

  optionalPath(help: string, kind: 'file' | 'folder'): Setting<string | undefined> {
    return { help, example: kind === 'file' ? '/root/.ssh/id_ed25519' : '/srv/data', parse: optional<string | undefined>(undefined, checked((raw) => pathProblem(raw, kind))) };
  },

  /** A folder on another machine: it cannot be checked from here, but it must be absolute. */
  remotePath(help: string, fallback: string): Setting<string> {
    const problem = (raw: string) => (raw.startsWith('/') ? undefined : `must be an absolute path (starting with /), not "${raw}"`);
    return { help, example: fallback, parse: optional(fallback, checked(problem)) };
  },

  /** A command line (split as a POSIX shell would, without running one); empty: none. */
  command(help: string): Setting<string | undefined> {
    const problem = (raw: string) => {
      try {
        parseCommandSetting(raw, 'it');
        return undefined;
      } catch (error) {
        return (error as Error).message.replace(/^it /, '');
      }
    };
    return { help, example: 'docker start registry', parse: optional<string | undefined>(undefined, checked(problem)) };
  },
};

/** A parser from a function that says what is wrong with the text (undefined: nothing). */
function checked(problemOf: (raw: string) => string | undefined) {
  return (raw: string): Parsed<string> => {
    const problem = problemOf(raw);
    return problem ? { problem } : { value: raw };
  };
}

function splitList(raw: string): string[] {
  return raw.split(',').map((item) => item.trim()).filter(Boolean);
}

/** What is wrong with a host spec, or undefined: `local`, or [user@]host[:port] as the runner reads it. */
export function hostProblem(raw: string): string | undefined {
  if (raw === 'local') return undefined;
  const target = parseSshTarget(raw);
  if (!target) return `is not "local" or an ssh destination [user@]host[:port] (port 1–65535): "${raw}"`;
  // ssh would read a leading dash as one of its own options.
  if (target.host.startsWith('-') || target.user?.startsWith('-')) return `starts with "-", which ssh would read as an option: "${raw}"`;
  return undefined;
}

function pathProblem(raw: string, kind: 'file' | 'folder'): string | undefined {
  let stats;
  try {
    stats = statSync(raw);
  } catch {
    return `names ${raw}, which does not exist`;
  }
  if (kind === 'file' && !stats.isFile()) return `names ${raw}, which is not a file`;
  if (kind === 'folder' && !stats.isDirectory()) return `names ${raw}, which is not a folder`;
  try {
    accessSync(raw, constants.R_OK);
  } catch {
    return `names ${raw}, which this user cannot read`;
  }
  return undefined;
}

/** The settings file a run reads: --env-file, else CLEANUP_ENV_FILE, else .env (optional). */
export interface SettingsFile {
  path: string;
  values: Record<string, string>;
}

/** Reads the settings file; a file named on the command line must exist and be readable (exit 2). */
export function readSettingsFile(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): SettingsFile {
  const path = envFile ?? env.CLEANUP_ENV_FILE ?? '.env';
  if (!envFile && !existsSync(path)) return { path, values: {} };
  try {
    return { path, values: parseDotenv(readFileSync(path)) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : code === 'EACCES' ? 'cannot be read by this user' : `cannot be read (${(error as Error).message})`;
    throw new UsageError(`The settings file ${path} ${why}. Name a readable file with --env-file, or copy .env.example to .env and fill it in.`);
  }
}

/** The environment the settings are read from: the settings file under the real environment. */
export function loadEnvironment(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  return { ...readSettingsFile(envFile, env).values, ...env };
}

/** Edit distance, for "did you mean": small and exact is enough for setting names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}

/** Keys of the settings file that no task knows, each with the nearest known name. */
export function unknownSettings(fileKeys: readonly string[], known: ReadonlySet<string>): { key: string; nearest?: string }[] {
  return fileKeys
    .filter((key) => !known.has(key))
    .map((key) => {
      const [nearest] = [...known].map((name) => ({ name, d: distance(key, name) })).sort((x, y) => x.d - y.d || x.name.localeCompare(y.name));
      return { key, ...(nearest && nearest.d <= Math.max(3, Math.floor(key.length / 3)) ? { nearest: nearest.name } : {}) };
    });
}

export interface SettingProblem {
  key: string;
  problem: string;
  help: string;
  value?: string;
  example?: string;
}

/** Reads every key of every spec; collects problems instead of stopping at the first. */
export function readSettings<S extends SettingsSpec>(spec: S, env: Record<string, string | undefined>, problems: SettingProblem[]): SettingsOf<S> {
  const values: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(spec)) {
    registerOwnKey(key);
    const result = definition.parse(env[key]);
    if ('problem' in result) {
      problems.push({ key, problem: result.problem, help: definition.help, ...(definition.secret ? {} : { value: env[key] }), ...(definition.example ? { example: definition.example } : {}) });
      continue;
    }
    if (definition.secret) registerSecret(result.value as string | undefined);
    values[key] = result.value;
  }
  return values as SettingsOf<S>;
}

export function settingsError(problems: SettingProblem[]): UsageError {
  const lines = problems.map(
    (p) =>
      `  ${p.key} ${p.problem}.\n` +
      (p.value !== undefined && p.value.trim() !== '' ? `      value:    ${p.key}=${p.value}\n` : '') +
      `      expected: ${p.help}` +
      (p.example ? `\n      example:  ${p.key}=${p.example}` : ''),
  );
  return new UsageError(
    `The settings have ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was changed.\n${lines.join('\n')}\n` +
      'Set them in .env (see .env.example) or in the environment.',
  );
}

/** Convenience for a single spec: read and throw on any problem. */
export function settingsFrom<S extends SettingsSpec>(spec: S, env: Record<string, string | undefined>): SettingsOf<S> {
  const problems: SettingProblem[] = [];
  const values = readSettings(spec, env, problems);
  if (problems.length) throw settingsError(problems);
  return values;
}
