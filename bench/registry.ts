/**
 * `npm run bench:registry`: the registry plan phase at scale, against a loopback registry
 * (Debian's docker-registry) seeded with 10,000 tags over 20 repositories (kept in .bench/ and
 * reused), beside the registry's own ceiling (the same requests from a bare undici client at the
 * best concurrency) and a peer (skopeo list-tags + inspect). Prints a table; stops by itself.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { mapLimitAll } from '../lib/concurrency.ts';
import { MANIFEST_ACCEPT } from '../lib/registry/media-types.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { startRegistry } from '../sandbox/fixtures/registry.ts';
import { pushBlob, pushManifest } from '../sandbox/fixtures/registry-seed.ts';
import { planRegistryCleanup } from '../lib/registry/cleanup.ts';

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
// Ours: the plan phase as the task runs it, each run in its own process (its own peak RSS), at
// a quarter, half and all of the repositories, and at two concurrencies.
interface Measured {
  ms: number;
  requests: number;
  tags: number;
  changes: number;
  maxRssBytes: number;
}
async function measure(env: Record<string, string>): Promise<Measured> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/plan-child.ts'], { env: { PATH: process.env.PATH, BENCH_URL: registry.url, ...env }, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measured;
}
const scaling: Measured[] = [];
for (const share of [4, 2, 1]) scaling.push(await measure({ BENCH_REPOSITORIES: repos.slice(0, REPOS / share).join(',') }));
const ours = scaling[scaling.length - 1];
const oursMs = ours.ms;
const ours64 = await measure({ BENCH_CONCURRENCY: '64' });
const tagCount = ours.tags;
const planned = await planRegistryCleanup(settings);

// The ceiling: the same kinds of requests (catalog, tags, one manifest per tag, the configs the
// plan read) from a bare client, at the best of several concurrencies.
const pairs = [...planned.state.repositories].flatMap(([repo, tags]) => tags.map((t) => ({ repo, tag: t.tag })));
// Each image config once, in a repository that has it: what the plan reads for creation dates.
const configs = new Map<string, string>();
for (const [repo, tags] of planned.state.repositories) for (const t of tags) {
  const config = planned.state.manifests.get(t.digest)?.config?.digest;
  if (config && !configs.has(config)) configs.set(config, repo);
}
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
  await mapLimitAll([...configs], concurrency, ([digest, repo]) => get(`/v2/${repo}/blobs/${digest}`));
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

// Apply at scale, on a copy of the seeded storage so the seed stays reusable: the policy on half
// the repositories deletes about 5,000 tags.
const scratch = join(dir, '..', `scratch-${process.pid}`);
await run('cp', ['-a', dir, scratch]);
const copy = await startRegistry({ dir: scratch, port: Number(process.env.BENCH_SCRATCH_PORT ?? 5056) });
const applied = await run(process.execPath, ['--import', 'tsx', 'bench/plan-child.ts'], {
  env: { PATH: process.env.PATH, BENCH_URL: copy.url, BENCH_APPLY: '1', BENCH_REPOSITORIES: repos.slice(0, REPOS / 2).join(',') },
  maxBuffer: 16 << 20,
}).then(({ stdout }) => JSON.parse(stdout.trim().split('\n').pop()!) as Measured);
await copy.stop();
rmSync(scratch, { recursive: true, force: true });

const rows = [
  ['measure', 'value'],
  ['tags / repositories', `${tagCount} / ${planned.state.repositories.size}`],
  ['plan phase (ours, concurrency 16, the default)', `${(oursMs / 1000).toFixed(2)} s, ${ours.requests} requests`],
  ['plan phase (ours, concurrency 64)', `${(ours64.ms / 1000).toFixed(2)} s`],
  ['ceiling (bare client)', `${(ceilingMs / 1000).toFixed(2)} s at concurrency ${bestConcurrency} (sweep ${sweep.map(([c, ms]) => `${c}:${(ms / 1000).toFixed(2)}s`).join(' ')})`],
  ['ours / ceiling', `${(oursMs / ceilingMs).toFixed(2)}x at 16, ${(ours64.ms / ceilingMs).toFixed(2)}x at 64 (target <= 1.5x)`],
  ['peer (skopeo)', `${(peerMs / 1000).toFixed(1)} s, extrapolated from ${peerTags.length} tags in ${(peerSampleMs / 1000).toFixed(1)} s`],
  ['peer / ours', `${(peerMs / oursMs).toFixed(1)}x faster (target >= 5x)`],
  ...scaling.map((m): [string, string] => [`peak RSS of the plan process, ${m.tags} tags`, `${(m.maxRssBytes / 1e6).toFixed(0)} MB, ${(m.ms / 1000).toFixed(2)} s (target < 200 MB at 10,000)`]),
  ['apply: delete tags', `${applied.changes} deletions of ${applied.tags} tags in ${(applied.ms / 1000).toFixed(2)} s, ${applied.requests} requests`],
];
process.stdout.write(rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n').replace(/\n/, '\n|---|---|\n') + '\n');
process.exit(0);
