/**
 * The inventory figure of `npm run bench` (target 5): the inventory task's plan on a git
 * repository of 50,000 files (the backend of the clean-up plan inside a large tree), against
 * `git ls-files` plus the `git log` calls the task needs (the last commit of each path it
 * reports on). Both timed in this process; the repository is generated once into .bench/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { lastCommit } from '../lib/inventory/git.ts';
import { planInventory } from '../lib/inventory/planner.ts';
import { localRunner } from '../lib/runner.ts';
import { sections, statusDocument } from '../lib/inventory/sections.ts';
import { backendFiles } from '../sandbox/fixtures/inventory-repo.ts';
import { ratioRow, seconds, type Row } from './table.ts';

const FILES = 50_000;
const PER_FOLDER = 100;

/** The backend of the plan, plus services, libraries and docs up to FILES files, committed with a short history. */
function ensureRepository(dir: string, say: (text: string) => void): void {
  if (existsSync(join(dir, '.bench-seeded'))) return;
  const started = performance.now();
  rmSync(dir, { recursive: true, force: true });
  const files = backendFiles();
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  for (const [path, text] of Object.entries(files)) write(path, text);
  const extra = FILES - Object.keys(files).length;
  for (let i = 0; i < extra; i++) {
    const folder = Math.floor(i / PER_FOLDER);
    const kind = i % 20 === 0 ? 'md' : i % 5 === 0 ? 'sh' : 'py';
    const path = `services/svc-${String(Math.floor(folder / 10)).padStart(3, '0')}/mod-${folder % 10}/file-${i}.${kind}`;
    write(
      path,
      kind === 'md'
        ? `# Module ${i}\n\nSee file-${i + 1}.py.\n`
        : kind === 'sh'
          ? `#!/bin/sh\necho ${i}\n`
          : `import json\n\ndef f${i}():\n    return ${i}\n`,
    );
  }
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@example.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  };
  const run = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env, stdio: 'ignore' });
  run('init', '-q', '-b', 'main');
  run('add', '-A');
  run('commit', '-q', '-m', 'the backend and its services');
  // A history to search: later commits each touching a few files of the backend and the services.
  const touched = Object.keys(files).filter((p) => p.startsWith('scripts/') || p.startsWith('docs/'));
  for (let c = 0; c < 50; c++) {
    const path = touched[c % touched.length];
    write(path, `${files[path]}\n# revision ${c}\n`);
    write(`services/svc-000/mod-0/file-${c}.py`, `# revision ${c}\n`);
    run('commit', '-q', '-am', `revision ${c}`);
  }
  writeFileSync(join(dir, '.bench-seeded'), '');
  execFileSync('git', ['-C', dir, 'update-index', '--refresh'], { stdio: 'ignore' });
  say(`inventory repository of ${FILES} files written in ${seconds(performance.now() - started)}`);
}

/** The paths whose last commit the plan reports (its ANALYZE entries): what the task asks git log for. */
function analyzedPaths(): string[] {
  return sections.flatMap((s) => s.entries.filter((e) => e.verdict === 'ANALYZE').map((e) => `${s.folder}/${e.path}`));
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function inventoryBench(say: (text: string) => void): Promise<Row[]> {
  const root = resolve('.bench', `inventory-${FILES}`);
  ensureRepository(root, say);
  // The marker file is git's business as little as the repository's: keep it out of git status.
  writeFileSync(join(root, '.git', 'info', 'exclude'), '.bench-seeded\n');
  const runner = localRunner();
  const ours: number[] = [];
  const ceiling: number[] = [];
  let changes = 0;
  const paths = analyzedPaths();
  for (let i = 0; i < 2; i++) {
    say(`inventory: our plan, run ${i + 1}`);
    ours.push(
      await timed(
        async () =>
          (changes = (await planInventory(runner, { root, sections, statusDocument, force: false })).changes.length),
      ),
    );
    say(`inventory: git ls-files and git log, run ${i + 1}`);
    ceiling.push(
      await timed(async () => {
        await runner.$`git -C ${root} ls-files -z`;
        for (const path of paths) await lastCommit(runner, root, path);
      }),
    );
  }
  const oursMs = Math.min(...ours);
  const ceilingMs = Math.min(...ceiling);
  return [
    ratioRow(
      `inventory plan, ${FILES} files in git`,
      `${seconds(oursMs)} (${changes} changes planned)`,
      `git ls-files + ${paths.length} git log -1: ${seconds(ceilingMs)}`,
      oursMs / ceilingMs,
      2,
      'best of 2 each',
    ),
  ];
}
