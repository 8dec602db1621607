import { exitCodes } from '../errors.ts';
import { usage } from '../cli.ts';
import type { SettingsSpec } from '../settings.ts';
import type { TaskOption } from '../task.ts';
import type { AnyTask } from './steps.ts';

function settingsHelp(specs: SettingsSpec[]): string {
  const rows = new Map<string, string>();
  for (const spec of specs) {
    for (const [key, definition] of Object.entries(spec)) {
      if (rows.has(key)) continue;
      const fallback = definition.parse(undefined);
      const shown =
        'problem' in fallback
          ? 'required'
          : fallback.value === undefined ||
              fallback.value === '' ||
              (Array.isArray(fallback.value) && !fallback.value.length)
            ? 'optional'
            : `default ${shownValue(fallback.value)}`;
      rows.set(key, `  ${key.padEnd(34)}${definition.help} (${shown}${definition.secret ? ', secret' : ''})`);
    }
  }
  return [...rows.values()].join('\n');
}

/** The flags of these tasks; a chain leaves out those meant for a task run by itself. */
export function taskFlags(tasks: AnyTask[]): Record<string, TaskOption> {
  const chain = tasks.length > 1;
  return Object.fromEntries(
    tasks.flatMap((t) => Object.entries(t.options ?? {})).filter(([, flag]) => !(chain && flag.alone)),
  );
}

/** `--help`: the flags, the settings read (`common`: those every run reads), examples and exit codes. */
export function usageText(name: string, tasks: AnyTask[], common: SettingsSpec): string {
  const extra = taskFlags(tasks);
  return [
    `Usage: npm run ${name} -- [options]`,
    '',
    ...tasks.map((t) => `  ${t.title}`),
    '',
    'Flags go after --, or npm takes them for itself.',
    usage(extra),
    '',
    'Settings it reads (from .env, --env-file, or the environment, which wins):',
    settingsHelp([common, ...tasks.map((t) => t.settings as SettingsSpec)]),
    '',
    'Examples:',
    `  npm run ${name}                                  plan, show it, ask before applying`,
    `  npm run ${name} -- --dry-run                     plan only, change nothing`,
    `  npm run ${name} -- --yes --env-file prod.env     apply without asking, settings from prod.env`,
    `  npm run ${name} -- --check                       for cron or CI: exit 3 when something is to clean`,
    `  npm run ${name} -- --dry-run --json > plan.json  the report as JSON on stdout`,
    '',
    'Exit codes:',
    ...Object.entries(exitCodes).map(([code, meaning]) => `  ${code.padEnd(5)}${meaning}`),
  ].join('\n');
}

/** A default as the help writes it: a list comma-separated, a pattern as its source. */
function shownValue(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return value instanceof RegExp ? value.source : String(value);
}
