/**
 * What the inventory reports without changing: ANALYZE gets a suggested verdict with the
 * figures it rests on, CONSOLIDATE the overlap of its group, KEEP and UPDATE a line each, and
 * legacy-looking files that no list names are counted and named.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { globbySync } from 'globby';
import picomatch from 'picomatch';
import type { Kept } from '../plan.ts';
import type { Commit } from './git.ts';
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
  now: number;
  targets: Target[];
  /** The kept text files that may use a target or share a line with one (candidates.ts), in the listing's order. */
  keptFiles: string[];
  /** The first of every kept text file, in the listing's order, that `accept` takes. */
  firstKept: (accept: (file: string) => boolean) => string | undefined;
  exists: (path: string) => boolean;
  contents: (file: string) => string;
  /** The last commit of each analyzed path (read with the plan's other git reads, reads.ts); none outside git. */
  commits: Map<string, Commit | undefined>;
}

/** ANALYZE: a suggested verdict per script or document, with the figures it rests on. */
export function analyze(input: FindingsInput): Kept[] {
  const { root, keptFiles, contents } = input;
  const sameKind = (path: string) =>
    /\.(sh|py)$/.test(path) ? (f: string) => /\.(sh|py)$/.test(f) : (f: string) => f.endsWith('.md');
  const out: Kept[] = [];
  // Each file's lines are counted once for every target compared with it (thousands of files).
  const counted = new Map<string, LineCounts>();
  const countsOf = (file: string) =>
    counted.get(file) ?? (counted.set(file, lineCounts(contents(file))), counted.get(file)!);
  const analyzed = input.targets.filter((t) => t.verdict === 'ANALYZE' && input.exists(t.path));
  for (const t of analyzed) {
    const text = contents(t.path);
    const referrers = [...new Set(mentionsOf(t.path, keptFiles, contents).map((m) => m.file))];
    const commit = input.commits.get(t.path);
    const age = commit ? Math.floor((input.now - Date.parse(commit.date)) / DAY) : undefined;
    const comparable = (f: string) => f !== t.path && sameKind(t.path)(f) && contents(f).trim() !== '';
    const closest = keptFiles
      .filter(comparable)
      .map((s) => ({ s, o: overlapOf(countsOf(t.path), countsOf(s)) }))
      .sort((x, y) => y.o - x.o)[0];
    // A file sharing no line with the script is not among keptFiles: when none shares one, every
    // comparable file is 0% alike, and the first of them is the closest.
    const first = closest && closest.o > 0 ? undefined : input.firstKept(comparable);
    const twin = closest && closest.o > 0 ? closest : first === undefined ? undefined : { s: first, o: 0 };
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
      reason:
        `ANALYZE (${t.note}): ${suggestion}. ${statSync(join(root, t.path)).size} bytes, ` +
        `${lines} lines, last commit ` +
        `${commit ? `${commit.date.slice(0, 10)} (${age} days ago)` : 'unknown'}, referenced by ` +
        `${referrers.length ? referrers.join(', ') : 'nothing'}${twin ? `, closest file ${twin.s} (${Math.round(twin.o * 100)}% overlap)` : ''}`,
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
    const group = targets
      .filter((g) => g.verdict === 'CONSOLIDATE' && g.note === t.note && exists(g.path))
      .map((g) => g.path);
    if (group[0] !== t.path) continue;
    const scores = group.flatMap((a, i) =>
      group.slice(i + 1).map((b) => `${a} ~ ${b} ${Math.round(overlap(contents(a), contents(b)) * 100)}%`),
    );
    out.push({
      target: `${group.length} scripts: ${group.join(', ')}`,
      reason:
        `CONSOLIDATE (${t.note}): overlaps ${scores.join('; ') || 'none'}. Proposal: fold them ` +
        `into scripts/deploy/webhook-remote-deploy.sh with options, then list the rest as DELETE`,
    });
  }
  return out;
}

/** KEEP and UPDATE: say so, and say when a listed file is missing. */
export function keptAsListed(input: FindingsInput): Kept[] {
  return input.targets
    .filter((t) => t.verdict === 'KEEP' || t.verdict === 'UPDATE')
    .map((t) => ({
      target: t.path,
      reason: input.exists(t.path)
        ? `${t.verdict} in the plan: ${t.note}`
        : `${t.verdict} in the plan, but it does not exist`,
    }));
}

/** Legacy-looking files (by name) inside BACKEND_DIR that no list names: reported, never deleted unasked. */
export function unlistedCandidates(root: string, listed: Set<string>): string[] {
  const skipped = ['.git', TRASH_DIR, 'node_modules'];
  const names = namePatterns(LEGACY_PATTERNS);
  const found = names
    ? entriesNamed(root, names, skipped)
    : globbySync(LEGACY_PATTERNS, {
        cwd: root,
        dot: true,
        onlyFiles: false,
        ignore: skipped.map((dir) => `${dir}/**`),
      });
  return found
    .map((c) => c.replace(/\/+$/, ''))
    .filter((c) => !listed.has(c) && ![...listed].some((l) => c.startsWith(`${l}/`)))
    .sort();
}

/**
 * Patterns of LEGACY_PATTERNS' shape (any folder, then a NAME with `*` only: any characters but /,
 * a leading dot too) as one test of an entry's name; undefined for any other shape.
 */
function namePatterns(patterns: string[]): ((name: string) => boolean) | undefined {
  if (!patterns.every((p) => /^\*\*\/[^/?[\]{}()!+@\\]+$/.test(p))) return undefined;
  return picomatch(
    patterns.map((p) => p.slice(3)),
    { dot: true },
  );
}

/**
 * Every entry under root (files, folders, links) whose name matches, as the glob of the same
 * patterns finds them (links to folders followed, the skipped folders at the top aside) in a
 * third of its time on 50,000 files: one readdir per folder, no pattern run on whole paths.
 */
function entriesNamed(root: string, named: (name: string) => boolean, skipped: string[]): string[] {
  const out: string[] = [];
  const visit = (folder: string) => {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      if (!folder && skipped.includes(entry.name)) continue;
      const matches = named(entry.name);
      // Most of 50,000 entries are files that do not match: no path is built for them.
      if (!matches && !entry.isDirectory() && !entry.isSymbolicLink()) continue;
      const path = folder ? `${folder}/${entry.name}` : entry.name;
      if (matches) out.push(path);
      if (entry.isDirectory() || (entry.isSymbolicLink() && isFolder(join(root, path)))) visit(path);
    }
  };
  visit('');
  return out;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling link is an entry, not a folder
  }
}
