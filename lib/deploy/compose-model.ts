/**
 * The compose model from compose itself: `docker-compose config` (v1, YAML) or
 * `docker compose config --format json` (v2), run on this machine with the .env the host will
 * have (the image and DEPLOY_COMPOSE_ENV) and nothing of this shell's environment, so variables
 * resolve as they will on the host. A file compose rejects is refused with compose's own words.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import type { Compose } from './commands.ts';
import { parseModel } from './compose-files.ts';

/** Only PATH and HOME pass: compose must not take variables from the shell that plans. */
const clean = (): string[] => [
  'env',
  '-i',
  `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
  `HOME=${process.env.HOME ?? '/'}`,
];

export const composeConfig = (compose: Compose, file: string, envFile: string): Command =>
  compose === 'docker-compose'
    ? [...clean(), 'docker-compose', '--file', file, '--env-file', envFile, 'config']
    : [...clean(), 'docker', 'compose', '--file', file, '--env-file', envFile, 'config', '--format', 'json'];

/** compose's model of `file`, given the .env text the host will have. */
export async function composeModel(
  runner: Runner,
  compose: Compose,
  file: string,
  envText: string,
): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'cleanup-compose-'));
  try {
    const envFile = join(scratch, '.env');
    writeFileSync(envFile, envText, { mode: 0o600 });
    const result = await runner.run(composeConfig(compose, file, envFile), { allowFailure: true });
    if (result.exitCode !== 0)
      throw new UsageError(
        `${compose} refused ${file}:\n  ${lastLines(result.stderr)}\nFix the compose file (or DEPLOY_COMPOSE_ENV). Nothing was done.`,
      );
    return parseModel(result.stdout);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** compose 1.29 prints a Python traceback before its message when it fails: the message is the last line. */
function lastLines(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const traceback = lines.some((l) => l.startsWith('Traceback'));
  return (traceback ? lines.slice(-1) : lines).join('\n  ');
}
