/**
 * What the inventory reports without changing: ANALYZE gets a suggested verdict with the
 * figures it rests on, CONSOLIDATE the overlap of its group, KEEP and UPDATE a line each, and
 * legacy-looking files that no list names are counted and named.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { globbySync } from 'globby';
import type { Kept } from '../plan.ts';
import type { Runner } from '../runner.ts';
import { lastCommit } from './git.ts';
import { LEGACY_PATTERNS } from './lists.ts';
import { mentionsOf } from './references.ts';
import { TRASH_DIR } from './runs.ts';
import { lineCounts, overlap, overlapOf, type LineCounts } from './similarity.ts';

const DAY = 86_400_000;

export interface Target {
  path: string;
  verdict: string;
  note: string;
}

export interface FindingsInput {
  root: string;
  inGit: boolean;
  now: number;
  targets: Target[];
  keptFiles: string[];
  exists: (path: string) => boolean;
  contents: (file: string) => string;
}

/** ANALYZE: a suggested verdict per script or document, with the figures it rests on. */
export async function analyze(runner: Runner, input: FindingsInput): Promise<Kept[]> {
  const { root, keptFiles, contents } = input;
  const sameKind = (path: string) => (/\.(sh|py)$/.test(path) ? (f: string) => /\.(sh|py)$/.test(f) : (f: string) => f.endsWith('.md'));
  const out: Kept[] = [];
  // Each file's lines are counted once for every target compared with it (thousands of files).
  const counted = new Map<string, LineCounts>();
  const countsOf = (file: string) => counted.get(file) ?? (counted.set(file, lineCounts(contents(file))), counted.get(file)!);
  for (const t of input.targets.filter((t) => t.verdict === 'ANALYZE')) {
    if (!input.exists(t.path)) continue;
    const text = contents(t.path);
    const referrers = [...new Set(mentionsOf(t.path, keptFiles, contents).map((m) => m.file))];
    const commit = input.inGit ? await lastCommit(runner, root, t.path) : undefined;
    const age = commit ? Math.floor((input.now - Date.parse(commit.date)) / DAY) : undefined;
    const twin = keptFiles
      .filter((f) => f !== t.path && sameKind(t.path)(f) && contents(f).trim())
      .map((s) => ({ s, o: overlapOf(countsOf(t.path), countsOf(s)) }))
      .sort((x, y) => y.o - x.o)[0];
    const suggestion =
      twin && twin.o >= 0.8
        ? `suggest MERGE into ${twin.s}: ${Math.round(twin.o * 100)}% the same once comments are set aside`
        : referrers.length === 0 && age !== undefined && age > 365
          ? 'suggest DELETE: nothing references it and it is untouched for over a year'
          : referrers.length === 0
            ? 'suggest DELETE after review: nothing references it'
            : `suggest KEEP: used by ${referrers.slice(0, 3).join(', ')}`;
    const lines = text.split('\n').length;
    out.push({
      target: t.path,
      reason: `ANALYZE (${t.note}): ${suggestion}. ${statSync(join(root, t.path)).size} bytes, ${lines} lines, last commit ${commit ? `${commit.date.slice(0, 10)} (${age} days ago)` : 'unknown'}, referenced by ${referrers.length ? referrers.join(', ') : 'nothing'}${twin ? `, closest file ${twin.s} (${Math.round(twin.o * 100)}% overlap)` : ''}`,
    });
  }
  return out;
}

/** CONSOLIDATE: how much each group overlaps, and a proposal. */
export function consolidate(input: FindingsInput): Kept[] {
  const { targets, exists, contents } = input;
  const out: Kept[] = [];
  for (const t of targets.filter((t) => t.verdict === 'CONSOLIDATE')) {
    if (!exists(t.path)) continue;
    const group = targets.filter((g) => g.verdict === 'CONSOLIDATE' && g.note === t.note && exists(g.path)).map((g) => g.path);
    if (group[0] !== t.path) continue;
    const scores = group.flatMap((a, i) => group.slice(i + 1).map((b) => `${a} ~ ${b} ${Math.round(overlap(contents(a), contents(b)) * 100)}%`));
    out.push({
      target: `${group.length} scripts: ${group.join(', ')}`,
      reason: `CONSOLIDATE (${t.note}): overlaps ${scores.join('; ') || 'none'}. Proposal: fold them into scripts/deploy/webhook-remote-deploy.sh with options, then list the rest as DELETE`,
    });
  }
  return out;
}

/** KEEP and UPDATE: say so, and say when a listed file is missing. */
export function keptAsListed(input: FindingsInput): Kept[] {
  return input.targets.filter((t) => t.verdict === 'KEEP' || t.verdict === 'UPDATE').map((t) => ({ target: t.path, reason: input.exists(t.path) ? `${t.verdict} in the plan: ${t.note}` : `${t.verdict} in the plan, but it does not exist` }));
}

/** Legacy-looking files (by name) inside BACKEND_DIR that no list names: reported, never deleted unasked. */
export function unlistedCandidates(root: string, listed: Set<string>): string[] {
  return globbySync(LEGACY_PATTERNS, { cwd: root, dot: true, onlyFiles: false, ignore: ['.git/**', `${TRASH_DIR}/**`, 'node_modules/**'] })
    .map((c) => c.replace(/\/+$/, ''))
    .filter((c) => !listed.has(c) && ![...listed].some((l) => c.startsWith(`${l}/`)))
    .sort();
}
