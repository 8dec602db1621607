/**
 * The pipeline's steps on the demo task (test/fixtures/demo-task.ts): settings, flags, plan,
 * apply, report, Ctrl-C. The task runs in this process (test/support/run-in-process.ts), but for
 * Ctrl-C, which needs a process of its own to signal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runDemo as run } from './support/run-in-process.ts';
import { howItEnded, taskEnvironment } from './support/run-task.ts';

const SECRET = 'hunter2-very-secret';

const workspaces: string[] = [];
test.after(() => {
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-pipeline-'));
  workspaces.push(dir);
  const data = join(dir, 'data');
  spawnSync('mkdir', [data]);
  writeFileSync(join(data, 'a.old'), 'aaaa');
  writeFileSync(join(data, 'b.old'), 'bb');
  writeFileSync(join(data, 'keep.txt'), 'k');
  return { dir, data, reports: join(dir, 'reports') };
}

test('bad settings: every problem listed at once, exit 2, nothing touched', async () => {
  const ws = workspace();
  const { code, stderr } = await run(['--yes'], { DEMO_LIMIT: 'many', REPORTS_DIR: ws.reports });
  assert.is(code, 2);
  assert.match(stderr, /2 problems/);
  assert.match(stderr, /DEMO_DIR is not set/);
  assert.match(stderr, /DEMO_LIMIT must be a whole number \(1 or more\), not "many"/);
  assert.match(stderr, /example:  DEMO_LIMIT=10/);
  assert.equal(readdirSync(ws.data).sort(), ['a.old', 'b.old', 'keep.txt']);
});

test('an unknown flag is refused with exit 2', async () => {
  const ws = workspace();
  const { code, stderr } = await run(['--dry-rn'], { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports });
  assert.is(code, 2);
  assert.match(stderr, /Unknown option '--dry-rn'/);
  assert.match(stderr, /--dry-run/);
});

test('without a terminal and without --yes, it plans only and says how to apply', async () => {
  const ws = workspace();
  const { code, stderr } = await run([], { DEMO_DIR: ws.data, DEMO_TOKEN: SECRET, REPORTS_DIR: ws.reports });
  assert.is(code, 0);
  assert.match(stderr, /delete file in folder \. \(2, 6 B\)/);
  assert.match(stderr, /Plan: 2 changes \(2 delete file\) in 1 folder, 6 B to reclaim; 1 kept/);
  assert.match(stderr, /run again with --yes/);
  assert.equal(readdirSync(ws.data).sort(), ['a.old', 'b.old', 'keep.txt']);
  assert.not.match(stderr, SECRET);
  const [file] = readdirSync(ws.reports).filter((name) => name.endsWith('.json'));
  const report = JSON.parse(readFileSync(join(ws.reports, file), 'utf8'));
  assert.is(report.mode, 'plan');
  assert.is(report.summary.changes, 2);
});

test('--yes --json applies, prints the report on stdout alone, redacts secrets; a second run plans nothing', async () => {
  const ws = workspace();
  const env = { DEMO_DIR: ws.data, DEMO_TOKEN: SECRET, REPORTS_DIR: ws.reports };
  const first = await run(['--yes', '--json'], env);
  assert.is(first.code, 0, howItEnded(first));
  const report = JSON.parse(first.stdout);
  assert.is(report.task, 'demo');
  assert.is(report.mode, 'apply');
  assert.is(report.status, 'applied');
  assert.equal(
    report.changes.map((c: { target: string }) => c.target),
    ['a.old', 'b.old'],
  );
  assert.equal(Object.keys(report.changes[0]).sort(), ['action', 'bytes', 'reason', 'target']);
  assert.is(report.summary.changes, 2);
  assert.is(report.summary.bytes, 6);
  assert.is(report.checks[0].passed, true);
  assert.not.match(first.stdout + first.stderr, SECRET);
  for (const file of readdirSync(ws.reports)) assert.not.match(readFileSync(join(ws.reports, file), 'utf8'), SECRET);
  assert.equal(readdirSync(ws.data), ['keep.txt']);

  const second = await run(['--yes', '--json'], env);
  assert.is(second.code, 0);
  assert.is(JSON.parse(second.stdout).summary.changes, 0);
  assert.match(second.stderr, /Nothing to change/);
});

test('--dry-run changes nothing even with a terminal-free run', async () => {
  const ws = workspace();
  const { code, stderr } = await run(['--dry-run'], { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports });
  assert.is(code, 0);
  assert.match(stderr, /Dry run: nothing was changed/);
  assert.ok(existsSync(join(ws.data, 'a.old')));
});

test('a failing plan exits 1 and is reported', async () => {
  const ws = workspace();
  const { code, stdout } = await run(['--yes', '--json'], {
    DEMO_DIR: join(ws.dir, 'missing'),
    REPORTS_DIR: ws.reports,
  });
  assert.is(code, 1);
  const report = JSON.parse(stdout);
  assert.is(report.status, 'failed');
  assert.match(report.error, /ENOENT/);
});

test('Ctrl-C stops between items, runs the clean-up hooks and exits 130', async () => {
  const ws = workspace();
  const mark = join(ws.dir, 'closed');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/demo-task.ts', '--yes'], {
    env: taskEnvironment({
      DEMO_DIR: ws.data,
      REPORTS_DIR: ws.reports,
      DEMO_SLOW_MS: '1500',
      DEMO_CLOSE_MARK: mark,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  await new Promise<void>((resolve) => child.stderr.on('data', () => stderr.includes('Apply:') && resolve()));
  child.kill('SIGINT');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.is(code, 130, stderr);
  assert.match(stderr, /SIGINT: nothing new starts; finishing the step under way/);
  assert.ok(existsSync(mark), 'the onClose hook ran');
  assert.equal(readdirSync(ws.data).sort(), ['a.old', 'b.old', 'keep.txt'], 'nothing was deleted after the interrupt');
});

test.run();
