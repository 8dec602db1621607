/** The settings file (.env, --env-file, CLEANUP_ENV_FILE), and its keys no task reads. */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors.ts';

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
