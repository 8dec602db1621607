/** The start of a run: flags, --help, and every setting read and validated before anything runs. */
import type { ReportsKept } from '../report.ts';
import { existsSync, readFileSync } from 'node:fs';
import { parseFlags, type ParsedOptions } from '../cli.ts';
import { exitCodeOf, messageOf } from '../errors.ts';
import { operationSettings } from '../operations/settings.ts';
import { setting, type SettingsOf, type SettingsSpec } from '../settings.ts';
import {
  readSettings,
  readSettingsFile,
  settingsError,
  unknownSettings,
  type SettingProblem,
} from '../settings-read.ts';
import { say } from './steps.ts';
import type { AnyTask } from './steps.ts';
import { readSavedPlan, savedPlanOptions, type SavedPlan } from './saved-plan.ts';
import { taskFlags, usageText } from './usage.ts';

/** Settings every run reads, whatever the task. */
export const pipelineSettings = {
  REPORTS_DIR: setting.string('folder where every run writes its JSON and Markdown report', 'reports'),
  REPORTS_KEEP: setting.int(
    'reports of runs that changed nothing (plans, --check, --dry-run) kept in REPORTS_DIR; older ones are removed, oldest first',
    50,
    { min: 1 },
  ),
  REPORTS_KEEP_CHANGED: setting.int(
    'reports of runs that changed something kept in REPORTS_DIR, counted apart from REPORTS_KEEP so plan-only runs never push them out',
    500,
    { min: 1 },
  ),
  ...operationSettings,
};

export interface RunStart {
  options: ParsedOptions;
  /** --plan FILE: the saved plan this run applies, if its world is unchanged. */
  saved?: SavedPlan;
  settingsByTask: Map<AnyTask, Record<string, unknown>>;
  reports: { dir: string; keep: ReportsKept };
  operations: SettingsOf<typeof operationSettings>;
}

/** Settings keys any task of this project reads: .env.example lists them all. */
function documentedKeys(): string[] {
  const example = new URL('../../.env.example', import.meta.url);
  if (!existsSync(example)) return [];
  return [...readFileSync(example, 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
}

function dedupe(problems: SettingProblem[]): SettingProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.key) && seen.add(p.key));
}

/** The flags and settings of the run, or the exit code when it ends here (--help, bad input). */
export function startRun(name: string, tasks: AnyTask[], argv: string[]): RunStart | { exitCode: number } {
  const problems: SettingProblem[] = [];
  const settingsByTask = new Map<AnyTask, Record<string, unknown>>();
  try {
    // The script the user typed (deploy:rollback and deploy:clean share a file).
    const script = process.env.npm_lifecycle_event || name;
    const parsed = parseFlags(argv, taskFlags(tasks), process.env, script);
    const saved = typeof parsed.plan === 'string' ? readSavedPlan(parsed.plan, name, parsed) : undefined;
    // --out only plans; --plan plans again with the saved flags, and applies when nothing moved.
    const options = saved
      ? savedPlanOptions(saved, parsed)
      : parsed.out
        ? { ...parsed, dryRun: true, yes: false }
        : parsed;
    if (options.help) {
      process.stdout.write(usageText(script, tasks, pipelineSettings) + '\n');
      return { exitCode: 0 };
    }
    const file = readSettingsFile(options.envFile);
    const env = { ...file.values, ...process.env };
    const pipeline = readSettings(pipelineSettings, env, problems);
    const reports = {
      dir: pipeline.REPORTS_DIR,
      keep: { planOnly: pipeline.REPORTS_KEEP, changed: pipeline.REPORTS_KEEP_CHANGED },
    };
    for (const task of tasks) settingsByTask.set(task, readSettings(task.settings as SettingsSpec, env, problems));
    const known = new Set([
      ...documentedKeys(),
      ...Object.keys(pipelineSettings),
      ...tasks.flatMap((t) => Object.keys(t.settings)),
    ]);
    for (const unknown of unknownSettings(Object.keys(file.values), known)) {
      say(
        `warning: ${file.path} sets ${unknown.key}, which no task reads${unknown.nearest ? `; did you mean ${unknown.nearest}?` : '.'}`,
      );
    }
    if (problems.length) throw settingsError(dedupe(problems));
    if (options.notice) say(options.notice);
    return { options, settingsByTask, reports, saved, operations: pipeline };
  } catch (error) {
    say(messageOf(error));
    return { exitCode: exitCodeOf(error) };
  }
}
