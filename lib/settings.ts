/**
 * Settings come from `.env` (dotenv) and the environment, the environment winning.
 * Each task declares the keys it reads with the builders below; `readSettings` checks all of
 * them at once and throws one UsageError listing every problem, so a user fixes `.env` in one
 * pass. Secret settings are registered for redaction the moment they are read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors.ts';
import { parseBytes } from './bytes.ts';
import { registerSecret } from './redact.ts';
import { registerOwnKey } from './environment.ts';

export interface Setting<T> {
  /** What is expected, shown in errors and in the README's settings table. */
  readonly help: string;
  readonly secret?: boolean;
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
        return { problem: `is not a URL: "${raw}" (expected something like http://127.0.0.1:5000)` };
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `must start with http:// or https://, not ${url.protocol}//` };
      if (url.username || url.password) return { problem: 'must not carry credentials; put them in their own settings' };
      return { value: url };
    };
    return { help, parse: fallback === undefined ? required(parse) : optional(new URL(fallback), parse) };
  },

  int(help: string, fallback: number, bounds: { min?: number; max?: number } = {}): Setting<number> {
    return {
      help,
      parse: optional<typeof fallback>(fallback, (raw) => {
        if (!/^-?[0-9]+$/.test(raw)) return { problem: `must be a whole number, not "${raw}"` };
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
      parse: optional(fallback, (raw) => ({ value: raw.split(',').map((item) => item.trim()).filter(Boolean) })),
    };
  },

  /** A comma-separated list that must name at least one item. */
  requiredList(help: string): Setting<string[]> {
    return {
      help,
      parse: required<string[]>((raw) => {
        const value = raw.split(',').map((item) => item.trim()).filter(Boolean);
        return value.length ? { value } : { problem: 'names nothing' };
      }),
    };
  },

  oneOf<T extends string>(help: string, choices: readonly T[], fallback: T): Setting<T> {
    return {
      help,
      parse: optional<T>(fallback, (raw) =>
        (choices as readonly string[]).includes(raw) ? { value: raw as T } : { problem: `must be one of ${choices.join(', ')}, not "${raw}"` },
      ),
    };
  },
};

/** The environment the settings are read from: `.env` (if present) under the real environment. */
export function loadEnvironment(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const file = envFile ?? env.CLEANUP_ENV_FILE ?? '.env';
  if (envFile && !existsSync(envFile)) throw new UsageError(`The settings file ${envFile} does not exist. Copy .env.example to it and fill it in.`);
  const fromFile = existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  return { ...fromFile, ...env };
}

export interface SettingProblem {
  key: string;
  problem: string;
  help: string;
}

/** Reads every key of every spec; collects problems instead of stopping at the first. */
export function readSettings<S extends SettingsSpec>(spec: S, env: Record<string, string | undefined>, problems: SettingProblem[]): SettingsOf<S> {
  const values: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(spec)) {
    registerOwnKey(key);
    const result = definition.parse(env[key]);
    if ('problem' in result) {
      problems.push({ key, problem: result.problem, help: definition.help });
      continue;
    }
    if (definition.secret) registerSecret(result.value as string | undefined);
    values[key] = result.value;
  }
  return values as SettingsOf<S>;
}

export function settingsError(problems: SettingProblem[]): UsageError {
  const lines = problems.map((p) => `  ${p.key} ${p.problem}.\n      expected: ${p.help}`);
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
