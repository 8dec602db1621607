import { pMapSettled } from 'p-map';

/**
 * Runs `work` over `items` with at most `limit` in flight; results keep the input order.
 * A rejection does not stop the others: each result says whether it was fulfilled, so one
 * failing host or tag never hides what happened to the rest. p-map takes the next item only
 * when one finishes, so 50,000 tags never wait as 50,000 queued closures.
 */
export function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  return pMapSettled(items, work, { concurrency: limit });
}

/**
 * Like mapLimit, for work that must be complete: every item is still finished (nothing runs on
 * unawaited after a failure), then the first failure in input order is thrown as it was, not
 * wrapped in an AggregateError.
 */
export async function mapLimitAll<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = await mapLimit(items, limit, work);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}
