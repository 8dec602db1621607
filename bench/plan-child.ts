/**
 * One measured plan (or apply) phase in a process of its own, so its peak RSS is its own.
 * Prints one JSON line: { ms, requests, tags, changes, maxRssBytes }.
 */
import { registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { applyRegistryPlan } from '../lib/registry/apply.ts';
import { registryClient } from '../lib/registry/settings.ts';
import { planRegistryCleanup } from '../lib/registry/cleanup.ts';

const settings = settingsFrom(registrySettings, { REGISTRY_URL: process.env.BENCH_URL, REGISTRY_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '16' });
const repositories = process.env.BENCH_REPOSITORIES ? process.env.BENCH_REPOSITORIES.split(',') : undefined;
const started = performance.now();
const { state, plan, requests } = await planRegistryCleanup(settings, { repositories });
const tags = [...state.repositories.values()].reduce((n, t) => n + t.length, 0);
let result = { ms: performance.now() - started, requests, tags, changes: plan.changes.length };
if (process.env.BENCH_APPLY) {
  const client = registryClient(settings);
  const applyStarted = performance.now();
  const applied = await applyRegistryPlan(client, plan, settings.REGISTRY_CONCURRENCY);
  result = { ms: performance.now() - applyStarted, requests: client.requests, tags, changes: applied.done.length };
  await client.close();
}
process.stdout.write(JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
