/**
 * Bounds on whole exchanges that cost one signal per second instead of one per request: the
 * requests started within the same second share one AbortSignal, which fires `ms` after the
 * latest of them could have started (so at most a second late for the earliest). An
 * `AbortSignal.timeout` per request (a signal, a timer, a weak reference and a finalizer each)
 * cost as much CPU as undici's own request on the plan's path, and the registry shares the CPU
 * (docs/performance.md).
 */
import { setMaxListeners } from 'node:events';

export function sharedDeadlines(ms: number, granularityMs = 1_000): () => AbortSignal {
  let current: { signal: AbortSignal; until: number } | undefined;
  return () => {
    const now = performance.now();
    if (!current || now >= current.until) {
      const signal = AbortSignal.timeout(ms + granularityMs);
      // Every request of that second listens to it, and stops listening once answered.
      setMaxListeners(0, signal);
      current = { signal, until: now + granularityMs };
    }
    return current.signal;
  };
}
