/**
 * NOTIFY_URL: the demo task (test/fixtures/demo-task.ts) applies, fails or finds changes with
 * --check, and a receiver on loopback stands in for the webhook service. The task runs in this
 * process (test/support/run-in-process.ts): nothing here is npm's (test/cli.test.ts runs the
 * same exit codes through npm run).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runDemo as demo } from './support/run-in-process.ts';
import { startReceiver, type Receiver } from './support/receiver.ts';
import { howItEnded } from './support/run-task.ts';

const TOKEN = '123456:AAH-bot-token-never-printed';
const SLACK_PATH = '/services/T0SECRET/B0SECRET/hookpathsecret';

let receiver: Receiver;
const workspaces: string[] = [];
test.before(async () => {
  receiver = await startReceiver();
});
test.before.each(() => {
  receiver.received.length = 0;
  receiver.status = 200;
});
test.after(async () => {
  await receiver.close();
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-notify-'));
  workspaces.push(dir);
  const data = join(dir, 'data');
  mkdirSync(data);
  for (const name of ['a.old', 'b.old', 'keep.txt']) writeFileSync(join(data, name), 'x');
  return { data, reports: join(dir, 'reports'), env: { DEMO_DIR: data, REPORTS_DIR: join(dir, 'reports') } };
}

const markdownReports = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.md'));

test('an applying run posts {"text"} with the task, the totals, the result and the report name', async () => {
  const ws = workspace();
  const run = await demo(['--yes'], { ...ws.env, NOTIFY_URL: `${receiver.url}${SLACK_PATH}` });
  assert.is(run.code, 0, howItEnded(run));
  assert.is(receiver.received.length, 1);
  const [request] = receiver.received;
  assert.is(request.method, 'POST');
  assert.is(request.path, SLACK_PATH);
  const { text } = JSON.parse(request.body);
  assert.match(text, /^demo on .+: applied$/m);
  assert.match(text, /^Plan: 2 changes \(2 delete file\) in 1 folder, 2 B to reclaim; 1 kept$/m);
  assert.match(text, /^applied 2, failed 0; run [0-9a-f]{8}$/m);
  assert.match(text, `report: ${markdownReports(ws.reports)[0]}`);
  assert.not.match(run.stderr, 'hookpathsecret');
});

test('a Telegram sendMessage URL gets chat_id and text; the token is never printed', async () => {
  const ws = workspace();
  const url = `${receiver.url}/bot${TOKEN}/sendMessage?chat_id=-1001234`;
  const run = await demo(['--yes', '--verbose'], { ...ws.env, NOTIFY_URL: url });
  assert.is(run.code, 0, howItEnded(run));
  assert.is(receiver.received.length, 1);
  assert.is(receiver.received[0].path, `/bot${TOKEN}/sendMessage`);
  const body = JSON.parse(receiver.received[0].body);
  assert.is(body.chat_id, '-1001234');
  assert.match(body.text, /: applied/);
  assert.not.match(run.stderr + run.stdout, TOKEN);
});

test('--check with changes pending sends "changes pending" and exits 3; nothing to do sends nothing', async () => {
  const ws = workspace();
  const env = { ...ws.env, NOTIFY_URL: `${receiver.url}${SLACK_PATH}` };
  const check = await demo(['--check'], env);
  assert.is(check.code, 3, howItEnded(check));
  assert.is(receiver.received.length, 1);
  assert.match(JSON.parse(receiver.received[0].body).text, /: changes pending$/m);
  assert.equal(readdirSync(ws.data).sort(), ['a.old', 'b.old', 'keep.txt']);

  assert.is((await demo(['--yes'], env)).code, 0);
  receiver.received.length = 0;
  const quiet = await demo(['--check'], env);
  assert.is(quiet.code, 0, howItEnded(quiet));
  assert.is(receiver.received.length, 0, 'a check with nothing pending is quiet');
});

test('a failed run sends "failed"', async () => {
  const ws = workspace();
  const run = await demo(['--yes'], { ...ws.env, DEMO_DIR: join(ws.data, 'missing'), NOTIFY_URL: `${receiver.url}/x` });
  assert.is(run.code, 1, howItEnded(run));
  assert.is(receiver.received.length, 1);
  assert.match(JSON.parse(receiver.received[0].body).text, /: failed$/m);
});

test('a notification that cannot be sent is a warning naming the origin only; the run succeeds', async () => {
  const ws = workspace();
  receiver.status = 500;
  const refused = await demo(['--yes'], { ...ws.env, NOTIFY_URL: `${receiver.url}${SLACK_PATH}` });
  assert.is(refused.code, 0, howItEnded(refused));
  assert.match(refused.stderr, `warning: the notification to ${receiver.url} was refused (HTTP 500)`);
  assert.not.match(refused.stderr, 'hookpathsecret');

  // A port nobody listens on: the receiver's own, once closed, is not safe to reuse; take a fresh one and close it.
  const gone = await startReceiver();
  await gone.close();
  const ws2 = workspace();
  const unreachable = await demo(['--yes'], { ...ws2.env, NOTIFY_URL: `${gone.url}${SLACK_PATH}` });
  assert.is(unreachable.code, 0, howItEnded(unreachable));
  assert.match(unreachable.stderr, `warning: the notification to ${gone.url} could not be sent`);
  assert.not.match(unreachable.stderr, 'hookpathsecret');
  assert.equal(readdirSync(ws2.data), ['keep.txt']);
});

test('a NOTIFY_URL that is not a URL, or a Telegram URL without chat_id, is exit 2 without its value', async () => {
  const ws = workspace();
  const bad = await demo(['--yes'], { ...ws.env, NOTIFY_URL: 'hooks.example.invalid/secretpath' });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /NOTIFY_URL is not a URL: \(value hidden\)/);
  assert.not.match(bad.stderr, 'secretpath');
  const noChat = await demo(['--yes'], { ...ws.env, NOTIFY_URL: `${receiver.url}/bot${TOKEN}/sendMessage` });
  assert.is(noChat.code, 2);
  assert.match(noChat.stderr, /NOTIFY_URL is a Telegram sendMessage URL without \?chat_id=/);
  assert.not.match(noChat.stderr, TOKEN);
  assert.equal(readdirSync(ws.data).sort(), ['a.old', 'b.old', 'keep.txt']);
  assert.is(receiver.received.length, 0);
});

test.run();
