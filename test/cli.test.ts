/**
 * The command line as a user types it. What npm, scripts/task.sh and Node do to a run goes
 * through `npm run`, once per behaviour: flags npm takes for itself, --env-file (Node 20 reads it
 * itself), exit codes (Ctrl-C and SIGTERM: test/cli-signals.test.ts). What the task does with
 * the flags and settings that reach it runs in this process (test/support/run-in-process.ts), a
 * second of start-up less per run. The demo task (test/fixtures/demo-task.ts, run by
 * test/fixtures/package.json) deletes *.old files; the real tasks are run where no remote is
 * needed (help, bad settings, missing files).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pipeline } from '../chain/all.ts';
import { deployTask } from '../tasks/deploy.ts';
import { inventoryTask } from '../tasks/inventory.ts';
import { registryTask } from '../tasks/registry.ts';
import { serverTask } from '../tasks/server.ts';
import { verifyTask } from '../tasks/verify.ts';
import { demo, demoWorkspaces, files, lastReport, project, reportsOf } from './support/demo-workspace.ts';
import { npmRun } from './support/npm-run.ts';
import { runDemo as demoHere, runInProcess } from './support/run-in-process.ts';
import { howItEnded } from './support/run-task.ts';

const { workspace, removeAll } = demoWorkspaces();
test.after(removeAll);

/** The real tasks, each with the script name its package.json entry runs it under. */
const scripts = {
  'clean:all': { file: 'chain/all.ts', tasks: pipeline },
  'clean:inventory': { file: 'tasks/inventory.ts', tasks: [inventoryTask] },
  'clean:registry': { file: 'tasks/registry.ts', tasks: [registryTask] },
  'clean:server': { file: 'tasks/server.ts', tasks: [serverTask] },
  'deploy:clean': { file: 'tasks/deploy.ts', tasks: [deployTask] },
  verify: { file: 'tasks/verify.ts', tasks: [verifyTask] },
};
type Script = keyof typeof scripts;
const here = (script: Script, args: string[], env: Record<string, string> = {}) =>
  runInProcess(script, scripts[script].tasks, args, env);

test('npm run demo --dry-run -- --yes: npm took --dry-run, and a dry run still wins over --yes', async () => {
  const ws = workspace();
  const run = await demo(['--dry-run', '--', '--yes'], { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports });
  assert.is(run.code, 0, howItEnded(run));
  assert.match(run.stderr, /npm was given --dry-run and --yes: a dry run wins/);
  assert.match(run.stderr, /Dry run: nothing was changed/);
  assert.equal(files(ws.data), ['a.old', 'b.old', 'keep.txt']);
  assert.is(lastReport(ws.reports).mode, 'plan');
});

test('--dry-run and --yes after --: the dry run wins too', async () => {
  const ws = workspace();
  const run = await demoHere(['--yes', '--dry-run'], { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports });
  assert.is(run.code, 0, howItEnded(run));
  assert.match(run.stderr, /--dry-run and --yes: a dry run wins/);
  assert.equal(files(ws.data), ['a.old', 'b.old', 'keep.txt']);
});

test('npm run demo --yes --force --json --check (before --): exit 2 naming each, with the spelling that reaches the task, nothing touched', async () => {
  const flags = ['--yes', '--force', '--json', '--check'];
  const ws = workspace();
  const run = await demo(flags, { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports });
  assert.is(run.code, 2, run.stderr + run.stdout);
  // npm sets the variables in an order of its own: each flag is named, in any order.
  const [, taken = ''] = /npm took (\S.*) for itself/.exec(run.stderr) ?? [];
  const [, spelled = ''] = /npm run demo -- (.*)/.exec(run.stderr) ?? [];
  assert.equal(taken.split(', ').sort(), [...flags].sort(), run.stderr);
  assert.equal(spelled.trim().split(' ').sort(), [...flags].sort(), run.stderr);
  assert.equal(files(ws.data), ['a.old', 'b.old', 'keep.txt']);
  assert.equal(reportsOf(ws.reports), [], 'no report: nothing ran');
});

test('--env-file is ours: settings come from it; a missing file or a folder is exit 2 with its path (a real task)', async () => {
  const ws = workspace();
  const envFile = join(ws.dir, 'demo.env');
  writeFileSync(envFile, `DEMO_DIR=${ws.data}\nREPORTS_DIR=${ws.reports}\n`);
  const applied = await demo(['--', '--yes', '--env-file', envFile], {});
  assert.is(applied.code, 0, howItEnded(applied));
  assert.equal(files(ws.data), ['keep.txt']);

  const missing = join(ws.dir, 'missing.env');
  const real = await npmRun(project, ['clean:registry', '--', `--env-file=${missing}`], {});
  assert.is(real.code, 2, howItEnded(real));
  assert.match(real.stderr, `The settings file ${missing} does not exist`);
  assert.not.match(real.stderr, /^node:/m);

  const folder = await here('clean:inventory', ['--env-file', ws.dir, '--dry-run']);
  assert.is(folder.code, 2, howItEnded(folder));
  assert.match(folder.stderr, `The settings file ${ws.dir} is a folder`);
});

test("clean:all refuses the flags that name one task's own things (--restore, --host): exit 2, nothing read", async () => {
  for (const flag of [
    ['--restore', 'x'],
    ['--host', 'prod-1'],
  ]) {
    const run = await here('clean:all', [...flag, '--yes']);
    assert.is(run.code, 2, howItEnded(run));
    assert.match(run.stderr, `Unknown option '${flag[0]}'`);
  }
  const help = await here('clean:all', ['--help']);
  assert.not.match(help.stdout, /--restore|--host/);
  const alone = await here('clean:server', ['--help']);
  assert.match(alone.stdout, /--host/);
});

test('bad settings of a real task: exit 2 before any remote is read, each with name, value, expectation and example; unknown names get the nearest', async () => {
  const ws = workspace();
  const envFile = join(ws.dir, 'bad.env');
  writeFileSync(
    envFile,
    [
      'REGISTRY_URL=127.0.0.1:1', // no scheme
      'REGISTRY_RETRIES=-1', // a negative count
      'REGISTRY_SIZE_LIMIT=5 gigs', // not a size
      'REGISTRY_TIMEOUT_SECONDS=30s', // a malformed duration
      'REGISTRY_HOST=-oProxyCommand=sh', // ssh would read it as an option
      'REGISTRY_GC_COMMAND=docker run "unclosed', // not a command line
      `SSH_IDENTITY_FILE=${join(ws.dir, 'no-such-key')}`,
      'REGISTRY_CONCURENCY=8', // misspelt
      `REPORTS_DIR=${ws.reports}`,
      '',
    ].join('\n'),
  );
  const run = await here('clean:registry', ['--env-file', envFile, '--yes']);
  assert.is(run.code, 2, howItEnded(run));
  assert.match(run.stderr, /The settings have 7 problems; nothing was changed/);
  assert.match(run.stderr, /REGISTRY_URL is not a URL: "127.0.0.1:1" \(the scheme is missing/);
  assert.match(run.stderr, /value: {4}REGISTRY_URL=127.0.0.1:1/);
  assert.match(run.stderr, /REGISTRY_RETRIES must be at least 0, not -1/);
  assert.match(run.stderr, /example: {2}REGISTRY_RETRIES=4/);
  assert.match(run.stderr, /REGISTRY_SIZE_LIMIT must be a size such as 5GB/);
  assert.match(run.stderr, /REGISTRY_TIMEOUT_SECONDS must be a whole number \(1 or more\), not "30s"/);
  assert.match(run.stderr, /REGISTRY_HOST starts with "-"/);
  assert.match(run.stderr, /REGISTRY_GC_COMMAND has an unclosed " quote/);
  assert.match(run.stderr, /SSH_IDENTITY_FILE names .*no-such-key, which does not exist/);
  assert.match(run.stderr, /sets REGISTRY_CONCURENCY, which no task reads; did you mean REGISTRY_CONCURRENCY\?/);
  assert.not.match(run.stderr, /Plan:/);
  assert.equal(reportsOf(ws.reports), []);
});

test('bad host specs and URL lists of the server and deploy settings are refused with exit 2', async () => {
  const ws = workspace();
  const envFile = join(ws.dir, 'bad.env');
  writeFileSync(
    envFile,
    [
      `BACKEND_DIR=${join(ws.dir, 'no-backend')}`,
      'SERVER_HOSTS=aisha@prod-1.example:99999',
      'SERVER_COMPOSE_PROJECT=webhook',
      'DEPLOY_HOST=aisha@prod 1',
      'DEPLOY_DIR=srv/webhook',
      'DEPLOY_IMAGE=x/y',
      'DEPLOY_HEALTH_URLS=http://127.0.0.1:1/health,127.0.0.1:2/health',
      'REGISTRY_URL=http://127.0.0.1:1',
      '',
    ].join('\n'),
  );
  const run = await here('deploy:clean', ['--env-file', envFile, '--dry-run']);
  assert.is(run.code, 2, howItEnded(run));
  assert.match(run.stderr, /SERVER_HOSTS has an item that is not "local" or an ssh destination/);
  assert.match(run.stderr, /DEPLOY_HOST is not "local" or an ssh destination/);
  assert.match(run.stderr, /DEPLOY_HEALTH_URLS has an item that is not a URL: "127.0.0.1:2\/health"/);
  assert.match(run.stderr, /BACKEND_DIR names .*no-backend, which does not exist/);
  assert.match(run.stderr, /DEPLOY_DIR must be an absolute path \(starting with \/\), not "srv\/webhook"/);
});

test('a registry password without its user is exit 2 naming REGISTRY_PASSWORD, before anything is read', async () => {
  const ws = workspace();
  const run = await here('clean:registry', ['--dry-run'], {
    REGISTRY_URL: 'http://127.0.0.1:1',
    REGISTRY_PASSWORD: 'hunter2',
    REPORTS_DIR: ws.reports,
  });
  assert.is(run.code, 2, howItEnded(run));
  assert.match(run.stderr, /REGISTRY_PASSWORD is set, but REGISTRY_USERNAME is not/);
  assert.not.match(run.stderr, /hunter2/);
  assert.equal(reportsOf(ws.reports), []);
});

test("a BACKEND_DIR holding none of the plan's paths (an empty git repository, a wrong folder) is exit 2, nothing changed", async () => {
  const ws = workspace();
  const empty = join(ws.dir, 'empty-repo');
  mkdirSync(empty);
  execFileSync('git', ['init', '-q', empty]);
  for (const dir of [empty, ws.data]) {
    const run = await here('clean:inventory', ['--yes'], {
      BACKEND_DIR: dir,
      REPORTS_DIR: ws.reports,
    });
    assert.is(run.code, 2, howItEnded(run));
    assert.match(run.stderr, /is BACKEND_DIR the backend\? none of \S+.* exists in /);
  }
  assert.equal(readdirSync(empty), ['.git'], 'nothing written into it');
  assert.equal(files(ws.data), ['a.old', 'b.old', 'keep.txt']);
});

test('--check: exit 3 while changes are pending (nothing touched), 0 when nothing is to do, 1 on errors', async () => {
  const ws = workspace();
  const env = { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports };
  // Through npm: the shell sees the task's 3.
  const pending = await demo(['--', '--check'], env);
  assert.is(pending.code, 3, howItEnded(pending));
  assert.match(pending.stderr, /Check: 2 changes pending \(exit 3\)/);
  assert.equal(files(ws.data), ['a.old', 'b.old', 'keep.txt']);

  const applied = await demoHere(['--yes'], env);
  assert.is(applied.code, 0, howItEnded(applied));
  const clean = await demoHere(['--check'], env);
  assert.is(clean.code, 0, howItEnded(clean));
  assert.match(clean.stderr, /Check: nothing to do/);

  // Through npm too: the shell sees the task's 1 (npm's own failure would be 1 as well, hence the message).
  const broken = await demo(['--', '--check'], { DEMO_DIR: join(ws.dir, 'missing'), REPORTS_DIR: ws.reports });
  assert.is(broken.code, 1, howItEnded(broken));
  assert.match(broken.stderr, /FAILED: ENOENT/);
});

test('plans: long groups are shortened (--verbose lists all), a total line ends each; JSON numbers; a Markdown twin; no colons; old reports pruned', async () => {
  const names = Array.from({ length: 60 }, (_, i) => `f${i + 1}.old`);
  const ws = workspace(names);
  const env = { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports, REPORTS_KEEP: '2' };
  const short = await demoHere(['--dry-run', '--json'], env);
  assert.is(short.code, 0, howItEnded(short));
  assert.match(short.stderr, /delete file in folder \. \(60, 240 B\):\n {5}- f1\.old {2}4 B/);
  assert.match(short.stderr, /f2\.old[^]*f10\.old/, 'sorted as a person counts: f2 before f10');
  assert.match(short.stderr, /… and 30 more \(--verbose lists them all/);
  assert.not.match(short.stderr, /- f60\.old/);
  assert.match(short.stderr, /Plan: 60 changes \(60 delete file\) in 1 folder, 240 B to reclaim; 0 kept/);
  const report = JSON.parse(short.stdout);
  assert.is(typeof report.summary.bytes, 'number');
  assert.is(report.changes[0].bytes, 4);
  assert.ok(!Number.isNaN(Date.parse(report.startedAt)));

  const verbose = await demoHere(['--dry-run', '--verbose'], env);
  assert.match(verbose.stderr, /- f60\.old/);
  assert.not.match(verbose.stderr, /more \(--verbose/);

  await demoHere(['--dry-run'], env);
  const left = readdirSync(ws.reports).sort();
  assert.is(left.length, 4, left.join(' '));
  assert.equal(left.filter((n) => n.endsWith('.md')).length, 2);
  for (const name of left) assert.not.match(name, ':');
  const markdown = readFileSync(
    join(
      ws.reports,
      left.find((n) => n.endsWith('.md'))!,
    ),
    'utf8',
  );
  // markdown-table writes an empty cell (no host here) as `| |`.
  assert.match(markdown, /\| delete file \| \| f1\.old \| 4 \|/);
});

test('reports are kept by kind: plan-only runs (REPORTS_KEEP) never push out the report of a run that changed something', async () => {
  const ws = workspace(['a.old', 'b.old', 'keep.txt']);
  const env = { DEMO_DIR: ws.data, REPORTS_DIR: ws.reports, REPORTS_KEEP: '2', REPORTS_KEEP_CHANGED: '1' };
  const applied = await demoHere(['--yes'], env);
  assert.is(applied.code, 0, howItEnded(applied));
  const [changed] = reportsOf(ws.reports);
  assert.not.match(changed, /\.plan\.json$/);
  writeFileSync(join(ws.data, 'c.old'), 'old!');
  for (let i = 0; i < 3; i++) assert.is((await demoHere(['--check'], env)).code, 3);
  const kept = reportsOf(ws.reports);
  assert.is(kept.length, 3, kept.join(' '));
  assert.is(kept[0], changed, 'the report of the run that changed something stays');
  assert.equal(
    kept.slice(1).map((n) => n.endsWith('.plan.json')),
    [true, true],
  );
  // The changed reports have their own count: the next one that changes something replaces the first.
  assert.is((await demoHere(['--yes'], env)).code, 0);
  const after = reportsOf(ws.reports);
  assert.not.ok(after.includes(changed), 'REPORTS_KEEP_CHANGED=1 keeps only the newest');
  assert.is(after.filter((n) => !n.endsWith('.plan.json')).length, 1);
  assert.is(after.filter((n) => n.endsWith('.plan.json')).length, 2);
});

const usageShown = (run: { code: number | null; stdout: string; stderr: string }, script: string) => {
  assert.is(run.code, 0, howItEnded(run));
  assert.match(run.stdout, `Usage: npm run ${script} -- [options]`);
  assert.match(run.stdout, /--dry-run[^]*--check[^]*--env-file <file>/);
  assert.match(run.stdout, /Settings it reads[^]*REPORTS_DIR/);
  assert.match(run.stdout, /Examples:[^]*--check/);
  assert.match(run.stdout, /Exit codes:[^]*\b3 +--check only[^]*130/);
};

// Through npm: deploy:rollback shares its file with deploy:clean and is told apart by the script npm ran.
test('npm run deploy:rollback -- -h: usage, flags, settings, examples, exit codes, under the name typed', async () => {
  usageShown(await npmRun(project, ['deploy:rollback', '--', '-h'], {}), 'deploy:rollback');
});

const packageScripts: Record<string, string> = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).scripts;
for (const script of Object.keys(scripts) as Script[]) {
  test(`npm run ${script} -- --help: usage, flags, settings, examples, exit codes`, async () => {
    // The script runs the file whose tasks are run here.
    assert.is(packageScripts[script], `sh scripts/task.sh ${scripts[script].file}`);
    usageShown(await here(script, [script === 'clean:all' ? '--help' : '-h']), script);
  });
}

test.run();
