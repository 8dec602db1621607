/**
 * Ctrl-C and SIGTERM while the demo task (test/fixtures/demo-task.ts) applies, through `npm run`
 * as a user (or a supervisor) stops it: the signal reaches npm's process group, the shell's $?
 * is 128 + the signal. Apart from test/cli.test.ts because it mostly waits, so that the runner
 * runs the two side by side.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { demo, demoWorkspaces, files, lastReport } from './support/demo-workspace.ts';
import type { Run } from './support/npm-run.ts';
import { runDemo as demoHere } from './support/run-in-process.ts';
import { howItEnded } from './support/run-task.ts';

const { workspace, removeAll } = demoWorkspaces();
test.after(removeAll);

/** The shell's $? for a run: 128 + the signal number when npm ended by a signal. */
const shellStatus = (run: Run) =>
  run.signal ? 128 + (run.signal === 'SIGINT' ? 2 : run.signal === 'SIGTERM' ? 15 : 9) : run.code;

/** The node process running the task, inside npm's process group (the shell between them execs it). */
function taskProcess(group: number): number {
  const rows = execFileSync('ps', ['-o', 'pid=,args=', '-g', String(group)], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const row = rows.find((line) => line.includes('node') && line.includes('demo-task.ts'));
  if (!row) throw new Error(`no task process in group ${group}:\n${rows.join('\n')}`);
  return Number(row.trim().split(/\s+/)[0]);
}

const groupGone = (group: number) => {
  try {
    process.kill(-group, 0);
    return false;
  } catch {
    return true;
  }
};

test('Ctrl-C while applying: the task shows as interrupted, the report says what was done and not started, exit 130; a rerun finishes', async () => {
  const ws = workspace(['1.old', '2.old', '3.old', '4.old', '5.old']);
  const env = { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports, DEMO_SLOW_MS: '1500' };
  let sent = false;
  const run = await demo(['--', '--yes'], env, (text, child) => {
    if (!sent && text.includes('Apply:')) {
      sent = true;
      // After the first deletion: the second one is under way when the signal comes.
      setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 2000);
    }
  });
  assert.is(shellStatus(run), 130, run.stderr);
  assert.match(
    run.stderr,
    /✖ Apply: Demo clean-up.*Interrupted Demo clean-up: [1-4] of 5 changes done, [1-4] not started/,
  );
  assert.not.match(run.stderr, /✔ (Applied|Apply)/);
  const report = lastReport(ws.reports);
  assert.is(report.status, 'interrupted');
  assert.is(report.mode, 'apply');
  assert.is(report.applied.length + report.notStarted.length, 5);
  assert.ok(report.applied.length >= 1 && report.notStarted.length >= 1, JSON.stringify(report.summary));
  assert.is(files(ws.data).length, report.notStarted.length, 'what the report calls not started is still there');

  const rerun = await demoHere(['--yes'], { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports });
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.equal(files(ws.data), []);
  assert.is(lastReport(ws.reports).status, 'applied');
});

test('SIGTERM to the task while applying (a supervisor stopping it): exit 143 through npm, the report says interrupted', async () => {
  const ws = workspace(['1.old', '2.old', '3.old']);
  let sent = false;
  const run = await demo(
    ['--', '--yes'],
    { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports, DEMO_SLOW_MS: '1500' },
    (text, child) => {
      if (!sent && text.includes('Apply:')) {
        sent = true;
        setTimeout(() => process.kill(taskProcess(child.pid!), 'SIGTERM'), 500);
      }
    },
  );
  assert.is(run.signal, null, 'npm itself got no signal');
  assert.is(run.code, 143, howItEnded(run));
  assert.is(lastReport(ws.reports).status, 'interrupted');
});

test('a second Ctrl-C exits at once, after running the clean-up hooks', async () => {
  const ws = workspace(['1.old', '2.old', '3.old']);
  const mark = join(ws.dir, 'closed');
  let sent = false;
  let group = 0;
  let secondAt = 0;
  const run = await demo(
    ['--', '--yes'],
    { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports, DEMO_SLOW_MS: '20000', DEMO_CLOSE_MARK: mark },
    (text, child) => {
      group = child.pid!;
      if (!sent && text.includes('Apply:')) {
        sent = true;
        setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 500);
      }
      if (text.includes('nothing new starts') && !secondAt) {
        secondAt = Date.now();
        process.kill(-child.pid!, 'SIGINT');
      }
    },
  );
  assert.is(shellStatus(run), 130, run.stderr);
  assert.match(run.stderr, /SIGINT again: stopping now/);
  assert.ok(existsSync(mark), 'the onClose hook ran');
  for (let i = 0; i < 50 && !groupGone(group); i++) await new Promise((r) => setTimeout(r, 200));
  assert.ok(groupGone(group), 'the task process is gone too');
  assert.ok(
    Date.now() - secondAt < 15_000,
    `gone ${Date.now() - secondAt} ms after the second signal, not after the 20 s step`,
  );
  assert.equal(files(ws.data), ['1.old', '2.old', '3.old']);
});

test.run();
