/**
 * lib/lock.ts: pure staleness rules, and the lock itself on a real host folder (locally and
 * through a real sshd): exclusive, waits then names the holder, released only by its owner,
 * a gone holder reported and taken over only with force.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  acquireLock,
  goneReason,
  holderStatus,
  LockHeld,
  OWNERLESS_STALE_SECONDS,
  processAlive,
  staleReason,
  type LockOwner,
} from '../lib/lock.ts';
import { localRunner, sshRunner } from '../lib/runner.ts';
import { startSshd } from '../sandbox/fixtures/sshd.ts';

let dir: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-lock-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const owner = (over: Partial<LockOwner> = {}): LockOwner => ({
  token: 't',
  user: 'ops',
  host: 'here',
  pid: 42,
  since: '2026-12-01T10:00:00.000Z',
  ttlSeconds: 3600,
  purpose: 'p',
  ...over,
});

test('staleReason: past its TTL, or a dead pid on this host; alive or elsewhere within TTL is not stale', () => {
  const at = (iso: string) => Date.parse(iso);
  assert.match(
    staleReason(owner(), at('2026-12-01T11:00:01Z'), () => true, 'here')!,
    /time to live \(3600 s\) ran out/,
  );
  assert.match(
    staleReason(owner(), at('2026-12-01T10:30:00Z'), () => false, 'here')!,
    /process 42 on here is gone/,
  );
  assert.is(
    staleReason(owner(), at('2026-12-01T10:30:00Z'), () => true, 'here'),
    undefined,
  );
  assert.is(
    staleReason(owner({ host: 'elsewhere' }), at('2026-12-01T10:30:00Z'), () => false, 'here'),
    undefined,
    'a pid on another machine cannot be checked',
  );
});

test('exclusive; a second taker waits, then stops with who holds it, where and since when; only the owner releases', async () => {
  const runner = localRunner();
  const path = join(dir, 'a.lock');
  const options = { path, what: 'the thing', purpose: 'testing', waitSeconds: 2, ttlSeconds: 600, pollMs: 200 };
  const first = await acquireLock(runner, options);
  const stored = JSON.parse(readFileSync(join(path, 'owner.json'), 'utf8')) as LockOwner;
  assert.equal(
    { token: stored.token, pid: stored.pid, host: stored.host },
    { token: first.owner.token, pid: process.pid, host: hostname() },
  );

  const started = Date.now();
  try {
    await acquireLock(runner, options);
    assert.unreachable('the lock is held');
  } catch (error) {
    assert.instance(error, LockHeld);
    assert.match(
      (error as Error).message,
      `the thing is locked by ${stored.user}@${hostname()} (pid ${process.pid}, testing) since ${stored.since} (${path} on local); waited 2 s`,
    );
  }
  assert.ok(Date.now() - started >= 2_000, 'it waited');

  // Someone else's lock (another token) is not removed by our release.
  writeFileSync(join(path, 'owner.json'), JSON.stringify({ ...stored, token: 'someone-else' }));
  await first.release();
  assert.ok(readFileSync(join(path, 'owner.json'), 'utf8').includes('someone-else'), 'left in place');
  writeFileSync(join(path, 'owner.json'), JSON.stringify(stored));
  await first.release();
  const again = await acquireLock(runner, options);
  await again.release();
});

test('goneReason: only this machine, this boot and a pid not running prove a holder gone', () => {
  const here = owner({ bootId: 'boot-1' });
  assert.match(
    goneReason(here, () => false, 'here', 'boot-1')!,
    /process 42 on here \(this machine, same boot\) is gone/,
  );
  assert.is(
    goneReason(here, () => true, 'here', 'boot-1'),
    undefined,
    'a live pid',
  );
  assert.is(
    goneReason(here, () => false, 'here', 'boot-2'),
    undefined,
    'a pid of an earlier boot',
  );
  assert.is(
    goneReason(owner(), () => false, 'here', 'boot-1'),
    undefined,
    'a record without a boot id',
  );
  assert.is(
    goneReason(here, () => false, 'elsewhere', 'boot-1'),
    undefined,
    'another machine',
  );
  assert.is(
    goneReason(here, () => false, 'here', undefined),
    undefined,
    'no boot id here',
  );
});

test('processAlive: a zombie (exited, not reaped) counts as gone, though kill(pid, 0) still finds it', async () => {
  // perl forks a child that exits at once and never reaps it. (A shell's `sleep 0 & exec sleep 30`
  // raced: when the child ended before the exec, the shell reaped it.)
  const script = 'my $pid = fork // die; exit 0 unless $pid; $| = 1; print "$pid\\n"; sleep 30';
  const parent = spawn('perl', ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = Number((await once(parent.stdout!, 'data'))[0].toString().trim());
    const zombie = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z';
    for (let i = 0; i < 200 && !zombie(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(zombie(), `pid ${pid} is a zombie`);
    process.kill(pid, 0); // still there for kill(2)
    assert.is(processAlive(pid), false);
    assert.is(processAlive(parent.pid!), true);
  } finally {
    parent.kill('SIGKILL');
  }
});

test('a holder gone from this machine and boot is taken over without --force; one that may live needs --force', async () => {
  const runner = localRunner();
  const path = join(dir, 'b.lock');
  const options = { path, what: 'the thing', purpose: 'testing', waitSeconds: 1, ttlSeconds: 600, pollMs: 200 };
  const held = await acquireLock(runner, options);
  assert.is(held.owner.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  const dead = { ...held.owner, pid: 2 ** 22 + 12345 }; // beyond pid_max's default: no such process
  writeFileSync(join(path, 'owner.json'), JSON.stringify(dead));
  assert.match(holderStatus(dead), /is gone: this run takes it over without --force/);
  const said: string[] = [];
  const mine = await acquireLock(runner, { ...options, progress: (m) => said.push(m) });
  assert.match(
    said.join('\n'),
    new RegExp(`Took over the lock on the thing .*pid ${dead.pid}.*this machine, same boot`),
  );
  assert.is.not(mine.owner.token, held.owner.token);
  assert.equal(
    readdirSync(dir).filter((f) => f.startsWith('b.lock')),
    ['b.lock'],
    'nothing left aside',
  );

  // The same dead pid from before a reboot (another boot id) may be a live process now: --force.
  const earlierBoot = { ...dead, token: 'earlier', bootId: 'another-boot' };
  writeFileSync(join(path, 'owner.json'), JSON.stringify(earlierBoot));
  assert.match(holderStatus(earlierBoot), /may still run: taken over only with --force/);
  try {
    await acquireLock(runner, options);
    assert.unreachable('stale, but not provably gone, and not forced');
  } catch (error) {
    assert.match((error as Error).message, new RegExp(`process ${dead.pid} on .* is gone.*--force`));
  }
  const taken = await acquireLock(runner, { ...options, force: true, progress: (m) => said.push(m) });
  assert.match(said.join('\n'), /Taking over the stale lock/);
  await taken.release();
});

test('a lock folder with no owner file: a young one is waited for; one older than a minute is stale, and --force takes it over', async () => {
  const runner = localRunner();
  const path = join(dir, 'c.lock');
  const options = { path, what: 'the thing', purpose: 'testing', waitSeconds: 1, ttlSeconds: 600, pollMs: 200 };
  mkdirSync(path);
  try {
    await acquireLock(runner, options);
    assert.unreachable('a young ownerless lock is a taker still writing its owner file');
  } catch (error) {
    assert.match((error as Error).message, /locked by a run that is still writing its owner file .*waited 1 s/);
  }
  const old = new Date(Date.now() - (OWNERLESS_STALE_SECONDS + 30) * 1000);
  utimesSync(path, old, old);
  try {
    await acquireLock(runner, options);
    assert.unreachable('stale, but not forced');
  } catch (error) {
    assert.instance(error, LockHeld);
    assert.match(
      (error as Error).message,
      /locked by no one it names .*the lock folder has no owner file and is \d+ s old.*--force/,
    );
  }
  const said: string[] = [];
  const taken = await acquireLock(runner, { ...options, force: true, progress: (m) => said.push(m) });
  assert.match(
    said.join('\n'),
    /Taking over the stale lock on the thing .* held by no one it names: the lock folder has no owner file/,
  );
  assert.equal(JSON.parse(readFileSync(join(path, 'owner.json'), 'utf8')).token, taken.owner.token);
  await taken.release();
});

test('over ssh: the lock lives on the remote host', async () => {
  const sshd = await startSshd();
  const runner = sshRunner(sshd.target);
  const path = `/tmp/cleanup-lock-test-${process.pid}.lock`;
  try {
    const lock = await acquireLock(runner, {
      path,
      what: 'the remote thing',
      purpose: 'testing',
      waitSeconds: 0,
      ttlSeconds: 600,
    });
    assert.match((await runner.run(['cat', `${path}/owner.json`])).stdout, lock.owner.token);
    const second = await acquireLock(runner, {
      path,
      what: 'the remote thing',
      purpose: 'testing',
      waitSeconds: 0,
      ttlSeconds: 600,
    }).catch((error: Error) => error);
    assert.match(String(second), /the remote thing is locked by .* on cleanup-ops@127\.0\.0\.1:\d+\); waited 0 s/);
    await lock.release();
    assert.is((await runner.run(['test', '-e', path], { allowFailure: true })).exitCode, 1, 'released');
  } finally {
    await runner.run(['rm', '-rf', path], { allowFailure: true });
    await runner.close();
    await sshd.stop();
  }
});

test.run();
