/**
 * Settings come from `.env` (dotenv) and the environment, the environment winning. Each task
 * declares the keys it reads with the builders below. lib/settings-read.ts checks all of them
 * at once and throws one UsageError listing every problem, so a user fixes `.env` in one pass;
 * lib/settings-file.ts reads the settings file and names its keys no task reads.
 * About 250 lines: one builder per kind of value, each with the message of what is wrong.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { parseBytes } from './units.ts';
import { parseCommandSetting } from './command.ts';
import { parseSshTarget } from './ssh.ts';

export interface Setting<T> {
  /** What is expected, shown in errors and in the README's settings table. */
  readonly help: string;
  readonly secret?: boolean;
  /** A value that would be accepted, shown when the set one is not. */
  readonly example?: string;
  /** Returns the value, or a string saying what is wrong with the raw text. */
  readonly parse: (raw: string | undefined) => { value: T } | { problem: string };
  /** Another setting this one means nothing without (a password needs its user): set alone, it is a problem. */
  readonly needs?: string;
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type SettingsOf<S extends SettingsSpec> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

type Parsed<T> = { value: T } | { problem: string };

function optional<T>(fallback: T, parse: (raw: string) => Parsed<T>) {
  return (raw: string | undefined): Parsed<T> =>
    raw === undefined || raw.trim() === '' ? { value: fallback } : parse(raw.trim());
}

function required<T>(parse: (raw: string) => Parsed<T>) {
  return (raw: string | undefined): Parsed<T> =>
    raw === undefined || raw.trim() === '' ? { problem: 'is not set' } : parse(raw.trim());
}

export const setting = {
  string(help: string, fallback?: string): Setting<string> {
    const parse = (raw: string) => ({ value: raw });
    return { help, parse: fallback === undefined ? required(parse) : optional(fallback, parse) };
  },

  optionalString(help: string): Setting<string | undefined> {
    return { help, parse: optional<string | undefined>(undefined, (raw) => ({ value: raw })) };
  },

  secret(help: string, needs?: string): Setting<string | undefined> {
    return { help, secret: true, needs, parse: optional<string | undefined>(undefined, (raw) => ({ value: raw })) };
  },

  url(help: string, fallback?: string): Setting<URL> {
    const parse = (raw: string): Parsed<URL> => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return {
          problem: `is not a URL: "${raw}"${/^[a-z0-9.-]+(:[0-9]+)?(\/|$)/i.test(raw) ? ' (the scheme is missing: write http:// or https:// in front)' : ''}`,
        };
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return { problem: `must start with http:// or https://, not ${url.protocol}//` };
      if (url.username || url.password)
        return { problem: 'must not carry credentials; put them in their own settings' };
      return { value: url };
    };
    return {
      help,
      example: fallback ?? 'http://127.0.0.1:5000',
      parse: fallback === undefined ? required(parse) : optional(new URL(fallback), parse),
    };
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
        if (!/^-?[0-9]+$/.test(raw))
          return {
            problem: `must be a whole number${bounds.min === 0 ? ' (0 or more)' : bounds.min !== undefined ? ` (${bounds.min} or more)` : ''}, not "${raw}"`,
          };
        const value = Number(raw);
        if (bounds.min !== undefined && value < bounds.min)
          return { problem: `must be at least ${bounds.min}, not ${value}` };
        if (bounds.max !== undefined && value > bounds.max)
          return { problem: `must be at most ${bounds.max}, not ${value}` };
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
        (choices as readonly string[]).includes(raw)
          ? { value: raw as T }
          : { problem: `must be one of ${choices.join(', ')}, not "${raw}"` },
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
          return {
            problem: `is not a regular expression: "${raw}" (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`,
          };
        }
      }),
    };
  },

  /** Where commands run: `local`, or an ssh destination [user@]host[:port]. */
  host(help: string): Setting<string> {
    return { help, example: 'aisha@prod-1.example:22', parse: required(checked(hostProblem)) };
  },

  optionalHost(help: string): Setting<string | undefined> {
    return {
      help,
      example: 'aisha@registry-1.example',
      parse: optional<string | undefined>(undefined, checked(hostProblem)),
    };
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
    return {
      help,
      example: kind === 'file' ? '/root/.ssh/id_ed25519' : '../backend',
      parse: required(checked((raw) => pathProblem(raw, kind))),
    };
  },

  optionalPath(help: string, kind: 'file' | 'folder'): Setting<string | undefined> {
    return {
      help,
      example: kind === 'file' ? '/root/.ssh/id_ed25519' : '/srv/data',
      parse: optional<string | undefined>(
        undefined,
        checked((raw) => pathProblem(raw, kind)),
      ),
    };
  },

  /** A folder on another machine: it cannot be checked from here, but it must be absolute. */
  remotePath(help: string, fallback: string): Setting<string> {
    const problem = (raw: string) =>
      raw.startsWith('/') ? undefined : `must be an absolute path (starting with /), not "${raw}"`;
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
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** What is wrong with a host spec, or undefined: `local`, or [user@]host[:port] as the runner reads it. */
export function hostProblem(raw: string): string | undefined {
  if (raw === 'local') return undefined;
  const target = parseSshTarget(raw);
  if (!target) return `is not "local" or an ssh destination [user@]host[:port] (port 1–65535): "${raw}"`;
  // ssh would read a leading dash as one of its own options.
  if (target.host.startsWith('-') || target.user?.startsWith('-'))
    return `starts with "-", which ssh would read as an option: "${raw}"`;
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
