/**
 * Folders for the demo task (test/fixtures/demo-task.ts, which deletes the *.old files of
 * DEMO_DIR) and `npm run demo` as a user types it, shared by the CLI tests (test/cli.test.ts,
 * test/cli-signals.test.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { npmRun } from './npm-run.ts';

export const project = resolve('.');
const fixtures = join(project, 'test', 'fixtures');

/** `npm run demo ARGS` in test/fixtures (its package.json runs the demo task through scripts/task.sh). */
export const demo = (args: string[], env: Record<string, string>, onStderr?: Parameters<typeof npmRun>[3]) =>
  npmRun(fixtures, ['demo', ...args], env, onStderr);

/** Makes workspaces (a temporary folder with data/ holding `files`, and where reports go); `removeAll` after the tests. */
export function demoWorkspaces() {
  const made: string[] = [];
  return {
    workspace(files = ['a.old', 'b.old', 'keep.txt']) {
      const dir = mkdtempSync(join(tmpdir(), 'cleanup-cli-'));
      made.push(dir);
      const data = join(dir, 'data');
      mkdirSync(data);
      for (const name of files) writeFileSync(join(data, name), name.endsWith('.old') ? 'old!' : 'k');
      return { dir, data, reports: join(dir, 'reports') };
    },
    removeAll() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const files = (dir: string) => readdirSync(dir).sort();
export const reportsOf = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => n.endsWith('.json'))
        .sort()
    : [];
export const lastReport = (dir: string) => JSON.parse(readFileSync(join(dir, reportsOf(dir).at(-1)!), 'utf8'));
