/**
 * Reading the settings: the settings file (.env, --env-file, CLEANUP_ENV_FILE) and its keys no task
 * reads, then every declared setting from the environment, every problem at once, secrets
 * registered for redaction.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors.ts';
import { registerOwnKey } from './environment.ts';
import { registerSecret } from './redact.ts';
import type { SettingsOf, SettingsSpec } from './settings.ts';

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
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a folder, not a file'
          : code === 'EACCES'
            ? 'cannot be read by this user'
            : `cannot be read (${(error as Error).message})`;
    throw new UsageError(
      `The settings file ${path} ${why}. Name a readable file with --env-file, or copy .env.example to .env and fill it in.`,
    );
  }
}

/** Edit distance, for "did you mean": small and exact is enough for setting names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}

/** Keys of the settings file that no task knows, each with the nearest known name. */
export function unknownSettings(
  fileKeys: readonly string[],
  known: ReadonlySet<string>,
): { key: string; nearest?: string }[] {
  return fileKeys
    .filter((key) => !known.has(key))
    .map((key) => {
      const [nearest] = [...known]
        .map((name) => ({ name, d: distance(key, name) }))
        .sort((x, y) => x.d - y.d || x.name.localeCompare(y.name));
      return {
        key,
        ...(nearest && nearest.d <= Math.max(3, Math.floor(key.length / 3)) ? { nearest: nearest.name } : {}),
      };
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
export function readSettings<S extends SettingsSpec>(
  spec: S,
  env: Record<string, string | undefined>,
  problems: SettingProblem[],
): SettingsOf<S> {
  const values: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(spec)) {
    registerOwnKey(key);
    const result = definition.parse(env[key]);
    if ('problem' in result) {
      problems.push({
        key,
        problem: result.problem,
        help: definition.help,
        ...(definition.secret ? {} : { value: env[key] }),
        ...(definition.example ? { example: definition.example } : {}),
      });
      continue;
    }
    if (definition.secret) registerSecret(result.value as string | undefined);
    if (definition.needs && env[key]?.trim() && !env[definition.needs]?.trim()) {
      problems.push({
        key,
        problem: `is set, but ${definition.needs} is not: one means nothing without the other`,
        help: `set ${definition.needs} as well, or leave ${key} empty`,
      });
      continue;
    }
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
