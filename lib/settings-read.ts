/** Reading declared settings from an environment: every problem at once, secrets registered for redaction. */
import { registerOwnKey } from './environment.ts';
import { UsageError } from './errors.ts';
import { registerSecret } from './redact.ts';
import type { SettingsOf, SettingsSpec } from './settings.ts';

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
