/**
 * What a benchmark started and must stop even when the run is interrupted (Ctrl-C): the
 * registries run detached (setsid) and dockerd outlives its parent, so an exit alone leaves them.
 */
const stops = new Set<() => Promise<unknown>>();

/** Runs `work` with `stop` registered for an interrupt; stops it when `work` ends, however it ends. */
export async function stoppedAfter<T>(stop: () => Promise<unknown>, work: () => Promise<T>): Promise<T> {
  stops.add(stop);
  try {
    return await work();
  } finally {
    stops.delete(stop);
    await stop();
  }
}

/** Stops everything still registered, newest first (containers and engines after their users). */
export async function stopAll(): Promise<void> {
  for (const stop of [...stops].reverse()) await stop().catch(() => undefined);
  stops.clear();
}
