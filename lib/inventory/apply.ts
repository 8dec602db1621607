/**
 * Applies the inventory plan, as one run with its own trash folder (runs.ts). The run's manifest
 * and RESTORE.sh are written before the first change, so a run killed at any point is
 * recognised, finished by the next one, and undoable meanwhile.
 *
 * In git: documents are edited, tracked removals go through `git rm`, what git does not track in
 * a removed folder (ignored caches) moves into the trash, and one commit holds exactly the
 * plan's paths (`git commit -- PATHS`, after checking the index holds nothing else for them), so
 * whatever else the user staged or changed stays as it was. Outside git, removals move into the
 * trash.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TaskError, messageOf } from '../errors.ts';
import type { Change } from '../plan.ts';
import type { Runner } from '../runner.ts';
import { emptyOutcome, type ApplyOutcome } from '../task.ts';
import {
  commitOnly,
  filesInHead,
  forgetInGit,
  isGitRepository,
  removeInGit,
  stage,
  stagedFiles,
  unstagedFiles,
} from './git.ts';
import type { InventoryOp } from './planner.ts';
import {
  afterCopy,
  beforeCopy,
  readManifest,
  runTrailer,
  trashed,
  TRASH_DIR,
  writeAtomically,
  writeManifest,
  type RunManifest,
} from './runs.ts';

export const COMMIT_MESSAGE =
  'chore(cleanup): remove legacy files, merge duplicate scripts (clean-up plan, sections 1-3)';

export interface InventoryApply {
  root: string;
  now: Date;
}

type Edit = Extract<InventoryOp, { kind: 'edit' }>;
const under = (file: string, path: string) => file === path || file.startsWith(`${path}/`);

/** The undo line for a run: the revert of its commit in git, its RESTORE.sh elsewhere. */
export function undoLine(root: string, run: string, commit?: string): string {
  const restore = `npm run clean:inventory -- --restore ${run}`;
  return commit
    ? `git -C ${root} revert --no-edit ${commit}   (or ${restore})`
    : `sh ${join(root, TRASH_DIR, run, 'RESTORE.sh')}   (or ${restore})`;
}

/** Writes the planned text over a file that still holds what the plan read; keeps the run's before/after copies. */
function edit(root: string, run: string, op: Edit): void {
  const path = join(root, op.file);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (current !== op.before)
    throw new TaskError(
      `${op.file} changed since the plan was made: not edited. Run again to plan from what it holds now.`,
    );
  // The first copy is the original: a resumed run never replaces it.
  if (op.before !== null && !existsSync(beforeCopy(root, run, op.file)))
    writeAtomically(beforeCopy(root, run, op.file), op.before);
  writeAtomically(afterCopy(root, run, op.file), op.after);
  if (current !== op.after) writeAtomically(path, op.after);
}

function moveToTrash(root: string, run: string, path: string): void {
  const into = trashed(root, run, path);
  if (existsSync(into))
    throw new TaskError(`${path}: ${into} already exists; nothing there is overwritten. Move it aside and run again.`);
  mkdirSync(dirname(into), { recursive: true });
  renameSync(join(root, path), into);
}

const exists = (root: string, path: string) => existsSync(join(root, path));

export async function applyInventory(
  runner: Runner,
  changes: Change<InventoryOp>[],
  options: InventoryApply,
): Promise<ApplyOutcome> {
  const outcome = emptyOutcome();
  if (!changes.length) return outcome;
  const { root } = options;
  const run = changes[0].op.run;
  const inGit = await isGitRepository(runner, root);
  const removals = changes.flatMap((c) => (c.op.kind === 'remove' ? [c.op.path] : []));
  // Forced over uncommitted work: git forgets the files, their working copies go to the trash.
  const keepingCopies = changes.flatMap((c) => (c.op.kind === 'remove' && c.op.keepWorkingCopy ? [c.op.path] : []));
  const edits = changes.flatMap((c) => (c.op.kind === 'edit' ? [c.op] : []));

  // 1. The run's record, before any change. A fresh run claims a folder no other run has.
  const earlier = readManifest(root, run);
  if (earlier?.state === 'done')
    throw new TaskError(
      `run ${run} is already recorded as finished in ${TRASH_DIR}/${run}: nothing was changed. Run again to plan afresh.`,
    );
  if (!earlier) {
    mkdirSync(join(root, TRASH_DIR), { recursive: true });
    mkdirSync(join(root, TRASH_DIR, run)); // fails if another run took the name meanwhile
  }
  const manifest: RunManifest = earlier ?? {
    run,
    git: inGit,
    state: 'applying',
    startedAt: options.now.toISOString(),
    removed: [],
    moved: [],
    edits: [],
  };
  const add = (list: string[], items: string[]) => list.push(...items.filter((i) => !list.includes(i)));
  if (inGit) add(manifest.removed, removals);
  add(manifest.moved, removals);
  for (const op of edits)
    if (!manifest.edits.some((e) => e.file === op.file))
      manifest.edits.push({ file: op.file, created: op.before === null && !existsSync(join(root, op.file)) });
  writeManifest(root, manifest);

  // 2. Documents and references.
  const edited: string[] = [];
  for (const change of changes) {
    if (change.op.kind !== 'edit') continue;
    try {
      edit(root, run, change.op);
      edited.push(change.op.file);
      outcome.done.push(change);
    } catch (error) {
      outcome.failed.push({ action: change.action, target: change.target, error: messageOf(error) });
    }
  }
  manifest.edits = manifest.edits.filter(
    (e) => edited.includes(e.file) || (earlier?.edits ?? []).some((x) => x.file === e.file),
  );

  // 3. Removals. In git, what git does not track (ignored caches) is left by `git rm`: it goes to the trash.
  const headFiles = inGit ? await filesInHead(runner, root, removals) : [];
  const plainRemovals = removals.filter((p) => !keepingCopies.includes(p));
  if (inGit && plainRemovals.length) await removeInGit(runner, root, plainRemovals);
  if (inGit && keepingCopies.length) await forgetInGit(runner, root, keepingCopies);
  for (const path of removals) if (exists(root, path)) moveToTrash(root, run, path);
  outcome.done.push(...changes.filter((c) => c.op.kind === 'remove'));

  // 4. One commit with exactly the plan's paths, after checking the index holds nothing else for them.
  let commit: string | undefined;
  if (inGit) {
    if (edited.length) await stage(runner, root, edited);
    const paths = [...removals.filter((p) => headFiles.some((f) => under(f, p))), ...edited];
    if (paths.length) {
      const staged = await stagedFiles(runner, root, paths);
      const unstaged = await unstagedFiles(runner, root, paths);
      const removedFiles = headFiles.filter((f) => removals.some((p) => under(f, p)));
      const unexpected = staged.filter((f) => !removedFiles.includes(f) && !edited.includes(f));
      const missing = removedFiles.filter((f) => !staged.includes(f));
      const problems = [
        unexpected.length ? `unexpected ${unexpected.join(', ')}` : '',
        missing.length ? `not staged ${missing.join(', ')}` : '',
        unstaged.length ? `changed in the working tree meanwhile ${unstaged.join(', ')}` : '',
      ].filter(Boolean);
      if (problems.length)
        throw new TaskError(
          `the index does not hold exactly the plan's changes, so nothing was committed: ` +
            `${problems.join('; ')}. Run again to plan from what is there.`,
        );
      if (staged.length) {
        commit = await commitOnly(runner, root, COMMIT_MESSAGE, runTrailer(run), paths);
      }
    }
  }
  outcome.done.push(...changes.filter((c) => c.op.kind === 'close'));

  // 5. The run is finished (a failed edit leaves it open: the next run completes it).
  if (!outcome.failed.length) manifest.state = 'done';
  if (commit) manifest.commit = commit;
  writeManifest(root, manifest);
  const undo = undoLine(root, run, commit ?? (inGit ? manifest.commit : undefined));
  outcome.figures.push({ label: 'undo', value: undo });
  return outcome;
}
