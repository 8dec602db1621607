/**
 * clean:server when hosts fail, against real Docker engines behind real sshd on loopback: a host
 * that is unreachable or hangs while it is read is named and refused while the others are
 * planned and applied; a host that hangs at an apply step is stopped there, named with the step,
 * and a rerun finishes it; a run SIGKILLed at an apply step is finished by the rerun. Every time,
 * the running container, the stopped container holding data, its volume and the protected image
 * stay intact.
 *
 * A host "hangs" the way a wedged Docker daemon does: its ssh user's PATH starts with a `docker`
 * script that, at the step a control file names (`info`, `image rm`), says it got there and
 * waits until released, then fails; any other call goes to the real docker. Nothing in the
 * product knows about it; the kill moment is that signal, never a guessed sleep.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBaseImage, ensureDockerd, type TestEngine } from '../sandbox/fixtures/dockerd.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { runTask, howItEnded, startTask } from './support/run-task.ts';
import { build, names, reset } from '../sandbox/fixtures/server-seed.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';

let dir: string;
/** Control folder and the docker script of the hanging host (outside `dir`, mode 0700: the ssh user reads them). */
let control: string;
let good: TestEngine;
let hanging: TestEngine;
let sshd: Sshd[] = [];
let knownHosts: string;

const COMMAND_TIMEOUT_SECONDS = 20;
const hostOf = (s: Sshd) => `${s.target.user}@127.0.0.1:${s.target.port}`;

function env(hosts: string[]) {
  return {
    SERVER_HOSTS: hosts.join(','),
    SERVER_COMPOSE_PROJECT: 'webhook',
    SERVER_GRACE_HOURS: '0',
    SERVER_PROTECT_IMAGES: 'keep/me:1',
    SSH_IDENTITY_FILE: sshd[0].target.identityFile!,
    SSH_KNOWN_HOSTS_FILE: knownHosts,
    SSH_COMMAND_TIMEOUT_SECONDS: String(COMMAND_TIMEOUT_SECONDS),
    REPORTS_DIR: join(dir, 'reports'),
  };
}

/** The hanging host's docker waits at calls containing these words (`image rm`), or at none. */
let waits = 0;

/** Lets the call held at the current wait fail, as a call cut by a timeout or a kill would. */
function letGo(): void {
  writeFileSync(join(control, `release-${waits}`), '');
}

/** From now on a docker call with `words` waits on the host until let go; any call held before is let go first. */
function waitAt(words: string | undefined): void {
  letGo();
  waits++;
  rmSync(join(control, 'reached'), { force: true });
  if (words) writeFileSync(join(control, 'wait-at'), `${waits} ${words}`);
  else rmSync(join(control, 'wait-at'), { force: true });
}

/**
 * A small host: a running container, a stopped one holding data in a named volume, a protected
 * image nothing runs (all kept); an exited container without data, two abandoned images and an
 * orphaned anonymous volume (all removed).
 */
function seed(engine: TestEngine): void {
  reset(engine);
  for (const tag of ['junk:1', 'junk:2', 'keep/me:1']) build(engine, dir, tag, `${tag} `.repeat(50_000));
  const run = (args: string[]) => engine.docker(['run', '--network', 'none', ...args]);
  run(['-d', '--name', 'keeper', 'cleanup-test/busybox:base', 'sleep', '3600']);
  run(['--name', 'db', '-v', 'dbdata:/data', 'cleanup-test/busybox:base', 'sh', '-c', 'echo precious > /data/rows']);
  run(['--name', 'old-1', 'cleanup-test/busybox:base', 'true']);
  engine.docker(['volume', 'create']);
}

/** What must survive every fault. */
function assertIntact(engine: TestEngine, label: string): void {
  const containers = names(engine, ['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  assert.ok(containers.includes('keeper running'), `${label}: the running container runs (${containers})`);
  assert.ok(containers.includes('db exited'), `${label}: the container holding data stays (${containers})`);
  assert.is(
    engine
      .docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        'dbdata:/data',
        'cleanup-test/busybox:base',
        'cat',
        '/data/rows',
      ])
      .trim(),
    'precious',
    `${label}: its volume keeps its data`,
  );
  const images = names(engine, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
  for (const ref of ['keep/me:1', 'cleanup-test/busybox:base'])
    assert.ok(images.includes(ref), `${label}: ${ref} stays`);
}

function assertCleaned(engine: TestEngine, label: string): void {
  const images = names(engine, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.not.ok(
    images.some((ref) => ref.startsWith('junk:')),
    `${label}: abandoned images go (${images})`,
  );
  assert.not.ok(
    names(engine, ['ps', '-a', '--format', '{{.Names}}']).includes('old-1'),
    `${label}: the exited container goes`,
  );
  assert.equal(
    names(engine, ['volume', 'ls', '--format', '{{.Name}}']),
    ['dbdata'],
    `${label}: the orphaned volume goes, the named one stays`,
  );
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-faults-server-'));
  control = mkdtempSync(join(tmpdir(), 'cleanup-faults-server-control-'));
  chmodSync(control, 0o777);
  good = await ensureDockerd('faults-server');
  hanging = await ensureDockerd('faults-server2');
  ensureBaseImage(good);
  ensureBaseImage(hanging);
  const bin = join(control, 'bin');
  mkdirSync(bin, { mode: 0o755 });
  const real = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(bin, 'docker'),
    [
      '#!/bin/sh',
      `line=$(cat '${control}/wait-at' 2>/dev/null)`,
      'wait=${line%% *}; words=${line#* }',
      'case "$line" in ?*) case " $* " in *" $words "*)',
      `  touch '${control}/reached'`,
      // Bounded, so nothing outlives the test even when nobody lets it go.
      `  i=0; while [ ! -e '${control}/release-'$wait ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done`,
      '  echo "docker: stopped at $words" >&2; exit 1;;',
      'esac;; esac',
      `exec ${real} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const first = await startSshd({ user: 'cleanup-ops', groups: ['docker'], env: { DOCKER_HOST: good.host } });
  sshd = [
    first,
    await startSshd({
      user: 'cleanup-ops',
      groups: ['docker'],
      env: { DOCKER_HOST: hanging.host, PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` },
      clientKey: first.target.identityFile,
    }),
  ];
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, sshd.map((s) => readFileSync(s.target.knownHostsFile!, 'utf8')).join(''));
});

test.after(async () => {
  if (control) {
    letGo();
    // Each held call sees it and ends within a poll (0.1 s) before the folder goes.
    for (
      let i = 0;
      i < 100 && execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(`${control}/bin/docker`);
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
  }
  for (const s of sshd) await s.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(control, { recursive: true, force: true });
});

type Item = { action: string; target: string; host?: string; error?: string; reason?: string };

test('an unreachable host and a host that hangs while read are named and refused; the other host is planned and applied', async () => {
  seed(good);
  seed(hanging);
  waitAt('info');
  const unreachable = `cleanup-ops@127.0.0.1:${await freePort()}`;
  const run = await runTask(
    'tasks/server.ts',
    ['--yes', '--json'],
    env([hostOf(sshd[0]), unreachable, hostOf(sshd[1])]),
  );
  assert.is(run.code, 1, howItEnded(run));
  assert.ok(existsSync(join(control, 'reached')), 'the host was reached and hung');
  assertCleaned(good, 'good host');
  assertIntact(good, 'good host');
  const refused = run.report.refused as Item[];
  assert.match(refused.find((r) => r.target === unreachable)?.reason ?? '', /the host is unreachable/);
  assert.match(
    refused.find((r) => r.target === hostOf(sshd[1]))?.reason ?? '',
    new RegExp(`^${hostOf(sshd[1])}: \`docker info --format .*\` did not finish within ${COMMAND_TIMEOUT_SECONDS} s`),
  );
  assert.match(run.stderr, new RegExp(`${hostOf(sshd[1])}: \`docker info`));
  assert.ok(
    (run.report.changes as Item[]).every((c) => c.host === hostOf(sshd[0])),
    'nothing is planned for the failing hosts',
  );
  assert.ok(
    names(hanging, ['image', 'ls', '--format', '{{.Repository}}']).includes('junk'),
    'the hung host is untouched',
  );
});

test('a host that hangs at an apply step is stopped there, named with the step; the other host finishes; a rerun finishes the hung one', async () => {
  seed(good);
  seed(hanging);
  waitAt('image rm');
  const hosts = [hostOf(sshd[0]), hostOf(sshd[1])];
  const run = await runTask('tasks/server.ts', ['--yes', '--json'], env(hosts));
  assert.is(run.code, 1, howItEnded(run));
  assert.ok(existsSync(join(control, 'reached')));
  assertCleaned(good, 'good host');
  const failed = run.report.failed as Item[];
  assert.is(failed.length, 1, JSON.stringify(failed));
  assert.is(failed[0].host, hosts[1]);
  assert.is(failed[0].action, 'remove image');
  assert.match(
    failed[0].error!,
    new RegExp(
      `^step \\d of \\d, remove image: ${hosts[1]}: \`docker image rm junk:\\d\` did not finish within ${COMMAND_TIMEOUT_SECONDS} s`,
    ),
  );
  assert.match(run.stderr, /did not finish within/);
  assert.match(
    run.report.notes.join('\n'),
    new RegExp(`${hosts[1]} hung at step \\d of \\d, remove image junk:\\d; its \\d later steps were not started`),
  );
  const notStarted = run.report.notStarted as Item[];
  assert.ok(notStarted.length >= 2 && notStarted.every((c) => c.host === hosts[1]), JSON.stringify(notStarted));
  assert.not.ok(
    names(hanging, ['ps', '-a', '--format', '{{.Names}}']).includes('old-1'),
    'the steps before the hang were done',
  );
  assertIntact(hanging, 'hung host');

  waitAt(undefined);
  const rerun = await runTask('tasks/server.ts', ['--yes', '--json'], env(hosts));
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.ok(
    (rerun.report.changes as Item[]).every((c) => c.host === hosts[1]),
    'only what the hang left is planned',
  );
  assertCleaned(hanging, 'hung host after the rerun');
  assertIntact(hanging, 'hung host after the rerun');
  assertIntact(good, 'good host after the rerun');
});

test('SIGKILL at an apply step: the rerun completes, with every kept container, volume and image intact', async () => {
  seed(hanging);
  waitAt('image rm');
  const { child, exited } = startTask('tasks/server.ts', ['--yes'], env([hostOf(sshd[1])]));
  const deadline = Date.now() + 180_000;
  while (!existsSync(join(control, 'reached'))) {
    assert.ok(Date.now() < deadline, 'the run reached its image removals');
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  assert.is((await exited).signal, 'SIGKILL');
  waitAt(undefined); // lets the removal it was in fail, as a call cut by the kill would
  // What the kill left: the container removed, the images not.
  assert.not.ok(names(hanging, ['ps', '-a', '--format', '{{.Names}}']).includes('old-1'));
  assert.ok(names(hanging, ['image', 'ls', '--format', '{{.Repository}}']).includes('junk'));
  assertIntact(hanging, 'after the kill');

  const rerun = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[1])]));
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.ok((rerun.report.changes as Item[]).some((c) => c.action === 'remove image'));
  assertCleaned(hanging, 'after the rerun');
  assertIntact(hanging, 'after the rerun');
  const third = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[1])]));
  assert.is(third.code, 0, howItEnded(third));
  assert.is(third.report.summary.changes, 0, JSON.stringify(third.report.changes));
});

test.run();
