/**
 * A saved plan, applied exactly (Terraform's `plan -out` / `apply FILE`). `--out FILE` writes every
 * task's plan as it was shown (each item with its action, target, reason and bytes) with what it was
 * decided on: a fingerprint of each item's operation (the digests, container ids, file blob ids,
 * revisions it names), of each setting the task read, and the flags. `--plan FILE` plans again and
 * applies only when every task planned the same items on the same facts and settings; otherwise it
 * names what moved and changes nothing, so a plan mailed by cron is applied as it was read.
 *
 * Fingerprints, not values: a saved plan holds no manifest bytes and no secret. Secret settings
 * (passwords) are left out of the comparison, since no decision rests on them.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ParsedOptions } from '../cli.ts';
import { messageOf, TaskError, UsageError } from '../errors.ts';
import { renderPlan, type Plan } from '../plan.ts';
import type { SettingsSpec } from '../settings.ts';
import type { AnyTask, RunItem } from './steps.ts';

const FORMAT = 'aisha-cleanup saved plan, version 1';

/** Flags that only say how a run is shown or confirmed; every other flag is part of the decision. */
const presentationFlags = new Set(['yes', 'dryRun', 'check', 'json', 'verbose', 'help', 'envFile', 'notice']);
const savedPlanFlags = new Set(['out', 'plan']);

interface SavedItem {
  action: string;
  target: string;
  host?: string;
  reason: string;
  bytes: number;
  /** sha256 of the item's operation: what apply would carry out, and the facts it names. */
  decidedOn: string;
}

interface SavedTask {
  task: string;
  /** sha256 of each setting the task read (secrets left out). */
  settings: Record<string, string>;
  changes: SavedItem[];
  /** The plan as it was shown, for the person who approves it. */
  shown: string;
}

export interface SavedPlan {
  format: string;
  run: string;
  /** The time the plans were decided at: planned again under --plan at this time, so ages judge alike. */
  decidedAt: string;
  flags: Record<string, string | boolean>;
  tasks: SavedTask[];
}

type SettingsOf = (task: AnyTask) => Record<string, unknown>;

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** An operation as stable text: bytes by their hash, maps and sets by their entries. */
function fingerprint(op: unknown): string {
  return sha256(
    JSON.stringify(op, (_key, value: unknown) => {
      if (value instanceof Uint8Array) return sha256(Buffer.from(value).toString('base64'));
      if (value instanceof Map) return [...value.entries()];
      if (value instanceof Set) return [...value.values()];
      return value;
    }),
  );
}

function settingsFingerprint(spec: SettingsSpec, settings: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(spec)
      .filter((key) => !spec[key].secret)
      .map((key) => [key, sha256(JSON.stringify(settings[key] ?? null))]),
  );
}

function decisionFlags(options: ParsedOptions): Record<string, string | boolean> {
  return Object.fromEntries(
    Object.entries(options).filter(
      (entry): entry is [string, string | boolean] =>
        !presentationFlags.has(entry[0]) && !savedPlanFlags.has(entry[0]) && entry[1] !== undefined,
    ),
  );
}

function savedTask(item: RunItem, settings: Record<string, unknown>): SavedTask {
  const plan = item.plan as Plan;
  return {
    task: item.task.name,
    settings: settingsFingerprint(item.task.settings as SettingsSpec, settings),
    changes: plan.changes.map((c) => ({
      action: c.action,
      target: c.target,
      ...(c.host ? { host: c.host } : {}),
      reason: c.reason,
      bytes: c.bytes,
      decidedOn: fingerprint(c.op),
    })),
    shown: renderPlan(plan, { limit: Number.POSITIVE_INFINITY }),
  };
}

/** Writes the plans of a run that planned every task; a run with a task that failed to plan saves nothing. */
export function writeSavedPlan(
  file: string,
  run: { run: string; decidedAt: number; items: RunItem[]; options: ParsedOptions; settingsOf: SettingsOf },
): string {
  const { items, options, settingsOf } = run;
  if (items.some((item) => item.error || !item.plan))
    return `Not saved to ${file}: a task could not be planned (see above).`;
  const saved: SavedPlan = {
    format: FORMAT,
    run: run.run,
    decidedAt: new Date(run.decidedAt).toISOString(),
    flags: decisionFlags(options),
    tasks: items.map((item) => savedTask(item, settingsOf(item.task))),
  };
  writeFileSync(file, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 });
  return `Plan saved to ${file}. Apply exactly this plan with: npm run ${run.run} -- --plan ${file}`;
}

/**
 * Reads a saved plan for this run, and the options to plan with: its own flags. A flag that would
 * change the decision, written beside --plan, is refused: the saved plan's flags are the ones approved.
 */
export function readSavedPlan(file: string, run: string, options: ParsedOptions): SavedPlan {
  if (options.out) throw new UsageError('--plan and --out together: save a plan (--out), or apply one (--plan).');
  if (options.dryRun || options.check)
    throw new UsageError(`--plan applies a saved plan; to look at it without applying, read ${file}.`);
  let saved: SavedPlan;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan;
  } catch (error) {
    throw new UsageError(`--plan ${file}: cannot be read as a saved plan (${messageOf(error)}). Nothing was changed.`);
  }
  if (saved?.format !== FORMAT)
    throw new UsageError(`--plan ${file} is not a saved plan of this tool (made with --out). Nothing was changed.`);
  if (saved.run !== run)
    throw new UsageError(
      `--plan ${file} was made by ${saved.run}: apply it with npm run ${saved.run} -- --plan ${file}. Nothing was changed.`,
    );
  const added = Object.entries(decisionFlags(options))
    .filter(([flag, value]) => saved.flags[flag] !== value)
    .map(([flag]) => flag);
  if (added.length)
    throw new UsageError(
      `--plan applies the saved plan with the flags it was made with (${describeFlags(saved.flags) || 'none'}); ` +
        `leave out ${added.map((f) => `--${kebab(f)}`).join(', ')}. Nothing was changed.`,
    );
  return saved;
}

/** The options a saved plan is planned again with: its own decision flags, and --yes (it was approved). */
export function savedPlanOptions(saved: SavedPlan, options: ParsedOptions): ParsedOptions {
  return { ...options, ...saved.flags, yes: true } as ParsedOptions;
}

const kebab = (flag: string) => flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const describeFlags = (flags: Record<string, string | boolean>) =>
  Object.entries(flags)
    .filter(([, v]) => v !== false)
    .map(([f, v]) => (v === true ? `--${kebab(f)}` : `--${kebab(f)} ${v}`))
    .join(' ');

const itemKey = (c: { action: string; target: string; host?: string }) =>
  `${c.action} ${c.target}${c.host ? ` on ${c.host}` : ''}`;

/** What moved since the plan was saved, per task; empty when the new plan is the saved one. */
export function movedSince(saved: SavedPlan, items: RunItem[], settingsOf: SettingsOf): Map<RunItem, string[]> {
  const moved = new Map<RunItem, string[]>();
  items.forEach((item, index) => {
    const before = saved.tasks[index];
    if (!item.plan || item.error) return void moved.set(item, ['it could not be planned again']);
    if (before?.task !== item.task.name)
      return void moved.set(item, [`the saved plan has no plan of ${item.task.name} here`]);
    const now = savedTask(item, settingsOf(item.task));
    const lines = [
      ...Object.keys({ ...before.settings, ...now.settings })
        .filter((key) => before.settings[key] !== now.settings[key])
        .map((key) => `setting ${key} changed`),
      ...differences(before.changes, now.changes),
    ];
    if (lines.length) moved.set(item, lines);
  });
  return moved;
}

function differences(before: SavedItem[], now: SavedItem[]): string[] {
  const was = new Map(before.map((c) => [itemKey(c), c.decidedOn]));
  const is = new Map(now.map((c) => [itemKey(c), c.decidedOn]));
  return [
    ...now.filter((c) => !was.has(itemKey(c))).map((c) => `new item: ${itemKey(c)} (${c.reason})`),
    ...before.filter((c) => !is.has(itemKey(c))).map((c) => `no longer planned: ${itemKey(c)}`),
    ...now
      .filter((c) => was.has(itemKey(c)) && was.get(itemKey(c)) !== c.decidedOn)
      .map((c) => `decided on other facts now: ${itemKey(c)}`),
  ];
}

/** The error a task whose plan moved ends with: exit 1, and nothing of the run is applied. */
export function stalePlanError(file: string, lines: string[]): TaskError {
  const shown = lines.slice(0, 20).join('; ') + (lines.length > 20 ? `; and ${lines.length - 20} more` : '');
  return new TaskError(
    `the saved plan ${file} is stale: ${shown}. Nothing was changed. Plan again (--out) and approve the new plan.`,
  );
}
