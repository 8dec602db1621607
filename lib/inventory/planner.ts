/**
 * Builds the inventory plan from the lists and what BACKEND_DIR holds. Every decision is made
 * here and shown; apply only carries it out:
 *
 * - DELETE and MERGE removals, unless something holds them back (an unsafe path, uncommitted
 *   work in them, a kept file that still uses them: each refusal says why and how to proceed);
 * - document edits (section 3): each line naming a removed file rewritten to the kept copy or
 *   dropped, shown as a diff; references in code to a merged copy rewritten; a file with
 *   uncommitted changes is never edited (it is shown as skipped);
 * - the status document's record of the run;
 * - what an interrupted earlier run left undone (the plan says it is completing that run).
 *
 * ANALYZE, CONSOLIDATE, KEEP and unlisted candidates are findings (findings.ts). What it reads
 * comes from the lists (targets.ts), git (reads.ts, ignored.ts) and the disk (disk.ts).
 * About 190 lines: one pass whose decisions feed each other (removals, then the edits they
 * need, then the record of both), kept in one function so the plan is read in its order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyPlan, type Plan } from '../plan.ts';
import type { Runner } from '../runner.ts';
import { filesToRead, firstTextFile } from './candidates.ts';
import { editDocument, statusRecord, type Gone } from './doc-edits.ts';
import { analyze, consolidate, keptAsListed, unlistedCandidates } from './findings.ts';
import { assertNoIndexLock, repositoryOf } from './git.ts';
import { ignoredUnder } from './ignored.ts';
import type { Section } from './lists.ts';
import { assertSomeListedExists, listedExists } from './paths.ts';
import { onDisk, readRepository, sizeOf } from './reads.ts';
import { kindOf, mentionsOf, where } from './references.ts';
import { afterCopy, interruptedRun, newRunId, TRASH_DIR } from './runs.ts';
import { lineDiff, meaningful, overlap } from './similarity.ts';
import { expandLists, type Removal } from './targets.ts';
import { useNeedles, usesIn } from './uses.ts';

export type InventoryOp =
  /** In git: `git rm` what is tracked, move what git does not track into the trash, commit. Elsewhere: move into the trash. */
  | { kind: 'remove'; run: string; path: string; keepWorkingCopy?: boolean }
  /** Write `after` over a file that still holds `before` (null: the file does not exist yet). */
  | { kind: 'edit'; run: string; file: string; before: string | null; after: string }
  /** An interrupted run whose every change is made: mark it finished. */
  | { kind: 'close'; run: string };

export interface InventoryOptions {
  root: string;
  sections: Section[];
  statusDocument: string;
  force: boolean;
  now?: number;
}

/** How many unlisted candidates the summary names (the rest are counted, and all are in the report). */
const NAMED_CANDIDATES = 10;

const under = (file: string, path: string) => file === path || file.startsWith(`${path}/`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function planInventory(runner: Runner, options: InventoryOptions): Promise<Plan<InventoryOp>> {
  const { root, force, statusDocument } = options;
  const now = options.now ?? Date.now();
  const plan = emptyPlan<InventoryOp>('inventory');
  const repository = await repositoryOf(runner, root);
  const inGit = repository !== undefined;
  if (repository) assertNoIndexLock(root, repository.gitDir);
  const earlier = await interruptedRun(runner, root, inGit);
  const run = earlier?.run ?? newRunId(root, new Date(now));
  const completing = earlier ? `completing the earlier run ${run}: ` : '';
  const cache = new Map<string, string>();
  const contents = (file: string) =>
    cache.get(file) ?? (cache.set(file, readFileSync(join(root, file), 'utf8')), cache.get(file)!);
  const exists = listedExists(root);

  // The lists as concrete, safe paths (targets.ts).
  const { listed, targets, pairs, wanted, refused } = expandLists(root, options.sections);
  assertSomeListedExists(root, listed, exists);
  plan.refused.push(...refused);

  // The files that may use a path to remove or to analyze, or share a line with a script to analyze (candidates.ts).
  const analyzed = targets.filter((t) => t.verdict === 'ANALYZE' && exists(t.path)).map((t) => t.path);
  const needles = [
    ...[...wanted.map((w) => w.path), ...analyzed].flatMap(useNeedles),
    ...analyzed.flatMap((path) => meaningful(contents(path))),
  ];
  // What git says, read at once (reads.ts). What is still there to remove: on disk, or (in git) gone from disk but still committed.
  // The walk for legacy-looking names (findings.ts) is this process's own work: it runs while git's processes do.
  const [{ listing, headFiles, tree, hits, commits }, candidates] = await Promise.all([
    readRepository(runner, root, repository?.prefix, { removals: wanted.map((w) => w.path), analyzed, needles }),
    Promise.resolve().then(() => unlistedCandidates(root, listed)),
  ]);
  const files = filesToRead(root, listing, tree.unlikeIndex, hits);
  const committed = (path: string) => headFiles.some((f) => under(f, path));
  const pending = wanted.filter((w) => onDisk(root, w.path) || committed(w.path));
  const dirty = tree.uncommitted;
  const dirtyUnder = (path: string) => [...dirty].filter((d) => under(d, path));

  const removing = new Map<string, Removal>();
  for (const w of pending) {
    const pair = pairs.find((p) => p.remove === w.path);
    if (pair && !exists(pair.keep)) {
      plan.refused.push({
        target: w.path,
        reason: `MERGE held back: the copy to keep, ${pair.keep}, does not exist`,
        remedy: 'fix the pair in lib/inventory/sections.ts',
      });
      continue;
    }
    if (dirtyUnder(w.path).length && !force) {
      plan.refused.push({
        target: w.path,
        reason:
          `${w.keep ? 'MERGE' : 'DELETE'} held back: it has uncommitted changes, which removing ` +
          `would lose (${dirtyUnder(w.path).slice(0, 3).join(', ')})`,
        remedy: 'commit or stash them, or rerun with --force',
      });
      continue;
    }
    removing.set(w.path, w);
  }

  // Files the user changed and has not committed are never edited (nor swept into our commit);
  // an edit an interrupted run of ours made is recognised by its recorded text.
  const editCandidates = files.filter((f) => f !== statusDocument && !wanted.some((w) => under(f, w.path)));
  const oursFromEarlier = (file: string) =>
    Boolean(earlier?.edits.some((e) => e.file === file)) &&
    existsSync(afterCopy(root, run, file)) &&
    existsSync(join(root, file)) &&
    readFileSync(afterCopy(root, run, file), 'utf8') === contents(file);
  const userChanged = (file: string) => dirty.has(file) && !oursFromEarlier(file) && !force;

  // A removal a kept file still uses is held back, with the referrer's path and line. Holding one
  // back keeps its files, whose own uses may hold back another: repeat until nothing changes.
  const merges = () => [...removing.values()].filter((r) => r.keep).map((r) => ({ path: r.path, keep: r.keep }));
  for (let changed = true; changed;) {
    changed = false;
    const kept = files.filter((f) => ![...removing.keys()].some((p) => under(f, p)));
    for (const removal of [...removing.values()]) {
      const uses = mentionsOf(removal.path, kept, contents).filter((m) => m.kind === 'code');
      // A use of a merged copy is rewritten to the kept one, where a text edit can follow it.
      const remaining = uses.filter(
        (use) =>
          !removal.keep ||
          userChanged(use.file) ||
          usesIn(use.file, editDocument(use.file, use.text, merges(), { bareName: false }).text, removal.path).length >
            0,
      );
      if (!remaining.length) continue;
      if (force) {
        removal.note += ` (forced although used by ${where(remaining)})`;
        continue;
      }
      const blocked = remaining.filter((u) => userChanged(u.file) && removal.keep);
      plan.refused.push({
        target: removal.path,
        reason:
          `${removal.keep ? 'MERGE' : 'DELETE'} held back: still used by kept files: ` +
          `${where(remaining)}${blocked.length ? ` (${blocked[0].file} has uncommitted changes, so its reference is not rewritten)` : ''}`,
        remedy: 'remove those uses first, or rerun with --force',
      });
      removing.delete(removal.path);
      changed = true;
    }
  }

  // Removals, in the lists' order.
  const ignored = inGit
    ? await ignoredUnder(
        runner,
        root,
        [...removing.keys()].filter((path) => onDisk(root, path)),
        listing.files,
      )
    : new Map<string, string[]>();
  for (const removal of removing.values()) {
    const present = onDisk(root, removal.path);
    const ignoredFiles = ignored.get(removal.path) ?? [];
    const action = removal.keep
      ? `merge into ${removal.keep}`
      : !present
        ? 'commit removal'
        : inGit
          ? 'git rm'
          : `move to ${TRASH_DIR}`;
    const details = [
      !present ? `${completing || 'already gone from the working tree; '}its removal is not committed yet` : '',
      ignoredFiles.length
        ? `with ${plural(ignoredFiles.length, 'file')} git does not track ` +
          `(${ignoredFiles.slice(0, 3).join(', ')}${ignoredFiles.length > 3 ? ', …' : ''}), moved ` +
          `to ${TRASH_DIR}/${run}/files/`
        : '',
      force && dirtyUnder(removal.path).length
        ? `forced: its uncommitted changes are kept in ${TRASH_DIR}/${run}/files/`
        : '',
    ].filter(Boolean);
    let reason = removal.note + (details.length ? `; ${details.join('; ')}` : '');
    if (removal.keep && present) {
      const a = contents(removal.keep);
      const b = contents(removal.path);
      const diff = lineDiff(b, a);
      reason =
        `${removal.note}: ${Math.round(overlap(a, b) * 100)}% the same; ` +
        `${diff.length ? `differences (- only in the removed copy, + only in the kept one): ${diff.slice(0, 6).join(' | ')}` : 'identical'}`;
    }
    plan.changes.push({
      action,
      target: removal.path,
      reason,
      bytes: sizeOf(root, removal.path),
      op: {
        kind: 'remove',
        run,
        path: removal.path,
        ...(inGit && present && dirtyUnder(removal.path).length ? { keepWorkingCopy: true } : {}),
      },
    });
  }

  // Section 3: edits of every kept file that names a removed path (documents) or uses a merged
  // copy (code). Paths already gone count too: a document still naming them is out of date.
  const refusedPaths = new Set(plan.refused.map((r) => r.target));
  const gone: Gone[] = wanted
    .filter((w) => removing.has(w.path) || (!refusedPaths.has(w.path) && !pending.includes(w)))
    .map((w) => ({ path: w.path, ...(w.keep ? { keep: w.keep } : {}) }));
  const keptNow = editCandidates.filter((f) => ![...removing.keys()].some((p) => under(f, p)));
  for (const file of keptNow) {
    const doc = kindOf(file) === 'doc';
    const relevant = doc ? gone : gone.filter((g) => g.keep);
    if (!relevant.some((g) => usesIn(file, contents(file), g.path).length)) continue;
    const edit = editDocument(file, contents(file), relevant, { bareName: doc });
    if (!edit.diff.length) continue;
    if (userChanged(file)) {
      plan.refused.push({
        target: file,
        reason: `edit skipped: has uncommitted changes: skipped (it names ${relevant
          .filter((g) => usesIn(file, contents(file), g.path).length)
          .map((g) => g.path)
          .join(', ')}); wanted:\n${indent(edit.diff)}`,
        remedy: 'commit or stash your changes and run again, or rerun with --force',
      });
      continue;
    }
    const forced =
      dirty.has(file) && !oursFromEarlier(file)
        ? ' (forced: your uncommitted changes in it are committed with the clean-up)'
        : '';
    plan.changes.push({
      action: doc ? 'update document' : 'rewrite reference',
      target: file,
      reason:
        `UPDATE (plan section 3): ` +
        `${doc ? 'lines naming removed files rewritten to the kept copy, or dropped' : 'points at the kept copy'}${forced}:\n${indent(edit.diff)}`,
      bytes: 0,
      op: { kind: 'edit', run, file, before: contents(file), after: edit.text },
    });
  }
  // Edits an interrupted run made but did not commit: commit them as they are.
  for (const file of inGit ? (earlier?.edits ?? []).map((e) => e.file) : []) {
    if (
      plan.changes.some((c) => c.op.kind === 'edit' && c.op.file === file) ||
      !dirty.has(file) ||
      !oursFromEarlier(file)
    )
      continue;
    plan.changes.push({
      action: 'commit edit',
      target: file,
      reason: `${completing}edited by that run, not committed yet`,
      bytes: 0,
      op: { kind: 'edit', run, file, before: contents(file), after: contents(file) },
    });
  }

  // The status document records what this run removes (plan section 3, UPDATE).
  const removed = [...removing.keys()];
  if (
    removed.length &&
    !plan.changes.some((c) => c.op.kind === 'edit' && c.op.file === statusDocument) &&
    !oursFromEarlier(statusDocument)
  ) {
    const before = existsSync(join(root, statusDocument)) ? contents(statusDocument) : null;
    if (before !== null && userChanged(statusDocument)) {
      plan.refused.push({
        target: statusDocument,
        reason: 'record of the run skipped: has uncommitted changes: skipped',
        remedy: 'commit or stash your changes and run again, or rerun with --force',
      });
    } else {
      const edited = plan.changes.filter((c) => c.op.kind === 'edit').map((c) => c.target);
      const record = statusRecord(run, new Date(now), removed, edited);
      plan.changes.push({
        action: before === null ? 'create status document' : 'record in status document',
        target: statusDocument,
        reason: `UPDATE in the plan: record this run (${plural(removed.length, 'path')} removed, ${plural(edited.length, 'file')} updated, how to undo it)`,
        bytes: 0,
        op: { kind: 'edit', run, file: statusDocument, before, after: `${before ?? '# Current status\n'}${record}` },
      });
    }
  }
  if (earlier && !plan.changes.length)
    plan.changes.push({
      action: 'close run',
      target: `${TRASH_DIR}/${run}`,
      reason: `${completing}everything it set out to do is done; mark it finished`,
      bytes: 0,
      op: { kind: 'close', run },
    });

  // Findings: nothing changes for these.
  const keptFiles = files.filter((f) => ![...removing.keys()].some((p) => under(f, p)));
  const firstKept = (accept: (file: string) => boolean) =>
    firstTextFile(root, listing, (f) => ![...removing.keys()].some((p) => under(f, p)) && accept(f));
  const findings = { root, now, targets, keptFiles, firstKept, exists, contents, commits };
  plan.kept.push(...analyze(findings), ...consolidate(findings), ...keptAsListed(findings));
  for (const candidate of candidates)
    plan.kept.push({
      target: candidate,
      reason:
        'unlisted legacy candidate: looks legacy by its name, but no list names it, so it is not deleted (add it to a DELETE list to remove it)',
    });

  if (earlier)
    plan.notes.push(
      `This run is ${completing.replace(/: $/, '')}, which was interrupted before it ` +
        `${inGit ? 'committed' : 'finished'}; it finishes it in the same trash ` +
        `folder${inGit ? ' and one commit' : ''}.`,
    );
  plan.figures.push({
    label: 'backend repository',
    value: `${root} (${inGit ? 'git: removals are committed, history keeps them' : `not git: removals go to ${TRASH_DIR}/, restorable`})`,
  });
  if (plan.changes.length)
    plan.figures.push({
      label: 'run',
      value:
        `${run}${earlier ? ' (an interrupted earlier run, completed now)' : ''}: undo it with ` +
        `npm run clean:inventory -- --restore ${run}, or sh ${TRASH_DIR}/${run}/RESTORE.sh`,
    });
  plan.figures.push({
    label: 'unlisted legacy candidates',
    value: candidates.length
      ? `${candidates.length}: ${candidates.slice(0, NAMED_CANDIDATES).join(', ')}` +
        (candidates.length > NAMED_CANDIDATES
          ? `, and ${candidates.length - NAMED_CANDIDATES} more in the report`
          : '') +
        ` (not deleted: add them to a DELETE list in lib/inventory/sections.ts to remove them)`
      : '0',
  });
  return plan;
}

const indent = (diff: string[]) => diff.map((line) => `         ${line}`).join('\n');
