/**
 * The server task against real Docker engines reached through real sshd on loopback. A seeded
 * host holds a running compose project, old exited containers of its service, a stray running
 * container, a stopped database with a named volume, anonymous and named volumes, a dangling
 * image, many versions of one repository and build cache; a second host holds a smaller mess.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBaseImage, ensureDockerd, type TestEngine } from './support/dockerd.ts';
import { build, reset, seedDockerHost } from './support/server-seed.ts';
import { freePort } from './support/ports.ts';
import { runTask } from './support/run-task.ts';
import { startSshd, type Sshd } from './support/sshd.ts';

let dir: string;
let main: TestEngine;
let second: TestEngine;
let sshd: Sshd[] = [];
let knownHosts: string;

const names = (engine: TestEngine, args: string[]) => engine.docker(args).split('\n').map((l) => l.trim()).filter(Boolean).sort();
const containers = (engine: TestEngine) => names(engine, ['ps', '-a', '--format', '{{.Names}} {{.State}}']);
const images = (engine: TestEngine) => names(engine, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
const volumes = (engine: TestEngine) => names(engine, ['volume', 'ls', '--format', '{{.Name}}']);

function env(hosts: string[], extra: Record<string, string> = {}) {
  return {
    SERVER_HOSTS: hosts.join(','),
    SERVER_COMPOSE_PROJECT: 'webhook',
    SERVER_PROTECT_LABELS: 'role=database',
    SERVER_REMOVE_VOLUMES: 'tmp-cache',
    SERVER_GRACE_HOURS: '0',
    SERVER_BUILD_CACHE_MAX_AGE_HOURS: '0',
    SSH_IDENTITY_FILE: sshd[0].target.identityFile!,
    SSH_KNOWN_HOSTS_FILE: knownHosts,
    REPORTS_DIR: join(dir, 'reports'),
    ...extra,
  };
}
const hostOf = (s: Sshd) => `${s.target.user}@127.0.0.1:${s.target.port}`;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-server-'));
  main = await ensureDockerd('server');
  second = await ensureDockerd('server2');
  ensureBaseImage(main);
  ensureBaseImage(second);
  const first = await startSshd({ user: 'cleanup-ops', groups: ['docker'], env: { DOCKER_HOST: main.host } });
  sshd = [
    first,
    await startSshd({ user: 'cleanup-ops', groups: ['docker'], env: { DOCKER_HOST: second.host }, clientKey: first.target.identityFile }),
    await startSshd({ user: 'cleanup-nodocker', env: { DOCKER_HOST: main.host }, clientKey: first.target.identityFile }),
  ];
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, sshd.map((s) => readFileSync(s.target.knownHostsFile!, 'utf8')).join(''));
  seedDockerHost(main, dir);
  reset(second);
  build(second, dir, 'leftover:old', 'old '.repeat(40_000));
  build(second, dir, 'leftover:old', 'new '.repeat(40_000));
  second.docker(['volume', 'create']);
});

test.after(async () => {
  for (const s of sshd) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('--yes on two hosts leaves exactly what the policy says; the report matches the measured change', async () => {
  const run = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[0]), hostOf(sshd[1])]));
  assert.is(run.code, 0, run.stderr);
  assert.equal(containers(main), ['db exited', 'stray exited', 'webhook_api_1 running', 'webhook_api_old2 exited', 'webhook_api_old3 exited', 'webhook_api_old4 exited']);
  const left = images(main);
  assert.ok(left.includes('registry.example:5000/webhook-api:final'), 'protected final stays');
  for (const v of ['1.2', '1.3', '1.4', '1.5']) assert.ok(left.includes(`registry.example:5000/webhook-api:${v}`), `rollback image 1.${v} stays`);
  assert.not.ok(left.includes('registry.example:5000/webhook-api:1.1'), '1.1 goes');
  assert.not.ok(left.includes('<none>:<none>'), 'dangling image goes');
  assert.equal(volumes(main), ['dbdata', 'old-uploads']);
  assert.is(main.docker(['run', '--rm', '--network', 'none', '-v', 'dbdata:/data', 'cleanup-test/busybox:base', 'cat', '/data/rows']).trim(), 'precious');
  assert.is(main.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']).split('\n').find((l) => l.startsWith('Build Cache')), 'Build Cache 0');
  assert.equal(volumes(second), []);
  assert.not.ok(images(second).includes('<none>:<none>'));

  const report = run.report;
  const reasons = report.changes.map((c: { reason: string }) => c.reason);
  assert.ok(reasons.every((r: string) => r.length > 10));
  assert.ok(report.kept.some((k: { target: string; reason: string }) => k.target === 'container db' && /protected by label role=database/.test(k.reason)));
  assert.ok(report.changes.some((c: { action: string; target: string }) => c.action === 'stop container' && c.target === 'container stray'));
  const freed = report.figures.find((f: { label: string }) => f.label.startsWith(`${hostOf(sshd[0])} freed`));
  // df sees the whole file system, which other processes share, and overlay2 keeps some
  // metadata per layer beyond the bytes docker reports: allow a quarter plus 1 MB.
  const [measured, planned] = [...freed.value.matchAll(/([0-9.]+) MB/g)].map((m) => Number(m[1]) * 1e6);
  assert.ok(planned > 8e6, `planned ${planned}`);
  assert.ok(Math.abs(measured - planned) <= planned / 4 + 1e6, freed.value);
  assert.ok(report.checks.every((c: { passed: boolean }) => c.passed !== undefined));
});

test('a second run changes nothing', async () => {
  const run = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[0]), hostOf(sshd[1])]));
  assert.is(run.code, 0, run.stderr);
  assert.is(run.report.summary.changes, 0, JSON.stringify(run.report.changes));
});

test('bad hosts are named with what to do; the good host is still cleaned', async () => {
  second.docker(['volume', 'create']);
  const unreachable = `cleanup-ops@127.0.0.1:${await freePort()}`;
  const run = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[1]), unreachable, hostOf(sshd[2])]));
  assert.is(run.code, 1);
  assert.match(run.stderr, /127\.0\.0\.1:\d+: the host is unreachable/);
  assert.match(run.stderr, /may not use the Docker socket \(permission denied\)\. Add it to the docker group/);
  assert.equal(volumes(second), [], 'the good host was cleaned');

  const unknownKey = await runTask('tasks/server.ts', ['--dry-run'], env([hostOf(sshd[0])], { SSH_KNOWN_HOSTS_FILE: sshd[0].emptyKnownHostsFile }));
  assert.is(unknownKey.code, 1);
  assert.match(unknownKey.stderr, /host key is not known.*ssh-keyscan -p \d+ 127\.0\.0\.1/s);
});

test.run();
