/**
 * `npm run bench:registry`: the registry plan phase at scale, against a loopback registry
 * (Debian's docker-registry) seeded with 10,000 tags over 20 repositories (kept in .bench/ and
 * reused), beside the registry's own ceiling (the same requests from a bare undici client at the
 * best concurrency) and a peer (skopeo list-tags + inspect). Prints a table; stops by itself.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { mapLimitAll } from '../lib/concurrency.ts';
import { MANIFEST_ACCEPT } from '../lib/registry/media-types.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings.ts';
import { startRegistry } from '../test/support/registry.ts';
import { pushBlob, pushManifest } from '../test/support/registry-seed.ts';
import { planRegistryCleanup } from '../tasks/registry.ts';

const run = promisify(execFile);
const REPOS = Number(process.env.BENCH_REPOS ?? 20);
const TAGS = Number(process.env.BENCH_TAGS ?? 10_000);
const PEER_SAMPLE = Number(process.env.BENCH_PEER_SAMPLE ?? 300);
const dir = resolve('.bench', `registry-${REPOS}x${TAGS}`);
const say = (text: string) => process.stderr.write(`${text}\n`);

mkdirSync(dir, { recursive: true });
const registry = await startRegistry({ dir, port: Number(process.env.BENCH_PORT ?? 5055) });
const to = { url: registry.url };
const repos = Array.from({ length: REPOS }, (_, i) => `bench/app-${String(i).padStart(2, '0')}`);

// Seed once: per repository a shared layer, then small images whose tags mix versions, CI builds
// and test tags, pushed concurrently.
if (!existsSync(join(dir, 'seeded'))) {
  const started = performance.now();
  const perRepo = Math.ceil(TAGS / REPOS);
  await mapLimitAll(repos, 4, async (repo) => {
    const layer = await pushBlob(to, repo, Buffer.from(`shared layer of ${repo} `.repeat(1000)));
    await mapLimitAll(Array.from({ length: perRepo }, (_, i) => i), 16, async (i) => {
      const config = await pushBlob(to, repo, Buffer.from(JSON.stringify({ created: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(), i })));
      const tag = i % 10 === 0 ? `test-${i}` : i % 3 === 0 ? `build-${i}` : `1.${Math.floor(i / 100)}.${i % 100}`;
      await pushManifest(to, repo, tag, 'application/vnd.docker.distribution.manifest.v2+json', {
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...layer }],
      });
    });
    say(`seeded ${repo}`);
  });
  writeFileSync(join(dir, 'seeded'), `${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const settings = settingsFrom(registrySettings, { REGISTRY_URL: registry.url });

// Ours: the plan phase as the task runs it.
const rssBefore = process.memoryUsage().rss;
let peakRss = rssBefore;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const oursStarted = performance.now();
const ours = await planRegistryCleanup(settings);
const oursMs = performance.now() - oursStarted;
clearInterval(sampler);
const tagCount = [...ours.state.repositories.values()].reduce((n, t) => n + t.length, 0);

// The ceiling: the same kinds of requests (catalog, tags, one manifest per tag, the configs the
// plan read) from a bare client, at the best of several concurrencies.
const pairs = [...ours.state.repositories].flatMap(([repo, tags]) => tags.map((t) => ({ repo, tag: t.tag })));
async function ceiling(concurrency: number): Promise<number> {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  const started = performance.now();
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await request(`${registry.url}${path}`, { dispatcher: agent, headers });
    await response.body.arrayBuffer();
  };
  await get(`/v2/_catalog?n=1000`);
  await mapLimitAll(repos, concurrency, (repo) => get(`/v2/${repo}/tags/list`));
  await mapLimitAll(pairs, concurrency, ({ repo, tag }) => get(`/v2/${repo}/manifests/${tag}`, { accept: MANIFEST_ACCEPT }));
  const configs = [...ours.state.manifests.values()].filter((m) => m.config).slice(0, ours.requests - pairs.length - repos.length - 2);
  await mapLimitAll(configs, concurrency, (m) => get(`/v2/${repos[0]}/blobs/${m.config!.digest}`).catch(() => undefined));
  const ms = performance.now() - started;
  await agent.close();
  return ms;
}
const sweep: [number, number][] = [];
for (const c of [4, 8, 16, 32, 64]) sweep.push([c, await ceiling(c)]);
const [bestConcurrency, ceilingMs] = sweep.reduce((a, b) => (b[1] < a[1] ? b : a));

// The peer: skopeo list-tags per repository and inspect per tag, on a sample, 16 at a time.
const peerTags = pairs.slice(0, PEER_SAMPLE);
const peerStarted = performance.now();
await mapLimitAll(repos, 16, (repo) => run('skopeo', ['list-tags', '--tls-verify=false', `docker://127.0.0.1:${registry.port}/${repo}`], { maxBuffer: 64 << 20 }));
await mapLimitAll(peerTags, 16, ({ repo, tag }) => run('skopeo', ['inspect', '--tls-verify=false', `docker://127.0.0.1:${registry.port}/${repo}:${tag}`]));
const peerSampleMs = performance.now() - peerStarted;
const peerMs = (peerSampleMs * pairs.length) / peerTags.length;

await registry.stop();
const rows = [
  ['measure', 'value'],
  ['tags / repositories', `${tagCount} / ${ours.state.repositories.size}`],
  ['plan phase (ours)', `${(oursMs / 1000).toFixed(2)} s, ${ours.requests} requests`],
  ['ceiling (bare client)', `${(ceilingMs / 1000).toFixed(2)} s at concurrency ${bestConcurrency} (sweep ${sweep.map(([c, ms]) => `${c}:${(ms / 1000).toFixed(2)}s`).join(' ')})`],
  ['ours / ceiling', `${(oursMs / ceilingMs).toFixed(2)}x (target <= 1.5x)`],
  ['peer (skopeo)', `${(peerMs / 1000).toFixed(1)} s, extrapolated from ${peerTags.length} tags in ${(peerSampleMs / 1000).toFixed(1)} s`],
  ['peer / ours', `${(peerMs / oursMs).toFixed(1)}x faster (target >= 5x)`],
  ['peak RSS during plan', `${(peakRss / 1e6).toFixed(0)} MB (process before: ${(rssBefore / 1e6).toFixed(0)} MB; target < 200 MB)`],
];
process.stdout.write(rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n').replace(/\n/, '\n|---|---|\n') + '\n');
process.exit(0);
