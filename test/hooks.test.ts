/**
 * Hooks: executable pre-/post-<task> files in HOOKS_DIR around the demo task
 * (test/fixtures/demo-task.ts), which deletes the *.old files of its folder. The task runs in this
 * process (test/support/run-in-process.ts); the hooks are real processes it starts.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runDemo as demo } from './support/run-in-process.ts';
import { howItEnded } from './support/run-task.ts';

const SECRET = 'demo-token-never-in-a-hook';

const workspaces: string[] = [];
test.after(() => {
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-hooks-'));
  workspaces.push(dir);
  const data = join(dir, 'data');
  const hooks = join(dir, 'hooks');
  mkdirSync(data);
  mkdirSync(hooks);
  for (const name of ['a.old', 'b.old', 'keep.txt']) writeFileSync(join(data, name), 'x');
  const env = { DEMO_DIR: data, DEMO_TOKEN: SECRET, REPORTS_DIR: join(dir, 'reports'), HOOKS_DIR: hooks };
  return { dir, data, hooks, env };
}

/** A hook that records its environment (and what the folder held when it ran) into `<name>.env`, then exits `code`. */
function hook(ws: ReturnType<typeof workspace>, name: string, code = 0, mode = 0o755) {
  const path = join(ws.hooks, name);
  writeFileSync(
    path,
    `#!/bin/sh\nenv > "${join(ws.dir, name)}.env"\nls "${ws.data}" > "${join(ws.dir, name)}.files"\necho "${name} says hello"\nexit ${code}\n`,
  );
  chmodSync(path, mode);
}

function recorded(ws: ReturnType<typeof workspace>, name: string): Record<string, string> {
  const text = readFileSync(join(ws.dir, `${name}.env`), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]),
  );
}

test('pre-<task> runs before anything changes and post-<task> after, with the run facts and no secret', async () => {
  const ws = workspace();
  hook(ws, 'pre-demo');
  hook(ws, 'post-demo');
  const run = await demo(['--yes'], ws.env);
  assert.is(run.code, 0, howItEnded(run));
  assert.match(run.stderr, /hook pre-demo: exit 0\n {3}pre-demo says hello/);
  assert.match(run.stderr, /hook post-demo: exit 0/);
  assert.is(readFileSync(join(ws.dir, 'pre-demo.files'), 'utf8'), 'a.old\nb.old\nkeep.txt\n');
  assert.is(readFileSync(join(ws.dir, 'post-demo.files'), 'utf8'), 'keep.txt\n');
  const pre = recorded(ws, 'pre-demo');
  const post = recorded(ws, 'post-demo');
  assert.is(pre.CLEANUP_TASK, 'demo');
  assert.is(pre.CLEANUP_RUN, 'demo');
  assert.is(pre.CLEANUP_CHANGES, '2');
  assert.ok(pre.CLEANUP_USER && pre.CLEANUP_MACHINE);
  assert.is(pre.CLEANUP_RESULT, undefined);
  assert.match(pre.CLEANUP_RUN_ID, /^[0-9a-f]{8}$/);
  assert.is(post.CLEANUP_RUN_ID, pre.CLEANUP_RUN_ID);
  assert.is(post.CLEANUP_RESULT, 'applied');
  assert.is(post.CLEANUP_APPLIED, '2');
  assert.is(post.CLEANUP_FAILED, '0');
  assert.match(post.CLEANUP_TOTALS, /^Plan: 2 changes/);
  assert.ok(existsSync(join(ws.env.REPORTS_DIR, post.CLEANUP_REPORT)), post.CLEANUP_REPORT);
  // The tool's own settings (DEMO_TOKEN, DEMO_DIR) stay out of a hook's environment.
  const dumps =
    readFileSync(join(ws.dir, 'pre-demo.env'), 'utf8') + readFileSync(join(ws.dir, 'post-demo.env'), 'utf8');
  assert.not.match(dumps, SECRET);
  assert.not.match(dumps, 'DEMO_DIR=');
});

test('a failing pre-hook stops the run before anything changes: exit 1, nothing deleted, no post-hook', async () => {
  const ws = workspace();
  hook(ws, 'pre-demo', 7);
  hook(ws, 'post-demo');
  const run = await demo(['--yes'], ws.env);
  assert.is(run.code, 1, howItEnded(run));
  assert.match(
    run.stderr,
    /hook .*pre-demo exited with 7: the run stops before applying anything; nothing was changed/,
  );
  assert.equal(readdirSync(ws.data).sort(), ['a.old', 'b.old', 'keep.txt']);
  assert.not.ok(existsSync(join(ws.dir, 'post-demo.env')));
});

test('a failing post-hook is a warning; the changes stand and the run exits 1', async () => {
  const ws = workspace();
  hook(ws, 'post-demo', 3);
  const run = await demo(['--yes'], ws.env);
  assert.is(run.code, 1, howItEnded(run));
  assert.match(run.stderr, /warning: hook .*post-demo exited with 3 after the run; what was applied stands/);
  assert.equal(readdirSync(ws.data), ['keep.txt']);
});

test('hooks run only when something is applied: not for a plan, --check or nothing to do', async () => {
  const ws = workspace();
  hook(ws, 'pre-demo');
  hook(ws, 'post-demo');
  assert.is((await demo([], ws.env)).code, 0);
  assert.is((await demo(['--check'], ws.env)).code, 3);
  assert.not.ok(existsSync(join(ws.dir, 'pre-demo.env')));
  rmSync(join(ws.data, 'a.old'));
  rmSync(join(ws.data, 'b.old'));
  assert.is((await demo(['--yes'], ws.env)).code, 0);
  assert.not.ok(existsSync(join(ws.dir, 'pre-demo.env')));
  assert.not.ok(existsSync(join(ws.dir, 'post-demo.env')));
});

test('a hook file that is not executable is exit 2, naming it and the fix; nothing changed', async () => {
  const ws = workspace();
  hook(ws, 'pre-demo', 0, 0o644);
  const run = await demo(['--yes'], ws.env);
  assert.is(run.code, 2, howItEnded(run));
  assert.match(
    run.stderr,
    /pre-demo is not executable, so the pre-demo hook cannot run; make it executable \(chmod \+x/,
  );
  assert.equal(readdirSync(ws.data).sort(), ['a.old', 'b.old', 'keep.txt']);
});

test.run();
