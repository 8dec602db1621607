/**
 * The registry figures of `npm run bench`: plan at default settings against a bare undici client
 * at its best concurrency (target 1), 5,000 deletions against a bare DELETE loop (target 2, the
 * collection apart), and plan time and memory at 2,500, 10,000 and 50,000 tags (target 3).
 * Registries: Debian's docker-registry on loopback, seeded by writing its storage (registry-storage.ts).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { mapLimitAll } from '../lib/concurrency.ts';
import { MANIFEST_ACCEPT } from '../lib/registry/media-types.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { applyBench } from './registry-apply.ts';
import { ensureRegistryStorage, mixedTags } from './registry-storage.ts';
import { stoppedAfter } from './stops.ts';
import { megabytes, ratioRow, seconds, type Row } from './table.ts';

const run = promisify(execFile);
const PER_REPOSITORY = 500;
// Smaller runs for development (multiples of 500 tags): BENCH_SCALE=500,1000,2500 BENCH_PLAN_TAGS=1000 BENCH_APPLY_REPOSITORIES=4.
const SCALE = (process.env.BENCH_SCALE ?? '2500,10000,50000').split(',').map(Number);
const PLAN_TAGS = Number(process.env.BENCH_PLAN_TAGS ?? 10_000);

export interface Measured {
  ms: number;
  requests: number;
  tags: number;
  changes: number;
  /** CPU time of the plan (user and system), without Node's start-up. */
  cpuMs: number;
  maxRssBytes: number;
  deleteMs?: number;
  collectMs?: number;
  applyRequests?: number;
  applied?: number;
  failed?: number;
}

export const name = (i: number) => `bench/app-${String(i).padStart(3, '0')}`;

/** One plan (or plan and apply) in its own process: bench/plan-child.ts. */
export async function child(env: Record<string, string>): Promise<Measured> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/plan-child.ts'], {
    env: { PATH: process.env.PATH, ...env },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measured;
}

/**
 * The ceiling of a plan: the same kinds of requests from a bare undici client, nothing else:
 * each repository's tag list, one manifest GET per tag, each image config once per repository.
 */
async function bareRead(
  url: string,
  repositories: string[],
  concurrency: number,
): Promise<{ ms: number; requests: number }> {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  let requests = 0;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    requests++;
    const response = await request(`${url}${path}`, { dispatcher: agent, headers });
    return Buffer.from(await response.body.arrayBuffer());
  };
  const started = performance.now();
  await get('/v2/');
  const lists = await mapLimitAll(
    repositories,
    concurrency,
    async (repo) => (JSON.parse((await get(`/v2/${repo}/tags/list`)).toString()) as { tags: string[] }).tags,
  );
  const pairs = repositories.flatMap((repo, i) => lists[i].map((tag) => ({ repo, tag })));
  const manifests = await mapLimitAll(pairs, concurrency, async ({ repo, tag }) => ({
    repo,
    config: (
      JSON.parse((await get(`/v2/${repo}/manifests/${tag}`, { accept: MANIFEST_ACCEPT })).toString()) as {
        config: { digest: string };
      }
    ).config.digest,
  }));
  const configs = [...new Map(manifests.map((m) => [`${m.repo}@${m.config}`, m])).values()];
  await mapLimitAll(configs, concurrency, ({ repo, config }) => get(`/v2/${repo}/blobs/${config}`));
  const ms = performance.now() - started;
  await agent.close();
  return { ms, requests };
}

/** Checks the written storage really serves: a manifest GET by tag answers 200. */
async function assertServes(registry: TestRegistry, repo: string, tag: string): Promise<void> {
  const response = await request(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: MANIFEST_ACCEPT },
  });
  await response.body.arrayBuffer();
  if (response.statusCode !== 200)
    throw new Error(
      `the seeded registry does not serve ${repo}:${tag} (${response.statusCode}); remove ${registry.dir} to seed again`,
    );
}

const best = async <T extends { ms: number }>(times: number, measure: () => Promise<T>): Promise<T> => {
  let found: T | undefined;
  for (let i = 0; i < times; i++) {
    const m = await measure();
    if (!found || m.ms < found.ms) found = m;
  }
  return found!;
};

export async function registryBench(
  ports: { plan: number; applyOurs: number; applyBare: number },
  say: (text: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const defaults = settingsFrom(registrySettings, { REGISTRY_URL: 'http://127.0.0.1:1' });
  const concurrency = defaults.REGISTRY_CONCURRENCY;

  // Plan and scale: one seed of 50,000 tags, 100 repositories of 500; subsets by repository.
  const total = 50_000 / PER_REPOSITORY;
  const seedDir = resolve('.bench', `registry-${total}x${PER_REPOSITORY}`);
  const seed = ensureRegistryStorage(seedDir, () =>
    Array.from({ length: total }, (_, i) => ({ name: name(i), tags: mixedTags(PER_REPOSITORY) })),
  );
  say(seed.seededNow ? `registry seed written in ${seconds(seed.ms)}` : `registry seed reused (${seedDir})`);
  const registry = await startRegistry({ dir: seedDir, port: ports.plan });
  await stoppedAfter(
    () => registry.stop(),
    async () => {
      await assertServes(registry, name(total - 1), mixedTags(PER_REPOSITORY)[PER_REPOSITORY - 1]);
      const repositoriesFor = (tags: number) => Array.from({ length: tags / PER_REPOSITORY }, (_, i) => name(i));
      // The whole registry through the catalog; fewer tags through BENCH_REPOSITORIES.
      const planAt = (tags: number, env: Record<string, string> = {}) =>
        child({
          REGISTRY_URL: registry.url,
          ...(tags < total * PER_REPOSITORY ? { BENCH_REPOSITORIES: repositoriesFor(tags).join(',') } : {}),
          ...env,
        });

      // Target 1, at 10,000 tags: ours at the defaults (best of 2), against the bare client's
      // best concurrency (a sweep, then the best one again, best of those 2).
      say(`registry plan: ours at the defaults, ${PLAN_TAGS} tags`);
      const ours = await best(2, () => planAt(PLAN_TAGS));
      // The other candidate default, once, so the table shows why the default is what it is.
      const other = concurrency === 64 ? 32 : 64;
      say(`registry plan: ours at concurrency ${other}`);
      const oursOther = await planAt(PLAN_TAGS, { REGISTRY_CONCURRENCY: String(other) });
      const sweep: [number, number, number][] = [];
      for (const c of [8, 16, 32, 64]) {
        say(`registry plan: bare client at concurrency ${c}`);
        const m = await bareRead(registry.url, repositoriesFor(PLAN_TAGS), c);
        sweep.push([c, m.ms, m.requests]);
      }
      const bestSweep = sweep.reduce((a, b) => (b[1] < a[1] ? b : a));
      say(`registry plan: bare client at concurrency ${bestSweep[0]} again`);
      const again = await bareRead(registry.url, repositoriesFor(PLAN_TAGS), bestSweep[0]);
      const [bestC, bestMs, bareRequests] =
        again.ms < bestSweep[1] ? [bestSweep[0], again.ms, again.requests] : bestSweep;
      rows.push(
        ratioRow(
          `registry plan, ${PLAN_TAGS} tags, defaults`,
          `${seconds(ours.ms)} (concurrency ${concurrency}, ${ours.requests} requests)`,
          `bare undici ${seconds(bestMs)} at concurrency ${bestC} (${bareRequests} requests; ${sweep.map(([c, ms]) => `${c}: ${seconds(ms)}`).join(', ')})`,
          ours.ms / bestMs,
          1.1,
          `ours best of 2 (at concurrency ${other}: ${seconds(oursOther.ms)}, ` +
            `${(oursOther.ms / bestMs).toFixed(2)}x); the bare client swept, its best concurrency run again`,
        ),
      );

      // Target 3: linear growth, memory bounded. The bare client reads each size too, at our
      // concurrency: the registry's own time per tag is not ours to make linear, so linear means
      // ours over the bare client stays the same from the smallest size to the largest.
      const scale: { ours: Measured; bareMs: number }[] = [];
      for (const tags of SCALE) {
        say(`registry plan: ${tags} tags, ours then the bare client at concurrency ${concurrency}`);
        const oursAt = tags === PLAN_TAGS ? ours : await planAt(tags);
        // At the plan size both are best of 2 at the default when it is the bare client's best.
        const swept = tags === PLAN_TAGS ? sweep.find(([c]) => c === concurrency) : undefined;
        const bareAt = swept
          ? bestC === concurrency
            ? bestMs
            : swept[1]
          : (await bareRead(registry.url, repositoriesFor(tags), concurrency)).ms;
        scale.push({ ours: oursAt, bareMs: bareAt });
      }
      const perThousand = (ms: number, tags: number) => (ms / tags).toFixed(3);
      const oursPerTag = scale.map((s) => s.ours.ms / s.ours.tags);
      const overBare = scale.map((s) => s.ours.ms / s.bareMs);
      const sizes = scale.map((s) => s.ours.tags).join(' / ');
      // The target as the issue words it (our wall time per tag), then the same run against the
      // registry's own pace at each size, which tells whether a miss is ours.
      rows.push(
        ratioRow(
          `registry plan scale: s per 1,000 tags at ${sizes}`,
          `${scale.map((s) => perThousand(s.ours.ms, s.ours.tags)).join(' / ')} (our CPU ` +
            `${scale.map((s) => perThousand(s.ours.cpuMs, s.ours.tags)).join(' / ')})`,
          `totals ${scale.map((s) => seconds(s.ours.ms)).join(' / ')}`,
          oursPerTag[oursPerTag.length - 1] / Math.min(...oursPerTag),
          1.25,
          'ratio: per-1,000 time at the largest over the lowest; linear means about 1',
        ),
        ratioRow(
          `registry plan scale against the registry's pace: ours over bare at ${sizes}`,
          overBare.map((r) => r.toFixed(2)).join(' / '),
          `bare undici s per 1,000 tags ` +
            `${scale.map((s) => perThousand(s.bareMs, s.ours.tags)).join(' / ')} (totals ` +
            `${scale.map((s) => seconds(s.bareMs)).join(' / ')}), at concurrency ${concurrency}`,
          overBare[overBare.length - 1] / Math.min(...overBare),
          1.25,
          'ratio: ours over bare at the largest size over its lowest at any size; 1 means our time grows as the registry does',
        ),
      );
      const largest = scale[scale.length - 1].ours;
      const rssLimit = 250e6;
      rows.push({
        figure: `registry plan peak RSS, ${largest.tags} tags`,
        ours: megabytes(largest.maxRssBytes),
        ceiling: scale
          .slice(0, -1)
          .map(({ ours: m }) => `${m.tags} tags: ${megabytes(m.maxRssBytes)}`)
          .join(', '),
        ratio: largest.maxRssBytes / rssLimit,
        target: '< 250 MB',
        met: largest.maxRssBytes < rssLimit,
        note:
          largest.maxRssBytes < rssLimit
            ? 'ratio: of the limit'
            : `over by ${megabytes(largest.maxRssBytes - rssLimit)}`,
      });
    },
  );

  rows.push(...(await applyBench(ports, concurrency, say)));
  return rows;
}
