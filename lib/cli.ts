/**
 * Command-line flags. The common ones mean the same for every task; tasks may add their own.
 * An unknown flag is a UsageError (exit 2), never silently ignored: a mistyped `--dry-rn` must not
 * turn a rehearsal into a real run.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import type { CommonOptions, TaskOption } from './task.ts';

export const commonFlags: Record<string, TaskOption & { short?: string }> = {
  'dry-run': { type: 'boolean', help: 'plan only: show what would change, change nothing' },
  yes: { type: 'boolean', short: 'y', help: 'apply without asking (needed to apply without a terminal)' },
  json: { type: 'boolean', help: 'print the report as JSON on stdout (human output stays on stderr)' },
  force: { type: 'boolean', help: 'also apply items the plan refused for safety (each is listed with its reason)' },
  'env-file': { type: 'string', help: 'read settings from this file instead of .env' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export type ParsedOptions = CommonOptions & { envFile?: string; help: boolean } & Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], extra: Record<string, TaskOption> = {}): ParsedOptions {
  const definitions = { ...commonFlags, ...extra };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(definitions).map(([name, flag]) => [name, { type: flag.type, ...('short' in flag && flag.short ? { short: flag.short } : {}) }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\. To specify.*$/s, '')}.\n${usage(extra)}`);
  }
  if (values['dry-run'] && values.yes) throw new UsageError('--dry-run and --yes contradict each other: choose one.');
  const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const options = Object.fromEntries(Object.entries(values).map(([name, value]) => [camel(name), value]));
  return {
    ...options,
    dryRun: Boolean(values['dry-run']),
    yes: Boolean(values.yes),
    json: Boolean(values.json),
    force: Boolean(values.force),
    help: Boolean(values.help),
    envFile: values['env-file'] as string | undefined,
  };
}

export function usage(extra: Record<string, TaskOption> = {}): string {
  const rows = Object.entries({ ...commonFlags, ...extra }).map(([name, flag]) => `  --${name}${flag.type === 'string' ? ' <value>' : ''}`.padEnd(24) + flag.help);
  return `Options:\n${rows.join('\n')}`;
}
