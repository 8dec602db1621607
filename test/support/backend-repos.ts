/**
 * What the inventory tests (test/inventory.test.ts, test/inventory-processes.test.ts) share: a
 * backend repository laid out as the plan describes (sandbox/fixtures/inventory-repo.ts) in a
 * temporary folder, the task run on it in the test's process, and readers of what it left.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackendRepo } from '../../sandbox/fixtures/inventory-repo.ts';
import { inventoryTask } from '../../tasks/inventory.ts';
import { runInProcess } from './run-in-process.ts';

/** Makes temporary folders and backend repositories in them; `removeAll` after the tests. */
export function backendRepos() {
  const dirs: string[] = [];
  const temporary = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  return {
    temporary,
    repo: (options: Parameters<typeof createBackendRepo>[1] = {}) =>
      createBackendRepo(join(temporary('cleanup-backend-'), 'backend'), options),
    removeAll: () => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}

export const env = (root: string) => ({ BACKEND_DIR: root, REPORTS_DIR: join(root, '..', 'reports') });
export const git = (root: string, ...args: string[]) =>
  execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' });
export const gitLog = (root: string) => git(root, 'log', '--format=%s').trim().split('\n');
export const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');
/** The run folders in the repository's trash, oldest first. */
export const runs = (root: string) =>
  readdirSync(join(root, '.cleanup-trash'))
    .filter((r) => r !== '.gitignore')
    .sort();
/** The task run as `node tasks/inventory.ts ARGS` would, in this process (test/support/run-in-process.ts). */
export const inventory = (args: string[], settings: Record<string, string>) =>
  runInProcess('clean:inventory', [inventoryTask], args, settings);
export type Item = { target: string; reason: string; action?: string };
export const byTarget = (items: Item[]) => Object.fromEntries(items.map((i) => [i.target, i.reason]));
