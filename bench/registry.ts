/**
 * The registry figures of `npm run bench`: plan at default settings against a bare undici client
 * at its best concurrency (target 1), 5,000 deletions against a bare DELETE loop (target 2, the
 * collection apart), and plan time and memory at 2,500, 10,000 and 50,000 tags (target 3).
 * Registries: Debian's docker-registry on loopback, seeded by writing its storage (registry-storage.ts).
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { mapLimitAll } from '../lib/concurrency.ts';
import { MANIFEST_ACCEPT } from '../lib/registry/media-types.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { ensureRegistryStorage, mixedTags } from './registry-storage.ts';
import { stoppedAfter } from './stops.ts';
import { megabytes, ratioRow, seconds, type Row } from './table.ts';

const run = promisify(execFile);
const PER_REPOSITORY = 500;
// Smaller runs for development (multiples of 500 tags): BENCH_SCALE=500,1000,2500 BENCH_PLAN_TAGS=1000 BENCH_APPLY_REPOSITORIES=4.
const SCALE = (process.env.BENCH_SCALE ?? '2500,10000,50000').split(',').map(Number);
const PLAN_TAGS = Number(process.env.BENCH_PLAN_TAGS ?? 10_000);
const APPLY_REPOSITORIES = Number(process.env.BENCH_APPLY_REPOSITORIES ?? 20);
const APPLY_TAGS = 250;

export interface Measured {
  ms: number;
  requests: number;
  tags: number;
  changes: number;
  maxRssBytes: number;
  deleteMs?: number;
  collectMs?: number;
  applyRequests?: number;
  applied?: number;
  failed?: number;
}

const name = (i: number) => `bench/app-${String(i).padStart(3, '0')}`;

/** One plan (or plan and apply) in its own process: bench/plan-child.ts. */
async function child(env: Record<string, string>): Promise<Measured> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/plan-child.ts'], { env: { PATH: process.env.PATH, ...env }, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measured;
}

/**
 * The ceiling of a plan: the same kinds of requests from a bare undici client, nothing else:
 * each repository's tag list, one manifest GET per tag, each image config once per repository.
 */
async function bareRead(url: string, repositories: string[], concurrency: number): Promise<{ ms: number; requests: number }> {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  let requests = 0;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    requests++;
    const response = await request(`${url}${path}`, { dispatcher: agent, headers });
    return Buffer.from(await response.body.arrayBuffer());
  };
  const started = performance.now();
  await get('/v2/');
  const lists = await mapLimitAll(repositories, concurrency, async (repo) => (JSON.parse((await get(`/v2/${repo}/tags/list`)).toString()) as { tags: string[] }).tags);
  const pairs = repositories.flatMap((repo, i) => lists[i].map((tag) => ({ repo, tag })));
  const manifests = await mapLimitAll(pairs, concurrency, async ({ repo, tag }) => ({ repo, config: (JSON.parse((await get(`/v2/${repo}/manifests/${tag}`, { accept: MANIFEST_ACCEPT })).toString()) as { config: { digest: string } }).config.digest }));
  const configs = [...new Map(manifests.map((m) => [`${m.repo}@${m.config}`, m])).values()];
  await mapLimitAll(configs, concurrency, ({ repo, config }) => get(`/v2/${repo}/blobs/${config}`));
  const ms = performance.now() - started;
  await agent.close();
  return { ms, requests };
}

/** The bare DELETE loop: one DELETE per manifest digest, at `concurrency`, nothing else. */
async function bareDeletes(url: string, digests: { repo: string; digest: string }[], concurrency: number): Promise<number> {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  const started = performance.now();
  await mapLimitAll(digests, concurrency, async ({ repo, digest }) => {
    const response = await request(`${url}/v2/${repo}/manifests/${digest}`, { method: 'DELETE', dispatcher: agent });
    await response.body.arrayBuffer();
    if (response.statusCode !== 202) throw new Error(`DELETE ${repo}@${digest}: ${response.statusCode}`);
  });
  const ms = performance.now() - started;
  await agent.close();
  return ms;
}

/** Checks the written storage really serves: a manifest GET by tag answers 200. */
async function assertServes(registry: TestRegistry, repo: string, tag: string): Promise<void> {
  const response = await request(`${registry.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } });
  await response.body.arrayBuffer();
  if (response.statusCode !== 200) throw new Error(`the seeded registry does not serve ${repo}:${tag} (${response.statusCode}); remove ${registry.dir} to seed again`);
}

const best = async <T extends { ms: number }>(times: number, measure: () => Promise<T>): Promise<T> => {
  let found: T | undefined;
  for (let i = 0; i < times; i++) {
    const m = await measure();
    if (!found || m.ms < found.ms) found = m;
  }
  return found!;
};

export async function registryBench(ports: { plan: number; applyOurs: number; applyBare: number }, say: (text: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const defaults = settingsFrom(registrySettings, { REGISTRY_URL: 'http://127.0.0.1:1' });
  const concurrency = defaults.REGISTRY_CONCURRENCY;

  // Plan and scale: one seed of 50,000 tags, 100 repositories of 500; subsets by repository.
  const total = 50_000 / PER_REPOSITORY;
  const seedDir = resolve('.bench', `registry-${total}x${PER_REPOSITORY}`);
  const seed = ensureRegistryStorage(seedDir, () => Array.from({ length: total }, (_, i) => ({ name: name(i), tags: mixedTags(PER_REPOSITORY) })));
  say(seed.seededNow ? `registry seed written in ${seconds(seed.ms)}` : `registry seed reused (${seedDir})`);
  const registry = await startRegistry({ dir: seedDir, port: ports.plan });
  await stoppedAfter(
    () => registry.stop(),
    async () => {
      await assertServes(registry, name(total - 1), mixedTags(PER_REPOSITORY)[PER_REPOSITORY - 1]);
      const repositoriesFor = (tags: number) => Array.from({ length: tags / PER_REPOSITORY }, (_, i) => name(i));
      // The whole registry through the catalog; fewer tags through BENCH_REPOSITORIES.
      const planAt = (tags: number) => child({ REGISTRY_URL: registry.url, ...(tags < total * PER_REPOSITORY ? { BENCH_REPOSITORIES: repositoriesFor(tags).join(',') } : {}) });

      // Target 1, at 10,000 tags: ours at the defaults (best of 2), against the bare client's
      // best concurrency (a sweep, then the best one again, best of those 2).
      say(`registry plan: ours at the defaults, ${PLAN_TAGS} tags`);
      const ours = await best(2, () => planAt(PLAN_TAGS));
      const sweep: [number, number, number][] = [];
      for (const c of [8, 16, 32, 64]) {
        say(`registry plan: bare client at concurrency ${c}`);
        const m = await bareRead(registry.url, repositoriesFor(PLAN_TAGS), c);
        sweep.push([c, m.ms, m.requests]);
      }
      const bestSweep = sweep.reduce((a, b) => (b[1] < a[1] ? b : a));
      say(`registry plan: bare client at concurrency ${bestSweep[0]} again`);
      const again = await bareRead(registry.url, repositoriesFor(PLAN_TAGS), bestSweep[0]);
      const [bestC, bestMs, bareRequests] = again.ms < bestSweep[1] ? [bestSweep[0], again.ms, again.requests] : bestSweep;
      rows.push(
        ratioRow(
          `registry plan, ${PLAN_TAGS} tags, defaults`,
          `${seconds(ours.ms)} (concurrency ${concurrency}, ${ours.requests} requests)`,
          `bare undici ${seconds(bestMs)} at concurrency ${bestC} (${bareRequests} requests; ${sweep.map(([c, ms]) => `${c}: ${seconds(ms)}`).join(', ')})`,
          ours.ms / bestMs,
          1.1,
          'ours best of 2; the bare client swept, its best concurrency run again',
        ),
      );

      // Target 3: linear growth, memory bounded.
      const scale: Measured[] = [];
      for (const tags of SCALE) {
        if (tags === PLAN_TAGS) scale.push(ours);
        else {
          say(`registry plan: ${tags} tags`);
          scale.push(await planAt(tags));
        }
      }
      const perThousand = scale.map((m) => m.ms / (m.tags / 1000));
      const growth = perThousand[perThousand.length - 1] / Math.min(...perThousand);
      rows.push(
        ratioRow(
          `registry plan scale: s per 1,000 tags at ${scale.map((m) => m.tags).join(' / ')}`,
          scale.map((m, i) => `${(perThousand[i] / 1000).toFixed(3)}`).join(' / '),
          `totals ${scale.map((m) => seconds(m.ms)).join(' / ')}`,
          growth,
          1.25,
          'ratio: per-1,000 time at the largest over the lowest; linear means about 1',
        ),
      );
      const largest = scale[scale.length - 1];
      const rssLimit = 250e6;
      rows.push({
        figure: `registry plan peak RSS, ${largest.tags} tags`,
        ours: megabytes(largest.maxRssBytes),
        ceiling: scale
          .slice(0, -1)
          .map((m) => `${m.tags} tags: ${megabytes(m.maxRssBytes)}`)
          .join(', '),
        ratio: largest.maxRssBytes / rssLimit,
        target: '< 250 MB',
        met: largest.maxRssBytes < rssLimit,
        note: largest.maxRssBytes < rssLimit ? 'ratio: of the limit' : `over by ${megabytes(largest.maxRssBytes - rssLimit)}`,
      });
    },
  );

  rows.push(...(await applyBench(ports, concurrency, say)));
  return rows;
}

/** Target 2: on two copies of one seed, our apply and a bare DELETE loop delete the same 5,000 manifests. */
async function applyBench(ports: { applyOurs: number; applyBare: number }, concurrency: number, say: (text: string) => void): Promise<Row[]> {
  const template = resolve('.bench', `registry-apply-${APPLY_REPOSITORIES}x${APPLY_TAGS}`);
  // Every tag a test tag (the policy deletes each), beside a kept latest: 5,000 manifest deletions.
  const repositories = Array.from({ length: APPLY_REPOSITORIES }, (_, r) => ({ name: name(r), tags: ['latest', ...Array.from({ length: APPLY_TAGS }, (_, i) => `test-${i}`)] }));
  const seed = ensureRegistryStorage(template, () => repositories);
  say(seed.seededNow ? `apply seed written in ${seconds(seed.ms)}` : 'apply seed reused');
  const v2 = join(template, 'storage', 'docker', 'registry', 'v2', 'repositories');
  const doomed = repositories.flatMap(({ name: repo, tags }) => tags.filter((t) => t !== 'latest').map((tag) => ({ repo, digest: readFileSync(join(v2, repo, '_manifests', 'tags', tag, 'current', 'link'), 'utf8') })));
  const copy = async (label: string, port: number) => {
    const dir = resolve('.bench', `scratch-${label}`);
    rmSync(dir, { recursive: true, force: true });
    await run('cp', ['-a', template, dir]);
    return startRegistry({ dir, port });
  };

  say(`registry apply: ours, ${doomed.length} deletions`);
  const oursRegistry = await copy('apply-ours', ports.applyOurs);
  const ours = await stoppedAfter(
    async () => (await oursRegistry.stop(), rmSync(oursRegistry.dir, { recursive: true, force: true })),
    () =>
      child({
        REGISTRY_URL: oursRegistry.url,
        BENCH_APPLY: '1',
        REGISTRY_STATE_DIR: join(oursRegistry.dir, 'state'),
        REGISTRY_LOCK_DIR: oursRegistry.dir,
        REGISTRY_GC_STOP_COMMAND: oursRegistry.stopCommand,
        REGISTRY_GC_COMMAND: `docker-registry garbage-collect ${oursRegistry.config}`,
        REGISTRY_GC_START_COMMAND: oursRegistry.startCommand,
      }),
  );
  say('registry apply: bare DELETE loop');
  const bareRegistry = await copy('apply-bare', ports.applyBare);
  const [bareMs, bareCollectMs] = await stoppedAfter(
    async () => (await bareRegistry.stop(), rmSync(bareRegistry.dir, { recursive: true, force: true })),
    async () => {
      const deleting = await bareDeletes(bareRegistry.url, doomed, concurrency);
      await bareRegistry.stop();
      const started = performance.now();
      bareRegistry.garbageCollect();
      return [deleting, performance.now() - started];
    },
  );
  return [
    ratioRow(
      `registry apply, ${doomed.length} manifest deletions`,
      `${seconds(ours.deleteMs!)} (${ours.applied} changes done incl. the collection, ${ours.failed} failed, ${ours.applyRequests} requests)`,
      `bare DELETE loop ${seconds(bareMs)} (${doomed.length} requests)`,
      ours.deleteMs! / bareMs,
      1.2,
      `both at concurrency ${concurrency}; ours also GETs each manifest for the undo journal, lists tags again and probes`,
    ),
    {
      figure: 'registry collection (garbage-collect), reported apart',
      ours: `${seconds(ours.collectMs!)} (stop, collect, start, wait until serving)`,
      ceiling: `garbage-collect alone ${seconds(bareCollectMs)}`,
      ratio: ours.collectMs! / bareCollectMs,
      target: '',
      note: 'ratio: ours over the collection alone',
    },
  ];
}
