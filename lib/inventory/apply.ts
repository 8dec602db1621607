/**
 * Applies the inventory plan. In a git repository every removal goes through `git rm`, the
 * rewritten references and the status record are added, and one commit holds it all, touching
 * no other path (the user's other uncommitted work stays as it was). Elsewhere, removed paths
 * move into a dated trash folder with a RESTORE.sh that puts them back.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { commandLine } from '../command.ts';
import type { Change } from '../plan.ts';
import type { Runner } from '../runner.ts';
import { git, isGitRepository } from './git.ts';
import type { InventoryOp } from './planner.ts';
import { TRASH_DIR } from './references.ts';

export const COMMIT_MESSAGE = 'chore(cleanup): remove legacy files, merge duplicate scripts (clean-up plan, sections 1-3)';

export interface InventoryApply {
  root: string;
  force: boolean;
  today: string;
}

function rewriteReferences(root: string, file: string, from: string, to: string): void {
  const path = join(root, file);
  writeFileSync(path, readFileSync(path, 'utf8').split(from).join(to));
}

function record(root: string, document: string, removed: string[], today: string): void {
  const lines = [`\n## Clean-up of ${today}\n`, 'Removed by the clean-up (plan sections 1-3); git history keeps them:', ...removed.map((p) => `- \`${p}\``), ''];
  appendFileSync(join(root, document), lines.join('\n'));
}

export async function applyInventory(runner: Runner, changes: Change<InventoryOp>[], options: InventoryApply): Promise<Change<InventoryOp>[]> {
  const { root } = options;
  const inGit = await isGitRepository(runner, root);
  const removals = changes.flatMap((c) => (c.op.kind === 'delete' ? [c.op.path] : c.op.kind === 'merge' ? [c.op.remove] : []));
  const edited = new Set<string>();
  for (const change of changes) {
    if (change.op.kind !== 'merge') continue;
    for (const file of change.op.rewrite) {
      rewriteReferences(root, file, change.op.remove, change.op.keep);
      edited.add(file);
    }
  }
  for (const change of changes) {
    if (change.op.kind !== 'record') continue;
    record(root, change.op.document, change.op.removed, options.today);
    edited.add(change.op.document);
  }
  if (inGit) {
    if (removals.length) await runner.run(git.remove(root, removals, options.force));
    if (edited.size) await runner.run(git.add(root, [...edited]));
    await runner.run(git.commit(root, COMMIT_MESSAGE, [...removals, ...edited]));
  } else if (removals.length) {
    const trash = join(root, TRASH_DIR, options.today.replace(/:/g, '-'));
    const restore: string[] = [];
    for (const path of removals) {
      const into = join(trash, path);
      mkdirSync(dirname(into), { recursive: true });
      renameSync(join(root, path), into);
      restore.push(commandLine(['mv', join(TRASH_DIR, options.today.replace(/:/g, '-'), path), path]));
    }
    const script = join(trash, 'RESTORE.sh');
    appendFileSync(script, `${existsSync(script) ? '' : '#!/bin/sh\n# Run from BACKEND_DIR to put back what the clean-up moved here.\nset -e\n'}${restore.join('\n')}\n`);
  }
  return changes;
}
