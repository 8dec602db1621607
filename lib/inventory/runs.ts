/**
 * Every apply is a run with its own folder, `.cleanup-trash/<run>/`, never reused by another run
 * and never overwritten:
 *
 *   manifest.json   what the run set out to do and has done (written before the first change,
 *                   so a run killed halfway is recognised and finished by the next one)
 *   files/<path>    what it moved out of BACKEND_DIR (outside git: every removal; in git: the
 *                   ignored files git does not track, such as __pycache__)
 *   before/<path>   each document as it was before the run edited it
 *   after/<path>    each document as the run wrote it (a restore puts `before` back only while
 *                   the document is still exactly `after`, so later edits are never lost)
 *   RESTORE.sh      undoes the run: puts files back, restores documents, and in git reverts
 *                   the run's commit (found by its `Cleanup-Run:` trailer)
 *
 * The trash folder ignores itself (`.gitignore` holding `*`), so git never sees it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { commandLine } from '../command.ts';
import type { Runner } from '../runner.ts';
import { runCommit } from './git.ts';

export const TRASH_DIR = '.cleanup-trash';

export interface RunManifest {
  run: string;
  git: boolean;
  /** 'applying' until every change of the run is made (in git: committed); 'restored' once undone while unfinished. */
  state: 'applying' | 'done' | 'restored';
  startedAt: string;
  /** Paths removed with `git rm` (in git). */
  removed: string[];
  /** Paths moved into files/. */
  moved: string[];
  /** Documents edited; `created` when the run created the file. */
  edits: { file: string; created: boolean }[];
  /** The run's commit, once made (in git). */
  commit?: string;
}

export const runDir = (root: string, run: string) => join(root, TRASH_DIR, run);
export const trashed = (root: string, run: string, path: string) => join(runDir(root, run), 'files', path);
export const beforeCopy = (root: string, run: string, file: string) => join(runDir(root, run), 'before', file);
export const afterCopy = (root: string, run: string, file: string) => join(runDir(root, run), 'after', file);
export const restoreScript = (root: string, run: string) => join(runDir(root, run), 'RESTORE.sh');

/** The trailer that ties a commit to its run, so `--restore RUN` finds the commit to revert. */
export const runTrailer = (run: string) => `Cleanup-Run: ${run}`;

/** A fresh run name from the time, never one an earlier run used: 2026-12-01T19-20-05Z, then -2, -3 … */
export function newRunId(root: string, now: Date): string {
  const base = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  let run = base;
  for (let n = 2; existsSync(runDir(root, run)); n++) run = `${base}-${n}`;
  return run;
}

export function readManifest(root: string, run: string): RunManifest | undefined {
  const path = join(runDir(root, run), 'manifest.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RunManifest) : undefined;
}

/** Every run recorded in the trash, oldest first. */
export function listRuns(root: string): RunManifest[] {
  const dir = join(root, TRASH_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((run) => readManifest(root, run) ?? []);
}

/** The run an earlier apply left unfinished: killed before its commit (in git, found by its trailer) or before its end. */
export async function interruptedRun(runner: Runner, root: string, inGit: boolean): Promise<RunManifest | undefined> {
  for (const manifest of listRuns(root).reverse()) {
    if (manifest.state !== 'applying') continue;
    if (inGit && (await runCommit(runner, root, runTrailer(manifest.run))).sha) continue; // committed, killed before writing "done"
    return manifest;
  }
  return undefined;
}

/** Written atomically (temp file, then rename): a kill never leaves half a manifest. */
export function writeManifest(root: string, manifest: RunManifest): void {
  const dir = runDir(root, manifest.run);
  mkdirSync(dir, { recursive: true });
  const ignore = join(root, TRASH_DIR, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# the clean-up trash: never committed\n*\n');
  writeAtomically(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeAtomically(restoreScript(root, manifest.run), restoreScriptText(manifest), 0o755);
}

export function writeAtomically(path: string, text: string, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.cleanup-${process.pid}.tmp`;
  writeFileSync(temporary, text, mode === undefined ? undefined : { mode });
  renameSync(temporary, path);
}

/** RESTORE.sh: a plain POSIX script, run from anywhere, that undoes the run and says what it left alone. */
export function restoreScriptText(manifest: RunManifest): string {
  const q = (s: string) => commandLine([s]);
  const lines = [
    '#!/bin/sh',
    `# Undoes clean-up run ${manifest.run}: puts back what it removed and the documents it edited.`,
    '# Also: npm run clean:inventory -- --restore ' + manifest.run,
    'set -e',
    'cd "$(dirname "$0")/../.."',
    `RUN=${q(join(TRASH_DIR, manifest.run))}`,
    // A folder that exists again (a revert brought back its tracked files) gets the trashed entries it lacks.
    'put_back() {',
    '  src="$RUN/files/$1"',
    '  if [ ! -e "$src" ] && [ ! -L "$src" ]; then return 0; fi',
    '  if [ -d "$src" ] && [ ! -L "$src" ] && [ -d "$1" ] && [ ! -L "$1" ]; then',
    '    for entry in "$src"/* "$src"/.[!.]* "$src"/..?*; do',
    '      if [ -e "$entry" ] || [ -L "$entry" ]; then (put_back "$1/${entry##*/}"); fi',
    '    done',
    '    return 0',
    '  fi',
    '  if [ -e "$1" ] || [ -L "$1" ]; then echo "$1 exists again: left alone (the removed copy stays in $src)"; return 0; fi',
    '  mkdir -p "$(dirname "$1")" && mv "$src" "$1" && echo "put back $1"',
    '}',
    'restore_document() {',
    '  if [ -e "$RUN/before/$1" ]; then',
    '    if cmp -s "$RUN/after/$1" "$1"; then cp "$RUN/before/$1" "$1" && echo "restored ' +
      '$1"; elif ! cmp -s "$RUN/before/$1" "$1"; then echo "$1 changed since the clean-up: ' +
      'left alone (its earlier text is $RUN/before/$1)"; fi',
    '  elif cmp -s "$RUN/after/$1" "$1"; then rm "$1" && echo "removed $1 (the clean-up created it)"; fi',
    '}',
  ];
  if (manifest.git) {
    lines.push(
      `commit=$(git log -1 --format=%H --grep=${q(`^${runTrailer(manifest.run)}$`)})`,
      'if [ -n "$commit" ]; then',
      '  if git log --format=%H --grep="^This reverts commit $commit" | grep -q .; then echo "commit $commit is already reverted";',
      '  else git revert --no-edit "$commit"; fi',
      'else',
      // Not committed (the run was interrupted): its edits are undone one by one below.
      ...manifest.edits.map((e) => `  restore_document ${q(e.file)} && git reset -q -- ${q(e.file)}`),
      ...manifest.removed.map(
        (p) => `  git checkout HEAD -- ${q(p)} 2>/dev/null && echo "put back ${p.replace(/"/g, '')}" || true`,
      ),
      'fi',
    );
  } else {
    lines.push(...manifest.edits.map((e) => `restore_document ${q(e.file)}`));
  }
  lines.push(...manifest.moved.map((p) => `put_back ${q(p)}`));
  return lines.join('\n') + '\n';
}
