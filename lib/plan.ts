/**
 * The one typed object between planning and applying (the changesets split): a task's `plan`
 * reads the world and returns a Plan; its `apply` receives exactly that Plan and nothing else
 * decides what changes. Every item says what, how, why, and how many bytes it frees.
 */
import { formatBytes } from './units.ts';
import type { Chart } from './charts.ts';

export interface Change<Op = unknown> {
  /** A short verb phrase: "delete manifest", "untag", "remove container", "git rm". */
  action: string;
  /** What is changed, as a user would name it: "webhook-api:test-42", "prod-1 container 3f2a…". */
  target: string;
  /** Why, in plain words; a reviewer should be able to agree or disagree from this alone. */
  reason: string;
  /** Bytes this change frees on its own (0 when none or not meaningful). */
  bytes: number;
  /** The host the change happens on, when the task spans hosts. */
  host?: string;
  /** Applied before every other change (ending an outage an earlier run left), so shown first too. */
  first?: boolean;
  /** Task-private data `apply` needs (digests, IDs); kept out of the human rendering. */
  op: Op;
}

/** A decision not to change something, with its reason: the other half of "explains every decision". */
export interface Kept {
  target: string;
  reason: string;
  host?: string;
}

/** A refused or held-back item: the tool saw it, chose not to act, and says what would let it. */
export interface Refusal {
  target: string;
  reason: string;
  /** How to proceed if the user does want it (e.g. "rerun with --force"). */
  remedy?: string;
}

export interface Figure {
  label: string;
  value: string;
}

export interface Plan<Op = unknown> {
  task: string;
  changes: Change<Op>[];
  kept: Kept[];
  refused: Refusal[];
  /** Headline figures: size now, after, limit. Shown under the plan and copied into the report. */
  figures: Figure[];
  notes: string[];
  /** The "before" of the report's charts (lib/charts.ts). */
  charts?: Chart[];
}

export function emptyPlan<Op>(task: string): Plan<Op> {
  return { task, changes: [], kept: [], refused: [], figures: [], notes: [] };
}

export function totalBytes(changes: readonly Pick<Change, 'bytes'>[]): number {
  return changes.reduce((sum, change) => sum + change.bytes, 0);
}

/** The JSON form of a change: everything but the task-private op. */
export function publicChange({ op: _op, ...rest }: Change): Omit<Change, 'op'> {
  return rest;
}

export interface RenderOptions {
  /** How many items of one group (and of the kept list) to list before counting the rest. */
  limit?: number;
}

/** What a change is grouped under in the rendering: its host, its repository, or its folder. */
export interface Place {
  kind: 'host' | 'repository' | 'folder';
  name: string;
}

/** Host when the change names one; else the repository of an image reference; else the folder of a path. */
export function placeOf(item: { target: string; host?: string }): Place {
  if (item.host) return { kind: 'host', name: item.host };
  const reference = /^([a-z0-9][a-z0-9._/-]*)[:@][^/]/.exec(item.target);
  if (reference && !item.target.includes(' into ')) return { kind: 'repository', name: reference[1] };
  const slash = item.target.lastIndexOf('/', item.target.endsWith('/') ? item.target.length - 2 : undefined);
  return { kind: 'folder', name: slash > 0 ? item.target.slice(0, slash) : '.' };
}

const byName = new Intl.Collator('en', { numeric: true }).compare;
const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
const nouns = {
  host: ['host', 'hosts'],
  repository: ['repository', 'repositories'],
  folder: ['folder', 'folders'],
} as const;

/** Changes grouped by action, then by place, both sorted (a group of `first` changes ahead); targets sorted inside each group. */
export function groupChanges<T extends { action: string; target: string; host?: string; first?: boolean }>(
  changes: readonly T[],
): { action: string; place: Place; items: T[] }[] {
  const groups = new Map<string, { action: string; place: Place; items: T[] }>();
  for (const change of changes) {
    const place = placeOf(change);
    const key = `${change.action}\u0000${place.kind}\u0000${place.name}`;
    if (!groups.has(key)) groups.set(key, { action: change.action, place, items: [] });
    groups.get(key)!.items.push(change);
  }
  const first = (group: { items: T[] }) => (group.items.some((item) => item.first) ? 0 : 1);
  const sorted = [...groups.values()].sort(
    (a, b) => first(a) - first(b) || byName(a.action, b.action) || byName(a.place.name, b.place.name),
  );
  for (const group of sorted) group.items.sort((a, b) => byName(a.target, b.target));
  return sorted;
}

/**
 * The one line that sums a plan up, or several (clean:all):
 * "Plan: 4,930 changes (4,930 delete manifest) in 18 repositories, 41.3 MB to reclaim; 12 kept".
 */
export function totalLine(plans: readonly Plan[]): string {
  const changes = plans.flatMap((p) => p.changes);
  const kept = plans.reduce((n, p) => n + p.kept.length, 0);
  const refused = plans.reduce((n, p) => n + p.refused.length, 0);
  const actions = new Map<string, number>();
  for (const change of changes) actions.set(change.action, (actions.get(change.action) ?? 0) + 1);
  const places = new Map<string, Place>();
  for (const change of changes) {
    const place = placeOf(change);
    places.set(`${place.kind}\u0000${place.name}`, place);
  }
  const kinds = new Set([...places.values()].map((p) => p.kind));
  const where =
    kinds.size === 1
      ? plural(places.size, ...(nouns[[...kinds][0]] as unknown as [string, string]))
      : plural(places.size, 'place');
  // The five commonest actions by name; a long chain (clean:all) counts the rest.
  const ranked = [...actions].sort((a, b) => b[1] - a[1] || byName(a[0], b[0]));
  const named = ranked.slice(0, 5).map(([action, n]) => `${count(n)} ${action}`);
  const others = ranked.slice(5).reduce((n, [, k]) => n + k, 0);
  const breakdown = [
    ...named,
    ...(others ? [`${count(others)} more (${plural(ranked.length - 5, 'other action')})`] : []),
  ].join(', ');
  const what =
    changes.length === 0
      ? 'nothing to change'
      : `${plural(changes.length, 'change')} (${breakdown}) in ${where}, ${formatBytes(totalBytes(changes))} to reclaim`;
  const decided = [`${count(kept)} kept`, ...(refused ? [`${count(refused)} refused`] : [])].join(', ');
  return `Plan: ${what}; ${decided}`;
}

/** The human rendering of a plan, as shown before the confirmation. */
export function renderPlan(plan: Plan, options: RenderOptions = {}): string {
  const limit = Math.max(1, options.limit ?? 20);
  const lines: string[] = [];
  const n = plan.changes.length;
  lines.push(
    `── ${plan.task}: ${n === 0 ? 'nothing to change' : `${plural(n, 'change')}, frees ${formatBytes(totalBytes(plan.changes))}`}`,
  );
  const more = (left: number) =>
    `       … and ${count(left)} more (--verbose lists them all; the report has every one)`;
  for (const group of groupChanges(plan.changes)) {
    const bytes = totalBytes(group.items);
    lines.push(
      `   ${group.action} ${group.place.kind === 'host' ? 'on' : 'in'} ${group.place.kind} ` +
        `${group.place.name} ` +
        `(${count(group.items.length)}${bytes ? `, ${formatBytes(bytes)}` : ''}):`,
    );
    for (const change of group.items.slice(0, limit)) {
      const size = change.bytes ? `  ${formatBytes(change.bytes)}` : '';
      lines.push(`     - ${change.target}${size}  — ${change.reason}`);
    }
    if (group.items.length > limit) lines.push(more(group.items.length - limit));
  }
  if (plan.refused.length) {
    const refused = [...plan.refused].sort((a, b) => byName(a.target, b.target));
    lines.push(`   refused (${count(refused.length)}):`);
    for (const refusal of refused.slice(0, limit))
      lines.push(`     ! ${refusal.target}  — ${refusal.reason}${refusal.remedy ? ` (${refusal.remedy})` : ''}`);
    if (refused.length > limit) lines.push(more(refused.length - limit));
  }
  if (plan.kept.length) {
    const kept = [...plan.kept].sort((a, b) => byName(a.host ?? '', b.host ?? '') || byName(a.target, b.target));
    lines.push(`   kept (${count(kept.length)}):`);
    for (const item of kept.slice(0, limit))
      lines.push(`     = ${item.host ? `[${item.host}] ` : ''}${item.target}  — ${item.reason}`);
    if (kept.length > limit) lines.push(more(kept.length - limit));
  }
  for (const figure of plan.figures) lines.push(`   ${figure.label}: ${figure.value}`);
  for (const note of plan.notes) lines.push(`   note: ${note}`);
  lines.push(`   ${totalLine([plan])}`);
  return lines.join('\n');
}
