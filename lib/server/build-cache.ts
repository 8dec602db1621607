/**
 * The build cache, record by record (pure). `docker builder prune --filter until=…` or
 * `--keep-storage` let Docker choose the records when the command runs, so a plan could only
 * estimate them; instead the plan names every record it removes (id, size, last used), read from
 * `docker system df -v`, and apply removes exactly those, one `--filter id=` each (the 20.10
 * engine takes one id per call), checking Docker's answer names the record.
 *
 * BuildKit removes a record only once no remaining record builds on it (its parent link), so a
 * record goes only with every record built on it, children first; one a kept record builds on
 * stays, with that reason. Records in use stay. Past SERVER_BUILD_CACHE_MAX_AGE_HOURS unused
 * they go; of the rest, above SERVER_BUILD_CACHE_MAX_SIZE, the least recently used go until the
 * unused cache fits.
 */
import { formatBytes } from '../units.ts';
import type { CacheRecord } from '../host/parse.ts';

const HOUR = 3_600_000;

export interface CachePolicy {
  buildCacheMaxAgeHours: number;
  /** Bytes of unused build cache kept at most; 0 for no size bound. */
  buildCacheMaxBytes: number;
}

export interface CacheDecision {
  record: CacheRecord;
  remove: boolean;
  reason: string;
}

export const cacheLabel = (r: CacheRecord) => `build cache ${r.id}${r.description ? ` (${r.description})` : ''}`;

const lastUsed = (r: CacheRecord) => new Date(r.lastUsed).toISOString();

/** Decisions for every record, removals in the order they must run: a record after every record built on it. */
export function planBuildCache(cache: CacheRecord[], policy: CachePolicy, now: number): CacheDecision[] {
  const children = new Map<string, CacheRecord[]>();
  for (const r of cache) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const chosen = new Map<string, string>();
  const kept = new Map<string, string>();
  // A record may go only when every record built on it goes too.
  const free = (r: CacheRecord): boolean => (children.get(r.id) ?? []).every((c) => chosen.has(c.id));
  const choose = (wanted: CacheRecord[], reason: (r: CacheRecord) => string) => {
    for (let progress = true; progress;) {
      progress = false;
      for (const r of wanted)
        if (!chosen.has(r.id) && free(r)) {
          chosen.set(r.id, reason(r));
          progress = true;
        }
    }
  };
  for (const r of cache) if (r.inUse) kept.set(r.id, 'in use by a build now');
  const unused = cache.filter((r) => !r.inUse);
  const stale = unused.filter((r) => now - r.lastUsed > policy.buildCacheMaxAgeHours * HOUR);
  const staleReason = (r: CacheRecord) =>
    `unused since ${lastUsed(r)}, more than ${policy.buildCacheMaxAgeHours}h (SERVER_BUILD_CACHE_MAX_AGE_HOURS)`;
  choose(stale, staleReason);
  if (policy.buildCacheMaxBytes > 0) {
    // Least recently used first, each only once what builds on it is chosen, until the rest fits.
    let left = unused.filter((r) => !chosen.has(r.id)).reduce((sum, r) => sum + r.size, 0);
    const bound = `the unused build cache is above SERVER_BUILD_CACHE_MAX_SIZE (${formatBytes(policy.buildCacheMaxBytes)})`;
    const byAge = unused.filter((r) => !chosen.has(r.id)).sort((a, b) => a.lastUsed - b.lastUsed);
    while (left > policy.buildCacheMaxBytes) {
      const next = byAge.find((r) => !chosen.has(r.id) && free(r));
      if (!next) break;
      chosen.set(next.id, `last used ${lastUsed(next)}, among the least recently used: ${bound}`);
      left -= next.size;
    }
    // A stale record whose last child just went is free to go too.
    choose(stale, staleReason);
  }
  for (const r of unused)
    if (!chosen.has(r.id) && stale.includes(r))
      kept.set(r.id, 'unused long enough to go, but a record that stays builds on it (BuildKit keeps it for that one)');
  // Children first: a record's removal comes after the removals of every record built on it.
  const ordered: CacheRecord[] = [];
  const visit = (r: CacheRecord) => {
    if (ordered.includes(r)) return;
    for (const c of children.get(r.id) ?? []) if (chosen.has(c.id)) visit(c);
    ordered.push(r);
  };
  for (const r of cache) if (chosen.has(r.id)) visit(r);
  return [
    ...ordered.map((record) => ({ record, remove: true, reason: chosen.get(record.id)! })),
    ...cache.filter((r) => kept.has(r.id)).map((record) => ({ record, remove: false, reason: kept.get(record.id)! })),
  ];
}

/** Docker answers a prune with the ids it deleted: one that does not name the record removed nothing. */
export function confirmRemoved(id: string, output: string): void {
  if (!output.split(/\s+/).includes(id))
    throw new Error(
      `Docker did not remove build cache record ${id} (its answer: ` +
        `${output.trim() || 'nothing'}); a record built on it since the plan, or a build now ` +
        `uses it: run again to plan afresh`,
    );
}
