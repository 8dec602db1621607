/**
 * What keeps two runs, and a killed run, from hurting the registry: the lock on its host around
 * deletion and collection (lib/lock.ts), and the marker a run leaves while the registry is
 * stopped for collection (gc.ts). One guard per run, shared by plan and apply.
 */
import { hostname } from 'node:os';
import { acquireLock, type Lock } from '../lock.ts';
import type { Runner } from '../runner.ts';
import type { TaskContext } from '../task.ts';
import { waitUntilServing } from './api.ts';
import { readGcMarker, recoverStoppedRegistry, registryHostPaths, type GcCommands, type GcHooks } from './gc.ts';
import { registryClient, registryHostRunner, type registrySettings } from './settings.ts';

type Ctx = TaskContext<typeof registrySettings>;

export interface RegistryGuard {
  /** Takes the registry lock once per run (waits, then stops naming the holder); released on every exit path. */
  lock(): Promise<Lock>;
  /**
   * When an earlier run was killed with the registry stopped for collection: under the lock,
   * starts it again and waits until it serves. Returns what to tell the user, or nothing.
   */
  recoverStopped(gc: GcCommands): Promise<string | undefined>;
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
      }).then((held) => {
        ctx.onClose(() => held.release());
        return held;
      }));
    return {
      lock,
      async recoverStopped(gc) {
        const marker = await readGcMarker(host(), paths.marker);
        if (!marker) return undefined;
        // A run collecting right now holds the lock: its marker is not ours to act on.
        await lock();
        await recoverStoppedRegistry(host(), gc, paths.marker, () => servingAgain(ctx));
        return (
          `The registry was left stopped for garbage collection by ${marker.run} (since ` +
          `${marker.since}): started it again before planning, and it serves; the collection is ` +
          `planned again from the record of pending deletions.`
        );
      },
      gcHooks: () => ({
        markerPath: paths.marker,
        run: `clean:registry pid ${process.pid} on ${hostname()}`,
        onStopped: (restart) => ctx.onClose(restart),
      }),
    };
  });
}

async function servingAgain(ctx: Ctx): Promise<void> {
  const client = registryClient(ctx.settings);
  try {
    await waitUntilServing(client);
  } finally {
    await client.close();
  }
}
