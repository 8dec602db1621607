/** Seeds a Docker engine with the mess plan section 5 cleans (server tests and the sandbox). */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestEngine } from './dockerd.ts';

const names = (engine: TestEngine, args: string[]) => engine.docker(args).split('\n').map((l) => l.trim()).filter(Boolean).sort();

/** Removes everything a previous run left, so the engine (kept between runs) starts clean. */
export function reset(engine: TestEngine): void {
  const all = names(engine, ['ps', '-aq']);
  if (all.length) engine.docker(['rm', '-f', ...all]);
  const imgs = names(engine, ['image', 'ls', '-q']).filter((id) => id !== engine.docker(['image', 'inspect', '-f', '{{.Id}}', 'cleanup-test/busybox:base']).trim().slice(7, 19));
  for (const id of imgs) engine.docker(['image', 'rm', '-f', id]);
  const vols = names(engine, ['volume', 'ls', '-q']);
  if (vols.length) engine.docker(['volume', 'rm', '-f', ...vols]);
  engine.docker(['builder', 'prune', '-af']);
}

/** Builds `tag` on the busybox base with one layer per content: equal first contents share layers. */
export function build(engine: TestEngine, workdir: string, tag: string, content: string | string[], buildkit = false): void {
  const context = mkdtempSync(join(workdir, 'ctx-'));
  const layers = Array.isArray(content) ? content : [content];
  layers.forEach((text, i) => writeFileSync(join(context, `payload${i || ''}`), text));
  writeFileSync(join(context, 'Dockerfile'), `FROM cleanup-test/busybox:base\n${layers.map((_, i) => `COPY payload${i || ''} /payload${i || ''}\n`).join('')}`);
  // The 20.10 client builds with the engine's own BuildKit (build cache); the newer one without buildx cannot.
  execFileSync(buildkit ? '/usr/bin/docker' : 'docker', ['-H', engine.host, 'build', '-q', '-t', tag, context], { env: { ...process.env, DOCKER_BUILDKIT: buildkit ? '1' : '0' }, stdio: 'ignore' });
}

/**
 * The mess of plan section 5 on one engine: the running compose project `webhook`, old exited
 * containers of its service, a stray running container, a stopped database with a named volume,
 * an orphaned anonymous volume, named volumes, a dangling image, six versions of webhook-api
 * (1.0 also tagged final), and build cache.
 */
export function seedDockerHost(engine: TestEngine, dir: string): void {
  reset(engine);
  const run = (args: string[]) => engine.docker(['run', '--network', 'none', ...args]);
  for (let i = 0; i <= 5; i++) build(engine, dir, `registry.example:5000/webhook-api:1.${i}`, randomBytes(2_000_000).toString('base64'));
  engine.docker(['tag', 'registry.example:5000/webhook-api:1.0', 'registry.example:5000/webhook-api:final']);
  // Old exited containers of the compose service, oldest first.
  for (let i = 0; i <= 4; i++) run(['--name', `webhook_api_old${i}`, '--label', 'com.docker.compose.project=webhook', '--label', 'com.docker.compose.service=api', `registry.example:5000/webhook-api:1.${i}`, 'true']);
  // The deployed compose project, brought up by docker-compose v1.
  writeFileSync(join(dir, 'compose.yml'), "version: '2.4'\nservices:\n  api:\n    image: registry.example:5000/webhook-api:1.5\n    network_mode: none\n    command: sleep 3600\n");
  execFileSync('docker-compose', ['-p', 'webhook', '-f', join(dir, 'compose.yml'), 'up', '-d'], { env: { ...process.env, DOCKER_HOST: engine.host }, stdio: 'ignore' });
  run(['-d', '--name', 'stray', 'cleanup-test/busybox:base', 'sleep', '3600']);
  run(['--name', 'db', '--label', 'role=database', '-v', 'dbdata:/data', 'cleanup-test/busybox:base', 'sh', '-c', 'echo precious > /data/rows']);
  // An anonymous volume whose container is gone, and two named ones.
  run(['--name', 'scratch', '-v', '/scratch', 'cleanup-test/busybox:base', 'sh', '-c', 'dd if=/dev/urandom of=/scratch/f bs=1k count=3000 2>/dev/null']);
  engine.docker(['rm', 'scratch']);
  engine.docker(['volume', 'create', 'old-uploads']);
  engine.docker(['volume', 'create', 'tmp-cache']);
  // A dangling image: the same tag built twice.
  build(engine, dir, 'scratchpad:dev', randomBytes(1_500_000).toString('base64'));
  build(engine, dir, 'scratchpad:dev', randomBytes(1_500_000).toString('base64'));
  build(engine, dir, 'cached:1', 'cache me '.repeat(40_000), true);
  engine.docker(['image', 'rm', 'cached:1']);
}


/**
 * What a real production host has besides the deployed project (issue 12): an unlabelled
 * postgres started by hand with a named volume, a monitoring agent, a stopped mariadb with its
 * data in a host folder (and an older mariadb image), three versions of a worker nobody runs any
 * more (sharing a layer only they use), and a one-off migration container whose image nothing
 * else uses. The "data stores" are busybox images named like them: no registry to pull from here.
 */
export function seedProductionHost(engine: TestEngine, dir: string): { mariadbData: string } {
  const run = (args: string[]) => engine.docker(['run', '--network', 'none', ...args]);
  const blob = (bytes: number) => randomBytes(bytes).toString('base64');
  build(engine, dir, 'postgres:15', blob(600_000));
  run(['-d', '--name', 'pg', '-v', 'pgdata:/var/lib/postgresql/data', 'postgres:15', 'sh', '-c', 'echo precious-pg > /var/lib/postgresql/data/rows && exec sleep 3600']);
  build(engine, dir, 'prom/node-exporter:v1.8', blob(300_000));
  run(['-d', '--name', 'node-exporter', '-v', '/proc:/host/proc:ro', 'prom/node-exporter:v1.8', 'sleep', '3600']);
  build(engine, dir, 'mariadb:10.6', blob(500_000));
  build(engine, dir, 'mariadb:10.11', blob(500_000));
  const mariadbData = mkdtempSync(join(dir, 'mariadb-data-'));
  run(['--name', 'mariadb', '-v', `${mariadbData}:/var/lib/mysql`, 'mariadb:10.11', 'sh', '-c', 'echo precious-maria > /var/lib/mysql/ibdata1']);
  const shared = blob(1_500_000);
  for (let i = 1; i <= 3; i++) build(engine, dir, `legacy-worker:${i}`, [shared, blob(400_000)]);
  build(engine, dir, 'migrator:2024-05', blob(700_000));
  run(['--name', 'migrate-once', 'migrator:2024-05', 'true']);
  return { mariadbData };
}
