/**
 * The deploy lock: one lib/lock.ts lock in the deploy folder on the deploy host, taken by a
 * deploy or rollback and by `clean:server` while it prunes that host. Owner token, wait, TTL and
 * --force takeover of a gone holder are lib/lock.ts's; this file names the lock and its defaults.
 */
import { join } from 'node:path';
import { acquireLock, readLockOwner, staleReason, processAlive, type Lock, type LockOwner } from '../lock.ts';
import { TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import { files } from './commands.ts';

export const deployLockPath = (dir: string) => join(dir, '.deploy.lock');

export interface DeployLockOptions {
  /** DEPLOY_LOCK_WAIT_SECONDS: how long a second run waits before it stops naming the holder. */
  waitSeconds: number;
  /** DEPLOY_LOCK_TTL_SECONDS: after this, a holder that never released counts as gone. */
  ttlSeconds: number;
  /** Take over a lock whose holder is gone; a live holder is never overridden. */
  force?: boolean;
  progress?: (message: string) => void;
}

/** The defaults of DEPLOY_LOCK_WAIT_SECONDS and DEPLOY_LOCK_TTL_SECONDS (lib/server/settings.ts, lib/deploy/settings.ts). */
export const deployLockDefaults: DeployLockOptions = { waitSeconds: 60, ttlSeconds: 4 * 3600 };

export async function takeDeployLock(
  runner: Runner,
  dir: string,
  purpose: string,
  options: DeployLockOptions,
): Promise<Lock> {
  await runner.run(files.mkdir(dir));
  return acquireLock(runner, { path: deployLockPath(dir), what: `the deploy folder ${dir}`, purpose, ...options });
}

/**
 * The deploy lock on a host's deploy folder, as the server task takes it while it prunes the
 * deploy host. Released only while it still carries this run's token: a lock someone took over is theirs.
 */
export async function lockDeployDir(
  runner: Runner,
  dir: string,
  purpose: string,
  options: Partial<DeployLockOptions> = {},
): Promise<() => Promise<void>> {
  const lock = await takeDeployLock(runner, dir, purpose, { ...deployLockDefaults, ...options });
  return () => lock.release();
}

export interface DeployLockState {
  path: string;
  /** Undefined when the lock folder has no readable owner file (a run killed while taking it, or an old lock). */
  owner?: LockOwner;
  /** Why the holder counts as gone, if it does. */
  stale?: string;
}

/** Who holds the deploy lock, or undefined when it is free. */
export async function deployLockState(
  runner: Runner,
  dir: string,
  now = Date.now(),
): Promise<DeployLockState | undefined> {
  const path = deployLockPath(dir);
  if ((await runner.run(files.exists(path), { allowFailure: true })).exitCode !== 0) return undefined;
  const owner = await readLockOwner(runner, path);
  return { path, owner, stale: owner && staleReason(owner, now, processAlive) };
}

/** Removes the deploy lock only while it is still held by the owner with `token` (what the plan named). */
export async function removeDeployLock(runner: Runner, dir: string, token: string | undefined): Promise<void> {
  const now = await readLockOwner(runner, deployLockPath(dir));
  if (now?.token !== token)
    throw new TaskError(
      `the deploy lock on ${runner.name} changed hands since the plan (now: ${now ? now.token : 'no owner file'}): left in place; run deploy:lock again.`,
    );
  await runner.run(files.unlock(deployLockPath(dir)));
}
