/**
 * Builds the inventory plan from the lists and what BACKEND_DIR holds: DELETE and MERGE become
 * changes unless something holds them back (an unsafe path, uncommitted edits, a kept file that
 * still uses them — each refusal says why and how to proceed); ANALYZE, CONSOLIDATE and UPDATE
 * become findings with a suggested verdict; legacy-looking files no list names are reported.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { globbySync } from 'globby';
import { emptyPlan, type Plan } from '../plan.ts';
import type { Runner } from '../runner.ts';
import { isGitRepository, lastCommit, uncommitted } from './git.ts';
import { LEGACY_PATTERNS, type Section } from './lists.ts';
import { resolveListed } from './paths.ts';
import { mentionsOf, textFiles, TRASH_DIR, type Mention } from './references.ts';
import { lineDiff, overlap } from './similarity.ts';

export type InventoryOp =
  | { kind: 'delete'; path: string }
  | { kind: 'merge'; remove: string; keep: string; rewrite: string[] }
  | { kind: 'record'; document: string; removed: string[] };

export interface InventoryOptions {
  root: string;
  sections: Section[];
  statusDocument: string;
  force: boolean;
  now?: number;
}

const DAY = 86_400_000;
const join2 = (folder: string, path: string) => (folder === '.' ? path : posix.join(folder, path));

function sizeOf(root: string, path: string): number {
  const files = statSync(join(root, path)).isDirectory() ? globbySync('**/*', { cwd: join(root, path), dot: true }).map((f) => join(root, path, f)) : [join(root, path)];
  return files.reduce((sum, file) => sum + statSync(file).size, 0);
}

function where(mentions: Mention[]): string {
  return mentions.slice(0, 4).map((m) => `${m.file}:${m.line} \`${m.text}\``).join('; ') + (mentions.length > 4 ? `; and ${mentions.length - 4} more` : '');
}

export async function planInventory(runner: Runner, options: InventoryOptions): Promise<Plan<InventoryOp>> {
  const { root, force } = options;
  const now = options.now ?? Date.now();
  const plan = emptyPlan<InventoryOp>('inventory');
  const inGit = await isGitRepository(runner, root);
  const files = textFiles(root);
  const cache = new Map<string, string>();
  const contents = (file: string) => cache.get(file) ?? (cache.set(file, readFileSync(join(root, file), 'utf8')), cache.get(file)!);

  // Expand the lists into concrete, safe paths.
  const listed = new Set<string>();
  const targets: { path: string; verdict: string; note: string }[] = [];
  for (const section of options.sections) {
    for (const e of section.entries) {
      const path = join2(section.folder, e.path);
      const matches = /[*?[{]/.test(path) ? globbySync(path, { cwd: root, onlyFiles: false, dot: true, followSymbolicLinks: false }) : [path];
      for (const match of matches) {
        const resolved = resolveListed(root, match);
        if (!resolved.ok) {
          plan.refused.push({ target: match, reason: `${e.verdict} refused: ${resolved.reason}`, remedy: 'fix the path in tasks/inventory.ts' });
          continue;
        }
        listed.add(resolved.relative.replace(/\/+$/, ''));
        targets.push({ path: resolved.relative.replace(/\/+$/, ''), verdict: e.verdict, note: e.note });
      }
    }
    for (const pair of section.merge ?? []) {
      listed.add(join2(section.folder, pair.keep));
      listed.add(join2(section.folder, pair.remove));
    }
  }
  const exists = (path: string) => {
    const r = resolveListed(root, path);
    return r.ok && r.exists;
  };
  const doomed = new Set(targets.filter((t) => t.verdict === 'DELETE' && exists(t.path)).map((t) => t.path));
  const pairs = options.sections.flatMap((s) => (s.merge ?? []).map((p) => ({ ...p, keep: join2(s.folder, p.keep), remove: join2(s.folder, p.remove) })));
  for (const pair of pairs) if (exists(pair.remove)) doomed.add(pair.remove);
  const keptFiles = files.filter((f) => ![...doomed].some((d) => f === d || f.startsWith(`${d}/`)));
  const dirty = inGit ? await uncommitted(runner, root, [...doomed]) : new Set<string>();
  const isDirty = (path: string) => [...dirty].some((d) => d === path || d.startsWith(`${path}/`));
  const removed: string[] = [];

  // DELETE.
  for (const t of targets.filter((t) => t.verdict === 'DELETE')) {
    if (!doomed.has(t.path)) continue; // already gone: nothing to do
    const mentions = mentionsOf(root, t.path, keptFiles, contents);
    const code = mentions.filter((m) => m.kind === 'code');
    if (isDirty(t.path) && !force) {
      plan.refused.push({ target: t.path, reason: 'DELETE held back: it has uncommitted changes, which deleting would lose', remedy: 'commit or stash them, or rerun with --force' });
      continue;
    }
    if (code.length && !force) {
      plan.refused.push({ target: t.path, reason: `DELETE held back: still used by kept files: ${where(code)}`, remedy: 'remove those uses first, or rerun with --force' });
      continue;
    }
    removed.push(t.path);
    plan.changes.push({
      action: inGit ? 'git rm' : `move to ${TRASH_DIR}`,
      target: t.path,
      reason: `DELETE in the plan: ${t.note}${code.length ? ` (forced although used by ${where(code)})` : ''}${isDirty(t.path) ? ' (forced: its uncommitted changes are lost)' : ''}`,
      bytes: sizeOf(root, t.path),
      op: { kind: 'delete', path: t.path },
    });
  }

  // MERGE: keep the canonical copy, remove the other, point its references at the canonical path.
  for (const pair of pairs) {
    if (!exists(pair.remove)) continue;
    if (!exists(pair.keep)) {
      plan.refused.push({ target: pair.remove, reason: `MERGE held back: the copy to keep, ${pair.keep}, does not exist`, remedy: 'fix the pair in tasks/inventory.ts' });
      continue;
    }
    if (isDirty(pair.remove) && !force) {
      plan.refused.push({ target: pair.remove, reason: 'MERGE held back: it has uncommitted changes', remedy: 'commit or stash them, or rerun with --force' });
      continue;
    }
    const a = contents(pair.keep);
    const b = contents(pair.remove);
    const diff = lineDiff(b, a);
    const rewrite = [...new Set(mentionsOf(root, pair.remove, keptFiles, (f) => contents(f)).filter((m) => mentionsPath(contents(m.file), pair.remove)).map((m) => m.file))];
    removed.push(pair.remove);
    plan.changes.push({
      action: 'merge',
      target: `${pair.remove} into ${pair.keep}`,
      reason: `MERGE in the plan (${pair.note}): ${Math.round(overlap(a, b) * 100)}% the same; ${diff.length ? `differences (- only in the removed copy, + only in the kept one): ${diff.slice(0, 6).join(' | ')}` : 'identical'}${rewrite.length ? `; references updated in ${rewrite.join(', ')}` : ''}`,
      bytes: statSync(join(root, pair.remove)).size,
      op: { kind: 'merge', remove: pair.remove, keep: pair.keep, rewrite },
    });
  }

  // ANALYZE: a suggested verdict per script or document, with the figures it rests on.
  const sameKind = (path: string) => (/\.(sh|py)$/.test(path) ? (f: string) => /\.(sh|py)$/.test(f) : (f: string) => f.endsWith('.md'));
  for (const t of targets.filter((t) => t.verdict === 'ANALYZE')) {
    if (!exists(t.path)) continue;
    const text = contents(t.path);
    const referrers = [...new Set(mentionsOf(root, t.path, keptFiles, contents).map((m) => m.file))];
    const commit = inGit ? await lastCommit(runner, root, t.path) : undefined;
    const age = commit ? Math.floor((now - Date.parse(commit.date)) / DAY) : undefined;
    const twin = keptFiles
      .filter((f) => f !== t.path && sameKind(t.path)(f) && contents(f).trim())
      .map((s) => ({ s, o: overlap(text, contents(s)) }))
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
    plan.kept.push({
      target: t.path,
      reason: `ANALYZE (${t.note}): ${suggestion}. ${statSync(join(root, t.path)).size} bytes, ${lines} lines, last commit ${commit ? `${commit.date.slice(0, 10)} (${age} days ago)` : 'unknown'}, referenced by ${referrers.length ? referrers.join(', ') : 'nothing'}${twin ? `, closest file ${twin.s} (${Math.round(twin.o * 100)}% overlap)` : ''}`,
    });
  }

  // CONSOLIDATE: how much the group overlaps, and a proposal.
  for (const t of targets.filter((t) => t.verdict === 'CONSOLIDATE')) {
    if (!exists(t.path)) continue;
    const group = targets.filter((g) => g.verdict === 'CONSOLIDATE' && g.note === t.note && exists(g.path)).map((g) => g.path);
    if (group[0] !== t.path) continue;
    const scores = group.flatMap((a, i) => group.slice(i + 1).map((b) => `${a} ~ ${b} ${Math.round(overlap(contents(a), contents(b)) * 100)}%`));
    plan.kept.push({ target: `${group.length} scripts: ${group.join(', ')}`, reason: `CONSOLIDATE (${t.note}): overlaps ${scores.join('; ') || 'none'}. Proposal: fold them into scripts/deploy/webhook-remote-deploy.sh with options, then list the rest as DELETE` });
  }

  // KEEP: say so, and say when a listed file is missing.
  for (const t of targets.filter((t) => t.verdict === 'KEEP' || t.verdict === 'UPDATE')) plan.kept.push({ target: t.path, reason: exists(t.path) ? `${t.verdict} in the plan: ${t.note}` : `${t.verdict} in the plan, but it does not exist` });

  // UPDATE: every document mention of a path that is gone or about to go (merged ones are rewritten).
  const gone = [...targets.filter((t) => t.verdict === 'DELETE').map((t) => t.path), ...pairs.map((p) => p.remove)];
  const rewritten = new Set(plan.changes.flatMap((c) => (c.op.kind === 'merge' ? c.op.rewrite : [])));
  for (const path of gone) {
    const docMentions = mentionsOf(root, path, keptFiles, contents).filter((m) => m.kind === 'doc' && !rewritten.has(m.file) && m.file !== options.statusDocument);
    if (docMentions.length) plan.notes.push(`UPDATE: ${path} ${doomed.has(path) ? 'is about to go' : 'is gone'}, but documents still mention it: ${where(docMentions)}`);
  }

  // Unlisted legacy candidates: reported, never deleted unasked.
  for (const candidate of globbySync(LEGACY_PATTERNS, { cwd: root, dot: true, onlyFiles: false, ignore: ['.git/**', `${TRASH_DIR}/**`] })) {
    if (!listed.has(candidate.replace(/\/+$/, '')) && ![...listed].some((l) => candidate.startsWith(`${l}/`))) plan.kept.push({ target: candidate, reason: 'unlisted legacy candidate: looks legacy by its name, but no list names it, so it is not deleted (add it to a DELETE list to remove it)' });
  }

  // The status document records what this run removes.
  if (removed.length && exists(options.statusDocument)) {
    plan.changes.push({ action: 'record in status document', target: options.statusDocument, reason: `UPDATE in the plan: list the ${removed.length} paths this clean-up removes`, bytes: 0, op: { kind: 'record', document: options.statusDocument, removed } });
  }
  plan.figures.push({ label: 'backend repository', value: `${root} (${inGit ? 'git: removals are committed, history keeps them' : `not git: removals go to ${TRASH_DIR}/, restorable`})` });
  return plan;
}

/** Whether the text names the file by its path (a link we can rewrite), not just its name. */
function mentionsPath(text: string, path: string): boolean {
  return text.includes(path);
}
