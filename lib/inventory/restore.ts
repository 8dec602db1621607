/**
 * `--restore RUN`: undoes one run, planned and confirmed like any other change. In git the run's
 * commit (found by its Cleanup-Run trailer) is reverted, which brings back its removals and its
 * document edits; what it moved into the trash (ignored files, or every removal outside git)
 * goes back where it was; documents it edited outside git get their earlier text back. Nothing
 * the user changed since is overwritten: such items are held back with the reason.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.ts';
import { emptyPlan, type Change, type Plan } from '../plan.ts';
import type { Runner } from '../runner.ts';
import { emptyOutcome, type ApplyOutcome } from '../task.ts';
import { checkoutFromHead, filesInHead, revert, runCommit, trackedChanges, unstage } from './git.ts';
import {
  afterCopy,
  beforeCopy,
  readManifest,
  runTrailer,
  trashed,
  TRASH_DIR,
  writeAtomically,
  writeManifest,
} from './runs.ts';

export type RestoreOp =
  | { kind: 'revert'; sha: string }
  | { kind: 'checkout'; path: string }
  | { kind: 'put-back'; run: string; path: string }
  /** `unstage`: the run was interrupted in git after staging the edit; the index entry goes back to HEAD too. */
  | { kind: 'restore-document'; run: string; file: string; text: string | null; unstage: boolean };

const present = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};
const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : null);

/**
 * What moves back: the whole path when nothing is there, else (a folder a revert brought back
 * with its tracked files) each trashed entry that is not there again. `clash` never moves.
 */
function putBackList(from: string, to: string, out = { back: [] as [string, string][], clash: [] as string[] }) {
  if (!present(to)) out.back.push([from, to]);
  else if (lstatSync(from).isDirectory() && lstatSync(to).isDirectory())
    for (const entry of readdirSync(from)) putBackList(join(from, entry), join(to, entry), out);
  else out.clash.push(to);
  return out;
}

export async function planRestore(runner: Runner, root: string, run: string): Promise<Plan<RestoreOp>> {
  const manifest = readManifest(root, run);
  if (!manifest) {
    const runs = existsSync(join(root, TRASH_DIR))
      ? readdirSync(join(root, TRASH_DIR)).filter((r) => readManifest(root, r))
      : [];
    throw new UsageError(
      `--restore ${run}: no such run in ${join(root, TRASH_DIR)}. ${runs.length ? `Runs there: ${runs.join(', ')}.` : 'No run is recorded there.'}`,
    );
  }
  const plan = emptyPlan<RestoreOp>('inventory');
  const commit = manifest.git ? await runCommit(runner, root, runTrailer(run)) : {};
  if (commit.sha && commit.revertedBy)
    plan.kept.push({
      target: commit.sha,
      reason: `the commit of run ${run} is already reverted by ${commit.revertedBy}`,
    });
  if (commit.sha && !commit.revertedBy) {
    const busy = await trackedChanges(runner, root);
    if (busy)
      plan.refused.push({
        target: commit.sha,
        reason:
          `git revert of run ${run} held back: the working tree has uncommitted changes ` +
          `(${busy.split('\n').slice(0, 3).join(', ')}), which a revert may not mix with`,
        remedy: 'commit or stash them, then run --restore again',
      });
    else
      plan.changes.push({
        action: 'git revert',
        target: commit.sha,
        reason: `undoes run ${run}: its ${manifest.removed.length} removals and ${manifest.edits.length} document edits come back, as a new commit`,
        bytes: 0,
        op: { kind: 'revert', sha: commit.sha },
      });
  }
  // A run interrupted before its commit: its removals are staged or on disk, its edits uncommitted.
  if (manifest.git && !commit.sha) {
    const committed = await filesInHead(runner, root, manifest.removed);
    for (const path of manifest.removed)
      if (!present(join(root, path)) && committed.some((f) => f === path || f.startsWith(`${path}/`)))
        plan.changes.push({
          action: 'git checkout',
          target: path,
          reason: `run ${run} removed it but never committed: back from HEAD`,
          bytes: 0,
          op: { kind: 'checkout', path },
        });
  }
  if (!manifest.git || !commit.sha) {
    for (const { file, created } of manifest.edits) {
      const now = read(join(root, file));
      const before = created ? null : read(beforeCopy(root, run, file));
      if (now === before) continue;
      if (now !== read(afterCopy(root, run, file))) {
        plan.refused.push({
          target: file,
          reason: `changed since run ${run} edited it: left alone (its earlier text is in ${join(TRASH_DIR, run, 'before', file)})`,
        });
        continue;
      }
      plan.changes.push({
        action: created ? 'remove created document' : 'restore document',
        target: file,
        reason: `run ${run} ${created ? 'created it' : 'edited it'}; it is unchanged since`,
        bytes: 0,
        op: { kind: 'restore-document', run, file, text: before, unstage: manifest.git },
      });
    }
  }
  for (const path of manifest.moved) {
    const from = trashed(root, run, path);
    if (!present(from)) continue;
    const { back, clash } = putBackList(from, join(root, path));
    if (!back.length) {
      plan.refused.push({
        target: path,
        reason: `exists again: left alone (run ${run}'s copy stays in ${join(TRASH_DIR, run, 'files', path)})`,
        remedy: 'move one of them aside, then run --restore again',
      });
      continue;
    }
    const note = clash.length
      ? `; ${clash.length} of its files exist again and stay in the trash (${clash
          .slice(0, 3)
          .map((c) => c.slice(root.length + 1))
          .join(', ')})`
      : '';
    plan.changes.push({
      action: 'put back',
      target: path,
      reason: `run ${run} moved it to ${join(TRASH_DIR, run, 'files', path)}${note}`,
      bytes: 0,
      op: { kind: 'put-back', run, path },
    });
  }
  plan.figures.push({ label: 'restoring run', value: `${run} (${join(root, TRASH_DIR, run)})` });
  return plan;
}

export async function applyRestore(
  runner: Runner,
  root: string,
  run: string,
  changes: Change<RestoreOp>[],
): Promise<ApplyOutcome> {
  const outcome = emptyOutcome();
  for (const change of changes) {
    const op = change.op;
    if (op.kind === 'revert') await revert(runner, root, op.sha);
    if (op.kind === 'checkout') await checkoutFromHead(runner, root, op.path);
    if (op.kind === 'put-back') {
      const { back, clash } = putBackList(trashed(root, op.run, op.path), join(root, op.path));
      for (const [from, to] of back) {
        mkdirSync(dirname(to), { recursive: true });
        renameSync(from, to);
      }
      if (clash.length) outcome.notes.push(`${op.path}: ${clash.length} files exist again and stay in the trash`);
    }
    if (op.kind === 'restore-document') {
      if (read(join(root, op.file)) !== read(afterCopy(root, op.run, op.file))) {
        outcome.failed.push({
          action: change.action,
          target: change.target,
          error: 'changed since the plan was made: left alone',
        });
        continue;
      }
      if (op.text === null) rmSync(join(root, op.file));
      else writeAtomically(join(root, op.file), op.text);
      if (op.unstage) await unstage(runner, root, op.file);
    }
    outcome.done.push(change);
  }
  // An unfinished run, once undone, is not one the next clean-up should complete.
  const manifest = readManifest(root, run);
  if (manifest?.state === 'applying' && !outcome.failed.length) writeManifest(root, { ...manifest, state: 'restored' });
  return outcome;
}
