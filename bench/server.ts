/**
 * The server figure of `npm run bench` (target 4): the server task's plan of a Docker host with
 * 1,000 containers and 1,000 images, a real dockerd reached over a real sshd, against a raw
 * listing of the same facts over the same ssh connection. Both are timed in this process, after
 * the connection is open, so neither Node's start-up nor the ssh handshake is counted.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { mapLimitAll } from '../lib/concurrency.ts';
import type { Command } from '../lib/command.ts';
import { sshRunner, type Runner } from '../lib/runner.ts';
import { planHost } from '../lib/server/policy.ts';
import { serverSettings } from '../lib/server/settings.ts';
import { readHost } from '../lib/server/state.ts';
import { settingsFrom } from '../lib/settings-read.ts';
import { serverPolicy } from '../tasks/server.ts';
import { ensureDockerd, stopDockerd, type TestEngine } from '../sandbox/fixtures/dockerd.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';
import { stoppedAfter } from './stops.ts';
import { ratioRow, seconds, type Row } from './table.ts';

const CONTAINERS = 1_000;
const IMAGES = 1_000;
const REPOSITORIES = 50;
const VOLUMES = 20;

const imageName = (i: number) =>
  `bench/svc-${String(i % REPOSITORIES).padStart(2, '0')}:1.${Math.floor(i / REPOSITORIES)}`;

/**
 * 1,000 images in one `docker load`: a docker-archive holding one tiny layer and 1,000 image
 * configs that differ by a label, so each is an image of its own (its own ID) at no disk cost.
 */
function loadImages(engine: TestEngine): void {
  const work = mkdtempSync(join(resolve('.bench'), 'images-'));
  try {
    const root = join(work, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'hello'), 'a tiny layer\n');
    const layerDir = join(work, 'archive', 'layer');
    mkdirSync(layerDir, { recursive: true });
    execFileSync('tar', ['-C', root, '-cf', join(layerDir, 'layer.tar'), '.']);
    const diffId = `sha256:${createHash('sha256')
      .update(execFileSync('cat', [join(layerDir, 'layer.tar')]))
      .digest('hex')}`;
    const manifest = Array.from({ length: IMAGES }, (_, i) => {
      const config = JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
        config: { Cmd: ['/hello'], Labels: { bench: String(i) } },
        rootfs: { type: 'layers', diff_ids: [diffId] },
      });
      const file = `${createHash('sha256').update(config).digest('hex')}.json`;
      writeFileSync(join(work, 'archive', file), config);
      return { Config: file, RepoTags: [imageName(i)], Layers: ['layer/layer.tar'] };
    });
    writeFileSync(join(work, 'archive', 'manifest.json'), JSON.stringify(manifest));
    execFileSync('sh', ['-c', `tar -C "${join(work, 'archive')}" -c . | docker -H ${engine.host} load -q >/dev/null`]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * 1,000 created (never started) containers over half of those images (the other half is
 * unused: what the plan removes), some holding named volumes:
 * `docker create` through the Engine API, 8 at a time (the CLI's start-up would dominate).
 */
async function createContainers(engine: TestEngine): Promise<void> {
  const agent = new Agent({ connect: { socketPath: engine.socket }, connections: 8 });
  try {
    await mapLimitAll(
      Array.from({ length: CONTAINERS }, (_, i) => i),
      8,
      async (i) => {
        const body = {
          Image: imageName(i % (IMAGES / 2)),
          Cmd: ['/hello'],
          Labels: { bench: 'server' },
          HostConfig: { NetworkMode: 'none', ...(i < VOLUMES ? { Binds: [`bench-data-${i}:/data`] } : {}) },
        };
        const response = await request(`http://docker/containers/create?name=bench-c-${String(i).padStart(4, '0')}`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await response.body.text();
        if (response.statusCode !== 201) throw new Error(`docker create bench-c-${i}: ${response.statusCode} ${text}`);
      },
    );
  } finally {
    await agent.close();
  }
}

/** Seeds the engine under .bench/ once: its data dir is reused by every later run. */
async function ensureSeeded(engine: TestEngine, say: (text: string) => void): Promise<void> {
  const marker = join(engine.dir, 'seeded');
  if (existsSync(marker)) return;
  const started = performance.now();
  say(`server: seeding ${IMAGES} images and ${CONTAINERS} containers (once; cached in ${engine.dir})`);
  const old = engine.docker(['ps', '-aq']).split('\n').filter(Boolean);
  if (old.length) engine.docker(['rm', '-f', ...old]);
  loadImages(engine);
  await createContainers(engine);
  writeFileSync(marker, `seeded in ${seconds(performance.now() - started)}\n`);
}

/** The raw listing: the same facts, plain docker and df over the same connection. */
const rawListing: Command[] = [
  ['docker', 'ps', '-a'],
  ['docker', 'images'],
  ['docker', 'volume', 'ls'],
  ['docker', 'system', 'df', '-v'],
  ['df', '-P', '-k', '/'],
];

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

export async function serverBench(ports: { ssh: number }, say: (text: string) => void): Promise<Row[]> {
  const engine = await ensureDockerd('server', resolve('.bench', 'engines'));
  let runner: Runner | undefined;
  let sshd: Sshd | undefined;
  // Stopped last: sshd and the connection first, then the engine (its containers, then dockerd by pid).
  const stop = async () => {
    await runner?.close();
    await sshd?.stop();
    await stopDockerd(engine.dir);
  };
  return stoppedAfter(stop, async () => {
    await ensureSeeded(engine, say);
    sshd = await startSshd({ port: ports.ssh, groups: ['docker'], env: { DOCKER_HOST: engine.host } });
    runner = sshRunner(sshd.target);
    await runner.run(['true']); // opens the shared connection: neither side pays the handshake
    const settings = settingsFrom(serverSettings, { SERVER_HOSTS: 'local', SERVER_COMPOSE_PROJECT: 'bench' });
    const policy = { ...serverPolicy(settings), force: false };
    const plans: { ms: number; containers: number; images: number; changes: number }[] = [];
    const raws: number[] = [];
    // Alternated, best of 2 each: the machine's other load hits both alike.
    for (let i = 0; i < 2; i++) {
      say(`server: our plan, run ${i + 1}`);
      const ours = await timed(async () => {
        const state = await readHost(runner!);
        return { state, plan: planHost(state, policy) };
      });
      plans.push({
        ms: ours.ms,
        containers: ours.value.state.containers.length,
        images: ours.value.state.images.length,
        changes: ours.value.plan.changes.length,
      });
      say(`server: raw listing, run ${i + 1}`);
      raws.push(
        (
          await timed(async () => {
            for (const command of rawListing) await runner!.run(command);
          })
        ).ms,
      );
    }
    const ours = plans.reduce((a, b) => (b.ms < a.ms ? b : a));
    const raw = Math.min(...raws);
    return [
      ratioRow(
        `server plan, ${ours.containers} containers, ${ours.images} images, over ssh`,
        `${seconds(ours.ms)} (${ours.changes} changes planned)`,
        `raw listing ${seconds(raw)} (${rawListing.map((c) => c.slice(0, c[0] === 'df' ? 1 : 3).join(' ')).join(', ')})`,
        ours.ms / raw,
        2,
        'same ssh connection, best of 2 each',
      ),
    ];
  });
}
