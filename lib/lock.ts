/**
 * A lock on a shared thing (the registry host around deletion and collection; the deploy host
 * around a deploy or a prune), held on that thing's host through the one runner, so it works
 * the same locally and over ssh:
 *
 *   const lock = await acquireLock(runner, { path: '/tmp/x.lock', what: 'the registry at …', waitSeconds: 60, ttlSeconds: 7200, force });
 *   ctx.onClose(() => lock.release());   // every exit path; releasing twice is harmless
 *   …work…
 *   await lock.release();
 *
 * Taking it is an atomic `mkdir` (Kamal's deploy lock) followed by an owner file naming who
 * holds it: a random token, user@host, pid, since when and for how long (TTL). A second run
 * waits `waitSeconds`, then stops with who holds the lock, where, and since when. Only the owner
 * releases: `release` removes the lock only while the owner file still carries its token.
 *
 * A holder provably gone is taken over without asking, as PostgreSQL removes a `postmaster.pid`
 * whose process is gone and a flock vanishes with its process: the owner record names this
 * machine (same host name AND same boot id, /proc/sys/kernel/random/boot_id, so a pid from
 * before a reboot or of another machine with the same name never counts) and that pid is not a
 * live process here (a zombie is not). A holder that may be alive (another machine, a record
 * without a boot id, a TTL run out while the pid may still run) is only reported as stale, and
 * `force` takes the lock over.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskError } from './errors.ts';
import type { Runner } from './runner.ts';

export interface LockOwner {
  token: string;
  user: string;
  host: string;
  pid: number;
  /** ISO time the lock was taken. */
  since: string;
  ttlSeconds: number;
  /** What the holder is doing, e.g. "clean:registry: deleting and collecting". */
  purpose: string;
  /** The holder machine's boot id: with the host name, what proves its pid is of this boot of this machine. */
  bootId?: string;
}

export interface LockOptions {
  /** The lock folder on the runner's host. */
  path: string;
  /** The shared thing, as messages name it: "the registry at http://127.0.0.1:5000". */
  what: string;
  purpose: string;
  waitSeconds: number;
  ttlSeconds: number;
  /** Take over a stale lock (holder gone or past its TTL); a live holder is never overridden. */
  force?: boolean;
  pollMs?: number;
  progress?: (message: string) => void;
}

export interface Lock {
  readonly owner: LockOwner;
  /** When this run took the lock over from a provably gone holder: what it said (for the report). */
  readonly tookOver?: string;
  /** Removes the lock if this run still owns it; says so when someone else took it over. */
  release(): Promise<void>;
}

/** The lock is held by someone else (live, or stale without --force). */
export class LockHeld extends TaskError {
  constructor(
    message: string,
    readonly holder: LockOwner | undefined,
  ) {
    super(message);
  }
}

const ownerFile = (path: string) => `${path}/owner.json`;

export function describeOwner(owner: LockOwner): string {
  return `${owner.user}@${owner.host} (pid ${owner.pid}, ${owner.purpose}) since ${owner.since}`;
}

/** Why a holder no longer counts (pure, for tests): its pid is dead here, or its TTL passed. */
export function staleReason(
  owner: LockOwner,
  now: number,
  isAlive: (pid: number) => boolean,
  thisHost = hostname(),
): string | undefined {
  const expires = Date.parse(owner.since) + owner.ttlSeconds * 1000;
  if (Number.isFinite(expires) && now > expires)
    return `its time to live (${owner.ttlSeconds} s) ran out at ${new Date(expires).toISOString()}`;
  if (owner.host === thisHost && !isAlive(owner.pid)) return `its process ${owner.pid} on ${owner.host} is gone`;
  return undefined;
}

/** This machine's boot id (changes at every boot), or undefined where the kernel does not give one. */
export function thisBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a holder is provably gone (pure, for tests): its record names this machine and this boot,
 * and its pid is not a live process. Such a lock is taken over without --force.
 */
export function goneReason(
  owner: LockOwner,
  isAlive: (pid: number) => boolean,
  thisHost = hostname(),
  bootId = thisBootId(),
): string | undefined {
  if (owner.host !== thisHost || !bootId || owner.bootId !== bootId || isAlive(owner.pid)) return undefined;
  return `its process ${owner.pid} on ${owner.host} (this machine, same boot) is gone`;
}

/** What a plan says about a held lock: taken over (provably gone), refused without --force (maybe alive, stale), or waited for. */
export function holderStatus(owner: LockOwner, now = Date.now()): string {
  const gone = goneReason(owner, processAlive);
  if (gone) return `held by ${describeOwner(owner)}, but ${gone}: this run takes it over without --force`;
  const stale = staleReason(owner, now, processAlive);
  if (stale)
    return `held by ${describeOwner(owner)}, which looks gone (${stale}) but may still run: taken over only with --force`;
  return `held by ${describeOwner(owner)}: apply waits for it to be released`;
}

/** Whether a process of this machine runs: another user's counts (EPERM), a zombie does not. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}

/**
 * A lock folder without a readable owner file: its taker was killed between `mkdir` and writing
 * the file, which takes milliseconds. Past this age it counts as stale (by the host's own clock).
 */
export const OWNERLESS_STALE_SECONDS = 60;

/** Why a lock folder with no owner file is stale, or undefined while it is young enough to be a taker still writing it. */
async function ownerlessStale(runner: Runner, path: string): Promise<string | undefined> {
  const { stdout, exitCode } = await runner.$({ allowFailure: true })`stat -c %Y ${path} && date +%s`;
  const [made, now] = stdout.trim().split('\n').map(Number);
  if (exitCode !== 0 || !Number.isFinite(made) || !Number.isFinite(now) || now - made < OWNERLESS_STALE_SECONDS)
    return undefined;
  return `the lock folder has no owner file and is ${now - made} s old: the run that made it was stopped as it took the lock`;
}

/** The owner file of the lock at `path`, or undefined when there is none or it cannot be read. */
export async function readLockOwner(runner: Runner, path: string): Promise<LockOwner | undefined> {
  const { stdout, exitCode } = await runner.$({ allowFailure: true })`cat ${ownerFile(path)}`;
  if (exitCode !== 0) return undefined;
  try {
    return JSON.parse(stdout) as LockOwner;
  } catch {
    return undefined;
  }
}

export async function acquireLock(runner: Runner, options: LockOptions): Promise<Lock> {
  const owner: LockOwner = {
    token: randomUUID(),
    user: userInfo().username,
    host: hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
    ttlSeconds: options.ttlSeconds,
    purpose: options.purpose,
    bootId: thisBootId(),
  };
  const where = `${options.path} on ${runner.name}`;
  const deadline = Date.now() + options.waitSeconds * 1000;
  let said = false;
  let tookOver: string | undefined;
  for (;;) {
    owner.since = new Date().toISOString();
    // One round trip: the folder (exit 3 when it is there already), then the owner file in it.
    const made = await runner.$({ allowFailure: true, input: JSON.stringify(owner) })`mkdir ${options.path} || exit 3
cat > ${ownerFile(options.path)}`;
    if (made.exitCode === 0)
      return { owner, tookOver, release: () => release(runner, options.path, owner, options.progress) };
    if (made.exitCode !== 3)
      throw new TaskError(
        `${runner.name}: the lock ${options.path} was made, but its owner file could not be written ` +
          `(${made.stderr.trim() || `exit ${made.exitCode}`}). Free space or permissions there? Run again.`,
      );
    const holder = await readLockOwner(runner, options.path);
    const gone = holder && goneReason(holder, processAlive);
    if (gone) {
      tookOver = `Took over the lock on ${options.what} (${where}) held by ${describeOwner(holder)}: ${gone}.`;
      options.progress?.(tookOver);
      await takeOver(runner, options.path, holder.token);
      continue;
    }
    const stale = holder ? staleReason(holder, Date.now(), processAlive) : await ownerlessStale(runner, options.path);
    const by = holder ? describeOwner(holder) : 'no one it names';
    if (stale && options.force) {
      options.progress?.(`Taking over the stale lock on ${options.what} (${where}) held by ${by}: ${stale}.`);
      await runner.$`rm -rf ${options.path}`;
      continue;
    }
    if (stale)
      throw new LockHeld(
        `${options.what} is locked by ${by} (${where}), but that holder looks gone: ${stale}. ` +
          `Nothing was changed. If no other run is working on it, run again with --force to take the lock over.`,
        holder,
      );
    if (Date.now() >= deadline) {
      const who = holder ? describeOwner(holder) : 'a run that is still writing its owner file';
      throw new LockHeld(
        `${options.what} is locked by ${who} (${where}); waited ${options.waitSeconds} s. Nothing was changed. Run again when that run has finished.`,
        holder,
      );
    }
    if (!said) {
      options.progress?.(
        `Waiting up to ${options.waitSeconds} s for the lock on ${options.what}, held by ${holder ? describeOwner(holder) : 'another run'}.`,
      );
      said = true;
    }
    await sleep(options.pollMs ?? 1_000);
  }
}

/**
 * Removes a provably gone holder's lock, only while it still carries that holder's token: two
 * runs that found it at once must not both remove it (the second would remove the first's new lock).
 */
async function takeOver(runner: Runner, path: string, token: string): Promise<void> {
  const aside = `${path}.gone-${randomUUID()}`;
  // mv is atomic: of two runs moving the same folder, one moves it, the other finds it gone.
  const moved = await runner.$({ allowFailure: true })`mv -T ${path} ${aside}`;
  if (moved.exitCode !== 0) return;
  const was = await readLockOwner(runner, aside);
  if (was?.token !== token) {
    // Someone else's lock, taken between our read and the move: put it back if nothing took its place.
    await runner.$({ allowFailure: true })`mv -T ${aside} ${path}`;
    return;
  }
  await runner.$`rm -rf ${aside}`;
}

async function release(
  runner: Runner,
  path: string,
  owner: LockOwner,
  progress?: (message: string) => void,
): Promise<void> {
  // The common case in one round trip: the owner file still names this run.
  const token = JSON.stringify({ token: owner.token }).slice(1, -1);
  if ((await runner.$({ allowFailure: true })`grep -qF ${token} ${ownerFile(path)} && rm -rf ${path}`).exitCode === 0)
    return;
  const holder = await readLockOwner(runner, path);
  if (!holder || holder.token !== owner.token) {
    if (holder)
      progress?.(
        `The lock ${path} on ${runner.name} is now held by ${describeOwner(holder)}, not this run: left in place.`,
      );
    return;
  }
  await runner.$`rm -rf ${path}`;
}
