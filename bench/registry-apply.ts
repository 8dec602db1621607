/**
 * Target 2 of `npm run bench`: 5,000 manifest deletions by our apply against a bare DELETE loop
 * at the same concurrency, on two copies of one seed; the collection timed apart, beside
 * `garbage-collect` alone.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { mapLimitAll } from '../lib/concurrency.ts';
import { startRegistry } from '../sandbox/fixtures/registry.ts';
import { child, name } from './registry.ts';
import { ensureRegistryStorage } from './registry-storage.ts';
import { stoppedAfter } from './stops.ts';
import { ratioRow, seconds, type Row } from './table.ts';

const run = promisify(execFile);
const APPLY_REPOSITORIES = Number(process.env.BENCH_APPLY_REPOSITORIES ?? 20);
const APPLY_TAGS = 250;

/** The bare DELETE loop: one DELETE per manifest digest, at `concurrency`, nothing else. */
async function bareDeletes(
  url: string,
  digests: { repo: string; digest: string }[],
  concurrency: number,
): Promise<number> {
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

/** Target 2: on two copies of one seed, our apply and a bare DELETE loop delete the same 5,000 manifests. */
export async function applyBench(
  ports: { applyOurs: number; applyBare: number },
  concurrency: number,
  say: (text: string) => void,
): Promise<Row[]> {
  const template = resolve('.bench', `registry-apply-${APPLY_REPOSITORIES}x${APPLY_TAGS}`);
  // Every tag a test tag (the policy deletes each), beside a kept latest: 5,000 manifest deletions.
  const repositories = Array.from({ length: APPLY_REPOSITORIES }, (_, r) => ({
    name: name(r),
    tags: ['latest', ...Array.from({ length: APPLY_TAGS }, (_, i) => `test-${i}`)],
  }));
  const seed = ensureRegistryStorage(template, () => repositories);
  say(seed.seededNow ? `apply seed written in ${seconds(seed.ms)}` : 'apply seed reused');
  const v2 = join(template, 'storage', 'docker', 'registry', 'v2', 'repositories');
  const doomed = repositories.flatMap(({ name: repo, tags }) =>
    tags
      .filter((t) => t !== 'latest')
      .map((tag) => ({
        repo,
        digest: readFileSync(join(v2, repo, '_manifests', 'tags', tag, 'current', 'link'), 'utf8'),
      })),
  );
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
      `both at concurrency ${concurrency}; ours also journals each manifest (from the bytes the plan read: no request), lists tags again and probes`,
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
