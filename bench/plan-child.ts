/**
 * One measured registry plan (and, with BENCH_APPLY, its apply) in a process of its own, so its
 * peak RSS is its own and Node's start-up is outside the timings. Settings come from REGISTRY_*
 * variables as the task reads them (defaults unless set). Prints one JSON line:
 * { ms, requests, tags, changes, cpuMs, maxRssBytes, applyMs?, deleteMs?, collectMs?, applied?, failed? }
 * (cpuMs: the plan's CPU time, user and system, apart from the start-up).
 */
import { applyRegistryPlan } from '../lib/registry/apply.ts';
import { registryClient, registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { planRegistryCleanup } from '../lib/registry/cleanup.ts';

const settings = settingsFrom(registrySettings, process.env);
const repositories = process.env.BENCH_REPOSITORIES ? process.env.BENCH_REPOSITORIES.split(',') : undefined;
const started = performance.now();
const cpuAtStart = process.cpuUsage();
const { state, plan, requests } = await planRegistryCleanup(settings, { repositories, by: 'bench' });
const tags = [...state.repositories.values()].reduce((n, t) => n + t.length, 0);
const result: Record<string, number> = {
  ms: performance.now() - started,
  requests,
  tags,
  changes: plan.changes.length,
};
if (process.env.BENCH_APPLY) {
  const client = registryClient(settings);
  const applyStarted = performance.now();
  // The collection starts with this progress message: what comes before it is the deletions.
  let collectStarted: number | undefined;
  const progress = (message: string) => {
    if (collectStarted === undefined && message.startsWith('garbage collection')) collectStarted = performance.now();
  };
  const applied = await applyRegistryPlan(client, plan, settings.REGISTRY_CONCURRENCY, undefined, progress);
  const ended = performance.now();
  Object.assign(result, {
    applyMs: ended - applyStarted,
    deleteMs: (collectStarted ?? ended) - applyStarted,
    collectMs: collectStarted === undefined ? 0 : ended - collectStarted,
    applyRequests: client.requests,
    applied: applied.done.length,
    failed: applied.failed.length,
  });
  await client.close();
}
const cpu = process.cpuUsage(cpuAtStart);
process.stdout.write(
  JSON.stringify({
    ...result,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }) + '\n',
);
