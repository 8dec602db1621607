/**
 * Command-line flags. The common ones mean the same for every task; tasks may add their own.
 * An unknown flag is a UsageError (exit 2), never silently ignored: a mistyped `--dry-rn` must not
 * turn a rehearsal into a real run.
 *
 * npm takes flags written before `--` for itself and hands them to the script only as
 * `npm_config_<name>` variables. A dry run asked that way is still a dry run (it wins over --yes,
 * a rehearsal must never become a real run); any other flag of ours taken that way is refused
 * with the spelling that reaches us, rather than silently dropped.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import type { CommonOptions, TaskOption } from './task.ts';

export const commonFlags: Record<string, TaskOption & { short?: string }> = {
  'dry-run': { type: 'boolean', help: 'plan only: show what would change, change nothing (wins over --yes)' },
  check: {
    type: 'boolean',
    help: 'plan only, for cron and CI: exit 3 when changes are pending, 0 when nothing is to do',
  },
  yes: { type: 'boolean', short: 'y', help: 'apply without asking (needed to apply without a terminal)' },
  json: { type: 'boolean', help: 'print the report as JSON on stdout (human output stays on stderr)' },
  force: { type: 'boolean', help: 'also apply items the plan refused for safety (each is listed with its reason)' },
  verbose: { type: 'boolean', short: 'v', help: 'list every item of the plan (long groups are shortened otherwise)' },
  'env-file': { type: 'string', help: 'read settings from this file instead of .env' },
  out: { type: 'string', help: 'save the plan to this file and change nothing (apply it later with --plan)' },
  plan: {
    type: 'string',
    help: 'apply the plan saved in this file, only if the world and settings it was decided on are unchanged',
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/**
 * scripts/task.sh renames --env-file to this, because Node 20 reads --env-file itself wherever it
 * appears on the command line. Not shown in the help: users write --env-file.
 */
const hiddenFlags = { 'settings-file': { type: 'string' as const } };

export type ParsedOptions = CommonOptions & {
  check: boolean;
  verbose: boolean;
  envFile?: string;
  help: boolean;
  notice?: string;
} & Record<string, string | boolean | undefined>;

/** The environment variable npm sets for a flag it took: --dry-run → npm_config_dry_run. */
export function npmVariable(flag: string): string {
  return `npm_config_${flag.replace(/-/g, '_')}`;
}

/** Flags of ours that npm took for itself (written before `--`), other than --dry-run. */
export function flagsTakenByNpm(names: string[], env: NodeJS.ProcessEnv): string[] {
  return names
    .filter((name) => name !== 'dry-run' && name !== 'help' && name !== 'verbose')
    .filter((name) => {
      const value = env[npmVariable(name)];
      return value !== undefined && value !== '' && value !== 'false';
    });
}

export function parseFlags(
  argv: string[],
  extra: Record<string, TaskOption> = {},
  env: NodeJS.ProcessEnv = process.env,
  script = env.npm_lifecycle_event ?? 'TASK',
): ParsedOptions {
  const definitions = { ...commonFlags, ...extra };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(
          Object.entries(definitions).map(([name, flag]) => [
            name,
            { type: flag.type, ...('short' in flag && flag.short ? { short: flag.short } : {}) },
          ]),
        ),
        ...hiddenFlags,
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\. To specify.*$/s, '')}.\n${usage(extra)}`);
  }
  const taken = flagsTakenByNpm(Object.keys(definitions), env);
  if (taken.length) {
    const spelled = taken
      .map((name) => `--${name}${definitions[name].type === 'string' ? ` ${env[npmVariable(name)]}` : ''}`)
      .join(' ');
    throw new UsageError(
      `npm took ${taken.map((name) => `--${name}`).join(', ')} for itself (written before --), so the task never saw ${taken.length === 1 ? 'it' : 'them'}.\n` +
        `Write our flags after --: npm run ${script} -- ${spelled}`,
    );
  }
  const dryRunByNpm = env.npm_config_dry_run === 'true';
  const dryRun = Boolean(values['dry-run']) || dryRunByNpm;
  const notice =
    dryRun && values.yes
      ? `${dryRunByNpm && !values['dry-run'] ? 'npm was given --dry-run' : '--dry-run'} and --yes: a dry run wins, nothing will be changed.`
      : undefined;
  const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const options = Object.fromEntries(
    Object.entries(values)
      .filter(([name]) => name !== 'settings-file')
      .map(([name, value]) => [camel(name), value]),
  );
  return {
    ...options,
    dryRun,
    check: Boolean(values.check),
    yes: Boolean(values.yes) && !dryRun,
    json: Boolean(values.json),
    force: Boolean(values.force),
    verbose: Boolean(values.verbose),
    help: Boolean(values.help),
    envFile: (values['env-file'] ?? values['settings-file']) as string | undefined,
    ...(notice ? { notice } : {}),
  };
}

export function usage(extra: Record<string, TaskOption> = {}): string {
  const rows = Object.entries({ ...commonFlags, ...extra }).map(([name, flag]) => {
    const short = 'short' in flag && flag.short ? `-${flag.short}, ` : '    ';
    return (
      `  ${short}--${name}${flag.type === 'string' ? (['env-file', 'out', 'plan'].includes(name) ? ' <file>' : ' <value>') : ''}`.padEnd(
        28,
      ) + flag.help
    );
  });
  return `Options:\n${rows.join('\n')}`;
}
