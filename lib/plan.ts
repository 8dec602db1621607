/**
 * The one typed object between planning and applying (the changesets split): a task's `plan`
 * reads the world and returns a Plan; its `apply` receives exactly that Plan and nothing else
 * decides what changes. Every item says what, how, why, and how many bytes it frees.
 */
import { formatBytes } from './bytes.ts';

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
  /** How many kept items to list before summarising the rest. */
  keptLimit?: number;
}

/** The human rendering of a plan, as shown before the confirmation. */
export function renderPlan(plan: Plan, options: RenderOptions = {}): string {
  const keptLimit = options.keptLimit ?? 20;
  const lines: string[] = [];
  const count = plan.changes.length;
  lines.push(`── ${plan.task}: ${count === 0 ? 'nothing to change' : `${count} change${count === 1 ? '' : 's'}, frees ${formatBytes(totalBytes(plan.changes))}`}`);
  const byAction = new Map<string, Change[]>();
  for (const change of plan.changes) byAction.set(change.action, [...(byAction.get(change.action) ?? []), change]);
  for (const [action, changes] of byAction) {
    lines.push(`   ${action} (${changes.length}):`);
    for (const change of changes) {
      const where = change.host ? `[${change.host}] ` : '';
      const size = change.bytes ? `  ${formatBytes(change.bytes)}` : '';
      lines.push(`     - ${where}${change.target}${size}  — ${change.reason}`);
    }
  }
  if (plan.refused.length) {
    lines.push(`   refused (${plan.refused.length}):`);
    for (const refusal of plan.refused) lines.push(`     ! ${refusal.target}  — ${refusal.reason}${refusal.remedy ? ` (${refusal.remedy})` : ''}`);
  }
  if (plan.kept.length) {
    lines.push(`   kept (${plan.kept.length}):`);
    for (const kept of plan.kept.slice(0, keptLimit)) lines.push(`     = ${kept.host ? `[${kept.host}] ` : ''}${kept.target}  — ${kept.reason}`);
    if (plan.kept.length > keptLimit) lines.push(`     … and ${plan.kept.length - keptLimit} more (all listed in the report)`);
  }
  for (const figure of plan.figures) lines.push(`   ${figure.label}: ${figure.value}`);
  for (const note of plan.notes) lines.push(`   note: ${note}`);
  return lines.join('\n');
}
