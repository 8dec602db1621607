/**
 * The audit log through `npm run`: the demo task (test/fixtures/demo-task.ts) counts the host
 * DEMO_AUDIT_HOST names as changed, as clean:server does each pruned server; that host is a real
 * sshd on loopback, whose user's home receives the line. `npm run audit` reads both logs back.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { npmRun } from './support/npm-run.ts';
import { howItEnded } from './support/run-task.ts';

const fixtures = resolve('test', 'fixtures');
const SECRET = 'demo-token-never-in-the-audit';
const USER = 'cleanup-audit';
const hostLog = `/home/${USER}/.aisha-cleanup/audit.jsonl`;

let sshd: Sshd;
let host: string;
const workspaces: string[] = [];
test.before(async () => {
  sshd = await startSshd({ user: USER });
  host = `${USER}@127.0.0.1:${sshd.target.port}`;
  rmSync(`/home/${USER}/.aisha-cleanup`, { recursive: true, force: true });
});
test.after(async () => {
  await sshd?.stop();
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-audit-'));
  workspaces.push(dir);
  const data = join(dir, 'data');
  mkdirSync(data);
  for (const name of ['a.old', 'b.old', 'keep.txt']) writeFileSync(join(data, name), 'x');
  const reports = join(dir, 'reports');
  const ssh = { SSH_IDENTITY_FILE: sshd.target.identityFile!, SSH_KNOWN_HOSTS_FILE: sshd.target.knownHostsFile! };
  return { data, reports, ssh, env: { DEMO_DIR: data, DEMO_TOKEN: SECRET, REPORTS_DIR: reports, ...ssh } };
}

const demo = (args: string[], env: Record<string, string>) => npmRun(fixtures, ['demo', '--', ...args], env);
const audit = (args: string[], env: Record<string, string>) => npmRun(fixtures, ['audit', '--', ...args], env);
const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n');

test('an apply appends one line locally and on the host it changed; plans and nothing-to-do runs append none', async () => {
  const ws = workspace();
  const before = (() => {
    try {
      return lines(hostLog).length;
    } catch {
      return 0;
    }
  })();
  assert.is((await demo([], { ...ws.env, DEMO_AUDIT_HOST: host })).code, 0);
  assert.is((await demo(['--check'], { ...ws.env, DEMO_AUDIT_HOST: host })).code, 3);
  const run = await demo(['--yes'], { ...ws.env, DEMO_AUDIT_HOST: host });
  assert.is(run.code, 0, howItEnded(run));
  assert.is((await demo(['--yes'], { ...ws.env, DEMO_AUDIT_HOST: host })).code, 0, 'nothing to do');

  const local = lines(join(ws.reports, 'audit.jsonl'));
  assert.is(local.length, 1);
  const entry = JSON.parse(local[0]);
  assert.equal(Object.keys(entry).sort(), [
    'applied',
    'failed',
    'hosts',
    'machine',
    'report',
    'result',
    'run',
    'runId',
    'task',
    'time',
    'user',
  ]);
  assert.is(entry.task, 'demo');
  assert.is(entry.result, 'applied');
  assert.is(entry.applied, 2);
  assert.is(entry.failed, 0);
  assert.ok(readdirSync(ws.reports).includes(entry.report), entry.report);
  assert.equal(entry.hosts, [{ host, path: '.aisha-cleanup/audit.jsonl' }]);
  const remote = lines(hostLog);
  assert.is(remote.length, before + 1);
  assert.is(remote.at(-1), local[0]);
  assert.not.match(readFileSync(hostLog, 'utf8') + local[0], SECRET);
});

test('npm run audit shows the entries of this machine and of the hosts it names, --host and --last filter', async () => {
  const ws = workspace();
  assert.is((await demo(['--yes'], { ...ws.env, DEMO_AUDIT_HOST: host })).code, 0);
  writeFileSync(join(ws.data, 'c.old'), 'x');
  assert.is((await demo(['--yes'], ws.env)).code, 0, 'a run that changed no host: the local log only');
  // Another operator's run, known only to the host's log.
  const other = { time: '2000-01-01T00:00:00.000Z', user: 'someone', machine: 'laptop', run: 'clean:server' };
  appendFileSync(
    hostLog,
    JSON.stringify({
      ...other,
      task: 'server',
      runId: 'abcdef12',
      applied: 1,
      failed: 0,
      result: 'applied',
      hosts: [{ host, path: '.aisha-cleanup/audit.jsonl' }],
    }) + '\n',
  );
  appendFileSync(hostLog, 'not json: a line cut short\n');

  const all = await audit(['--json', '--last', '50'], { ...ws.ssh, REPORTS_DIR: ws.reports });
  assert.is(all.code, 0, howItEnded(all));
  const rows = JSON.parse(all.stdout);
  // The host's log also holds the first test's run: a host's log shows every run that changed it.
  const ours = lines(join(ws.reports, 'audit.jsonl')).map((line) => JSON.parse(line).runId);
  const mine = rows.filter((row: { runId: string }) => ours.includes(row.runId));
  assert.is(rows.length, 4);
  assert.is(mine.length, 2);
  assert.equal(mine[0].foundOn, ['local', host]);
  assert.equal(mine[1].foundOn, ['local']);
  assert.equal(mine[1].hosts, []);
  assert.is(rows[0].runId, 'abcdef12', "the other operator's older run, read from the host, comes first");
  assert.equal(rows[0].foundOn, [host]);

  const onHost = JSON.parse((await audit(['--json', '--host', host], { ...ws.ssh, REPORTS_DIR: ws.reports })).stdout);
  assert.ok(onHost.every((row: { hosts: { host: string }[] }) => row.hosts.some((h) => h.host === host)));
  assert.ok(onHost.some((row: { runId: string }) => row.runId === 'abcdef12'));
  assert.not.ok(onHost.some((row: { runId: string }) => row.runId === mine[1].runId));

  const last = await audit(['--last', '1'], { ...ws.ssh, REPORTS_DIR: ws.reports });
  assert.is(last.code, 0, howItEnded(last));
  assert.is(last.stdout.trim().split('\n').length, 1);
  assert.match(
    last.stdout,
    new RegExp(`demo \\(demo\\)  applied: applied 1, failed 0  on this machine  run ${mine[1].runId}`),
  );
});

test('a host that cannot take its line is a warning: the run succeeds and the local log has it', async () => {
  const ws = workspace();
  const closed = `${USER}@127.0.0.1:${await freePort()}`;
  const run = await demo(['--yes'], { ...ws.env, DEMO_AUDIT_HOST: closed });
  assert.is(run.code, 0, howItEnded(run));
  assert.match(
    run.stderr,
    `warning: the audit line for ${closed} could not be written to .aisha-cleanup/audit.jsonl there`,
  );
  assert.is(JSON.parse(lines(join(ws.reports, 'audit.jsonl'))[0]).result, 'applied');
  const shown = await audit([], { ...ws.ssh, REPORTS_DIR: ws.reports });
  assert.is(shown.code, 0);
  assert.match(shown.stderr, `warning: the audit log of ${closed} (.aisha-cleanup/audit.jsonl) could not be read`);
  assert.match(shown.stdout, /demo \(demo\)  applied/);
});

test('npm run audit refuses a bad --last or an unknown flag with exit 2', async () => {
  const bad = await audit(['--last', 'many'], { REPORTS_DIR: tmpdir() });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--last must be a whole number \(1 or more\), not "many"/);
  const unknown = await audit(['--hots', 'x'], { REPORTS_DIR: tmpdir() });
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--hots'/);
});

test.run();
