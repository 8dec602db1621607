/**
 * What keeps two runs, and a killed run, from hurting the registry: the lock on its host around
 * deletion and collection (lib/lock.ts), and the marker a run leaves while the registry is
 * stopped for collection (gc.ts). One guard per run, shared by plan and apply.
 */
import { hostname } from 'node:os';
import { acquireLock, holderStatus, LockHeld, readLockOwner, type Lock } from '../lock.ts';
import type { Runner } from '../runner.ts';
import type { TaskContext } from '../task.ts';
import { readGcMarker, registryHostPaths, type GcHooks, type GcMarker } from './gc.ts';
import { answers, leftStoppedBy } from './recovery.ts';
import { registryClient, registryHostRunner, type registrySettings } from './settings.ts';

type Ctx = TaskContext<typeof registrySettings>;

export interface RegistryGuard {
  /** Takes the registry lock once per run (waits, then stops naming the holder); released on every exit path. */
  lock(): Promise<Lock>;
  /**
   * The marker an earlier run left while the registry was stopped for collection, and whether
   * the registry answers now; nothing when there is no marker. Only reads: planning calls it.
   */
  stopped(): Promise<{ marker: GcMarker; markerPath: string; answers: boolean } | undefined>;
  /** What the plan says about the registry lock when another run's record holds it (only reads). */
  lockNote(): Promise<string | undefined>;
  /** The marker and restart hooks for this run's collection. */
  gcHooks(): GcHooks;
}

export function registryGuard(ctx: Ctx): RegistryGuard {
  return ctx.memo('registry:guard', () => {
    const paths = registryHostPaths(ctx.settings.REGISTRY_LOCK_DIR, ctx.settings.REGISTRY_URL);
    let runner: Runner | undefined;
    const host = () => {
      if (!runner) {
        runner = registryHostRunner(ctx.settings);
        const opened = runner;
        ctx.onClose(() => opened.close());
      }
      return runner;
    };
    const stopped = async () => {
      const marker = await readGcMarker(host(), paths.marker);
      if (!marker) return undefined;
      const client = registryClient({ ...ctx.settings, REGISTRY_RETRIES: 0 });
      try {
        return { marker, markerPath: paths.marker, answers: await answers(client) };
      } finally {
        await client.close();
      }
    };
    let taken: Promise<Lock> | undefined;
    const lock = () =>
      (taken ??= acquireLock(host(), {
        path: paths.lock,
        what: `the registry at ${ctx.settings.REGISTRY_URL.origin}`,
        purpose: 'clean:registry: deleting and collecting',
        waitSeconds: ctx.settings.REGISTRY_LOCK_WAIT_SECONDS,
        ttlSeconds: ctx.settings.REGISTRY_LOCK_TTL_SECONDS,
        force: ctx.options.force,
        progress: ctx.progress,
      }).then(
        (held) => {
          ctx.onClose(() => held.release());
          return held;
        },
        (error) => refusedWhileDown(error),
      ));
    /** A refusal that leaves the registry down says so, and how to start it (the outage must not hide behind "nothing was changed"). */
    const refusedWhileDown = async (error: unknown): Promise<never> => {
      const down = error instanceof LockHeld ? await stopped().catch(() => undefined) : undefined;
      if (!down || down.answers) throw error;
      const start = ctx.settings.REGISTRY_GC_START_COMMAND || down.marker.start;
      throw new LockHeld(
        `${(error as LockHeld).message} The registry at ${ctx.settings.REGISTRY_URL.origin} is ` +
          `DOWN: it was ${leftStoppedBy(down.marker)} (marker ${down.markerPath} on ` +
          `${host().name}).${start ? ` Start it with: ${start}` : ''}`,
        (error as LockHeld).holder,
      );
    };
    return {
      lock,
      stopped,
      async lockNote() {
        // Planning goes on when the host cannot be read: apply takes the lock, and says why it cannot.
        const owner = await readLockOwner(host(), paths.lock).catch(() => undefined);
        return owner && `The registry lock (${paths.lock} on ${host().name}) is ${holderStatus(owner)}.`;
      },
      gcHooks: () => ({
        markerPath: paths.marker,
        run: `clean:registry pid ${process.pid} on ${hostname()}`,
        onStopped: (restart) => ctx.onClose(restart),
      }),
    };
  });
}
