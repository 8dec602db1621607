/**
 * The deploy figures of `npm run bench` (issue 25, item 6): a full deploy of a new revision of the
 * sample backend (build, push, ship, pull, start, gate, switch) through the tool's command line,
 * `npm run deploy:clean -- --yes --json --env-file <the bench's own .env>`, against the bare
 * commands doing the same work by hand, and the downtime the deploy's own probe reported beside
 * the same probe's figures for the bare side (the same switch by hand on a compose network, `up -d` on the
 * host's). It knows nothing of lib/deploy's steps: only
 * the command line, its exit code and its report, so it keeps measuring whatever the deploy does.
 * The stack is the tests' (test/support/deploy-stack.ts): a dockerd (its state cached in
 * .bench/engines/bench-deploy), a registry and an sshd on loopback, the sample backend.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startDowntimeProbe, type Downtime } from '../lib/deploy/downtime.ts';
import { newRevision } from '../sandbox/fixtures/backend-sample.ts';
import { stopDockerd } from '../sandbox/fixtures/dockerd.ts';
import { startDeployStack, type DeployStack } from '../test/support/deploy-stack.ts';
import { npmRun } from '../test/support/npm-run.ts';
import { stoppedAfter } from './stops.ts';
import { ratioRow, seconds, type Row } from './table.ts';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_DEPLOY_ROUNDS ?? 5);
const ENGINE = 'bench-deploy';
// The bare side's own compose project (and folder, srv/bare): beside ours on a compose network, after ours on the host's.
const BARE_PROJECT = 'webhook-bare';

export interface DeployPorts {
  registry: number;
  ssh: number;
  api: number;
  front: number;
  tls: number;
  /** The bare project's front, when it runs beside ours (on the host's network: the API's second port). */
  bareFront: number;
  bareTls: number;
}

/** A timed round: its wall time, the time of each step (by name, in order) and its downtime. */
interface Round {
  ms: number;
  /** Wall-clock start and end (epoch ms), to ask the engine what happened in between. */
  from: number;
  to: number;
  steps: [string, number][];
  downtime?: Downtime;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * The deploy report's downtime line, "N of M requests to URL failed (one every K ms); longest gap
 * without a good answer X ms" (lib/deploy/downtime.ts), found in its --json report or its output.
 */
export function parseDowntime(text: string): Downtime | undefined {
  const match =
    /(\d+) of (\d+) requests to (\S+) failed(?: \(one every (\d+) ms\))?[^"\n]*?longest gap[^"\n]*?(\d+) ms/.exec(text);
  if (!match) return undefined;
  const [failed, requests, url, everyMs, longestGapMs] = match.slice(1);
  return {
    url,
    everyMs: Number(everyMs ?? 0),
    requests: Number(requests),
    failed: Number(failed),
    longestGapMs: Number(longestGapMs),
  };
}

/**
 * Our deploy's progress as its own output shows it: the time from each progress line (❯ phase,
 * › step, ✔ done) to the next. Plain output prints at most one line a second, so steps shorter
 * than that share a line; the engine's timeline (engineTimeline) fills them in.
 */
function stepsFromLines(lines: [number, string][], started: number, ended: number): [string, number][] {
  const marks: [number, string][] = [
    [started, 'start-up, to its first line'],
    ...lines.filter(([, line]) => /^\s*[❯›✔✖]|^Report/.test(line)),
  ];
  return marks.map(([at, line], i) => [
    line.replace(/\s+/g, ' ').trim().slice(0, 70),
    (marks[i + 1]?.[0] ?? ended) - at,
  ]);
}

/** One deploy through `npm run deploy:clean`, timed from the command to its exit. */
async function oursOnce(envFile: string): Promise<Round> {
  const lines: [number, string][] = [];
  let seen = 0;
  const from = Date.now();
  const started = performance.now();
  const result = await npmRun(
    process.cwd(),
    ['deploy:clean', '--', '--yes', '--json', '--env-file', envFile],
    {},
    (text) => {
      const complete = text.lastIndexOf('\n') + 1;
      for (const line of text.slice(seen, complete).split('\n').filter(Boolean)) lines.push([performance.now(), line]);
      seen = Math.max(seen, complete);
    },
  );
  const ended = performance.now();
  if (result.code !== 0)
    throw new Error(
      `npm run deploy:clean exited ${result.code}:\n${result.stderr.slice(-3000)}\n${result.stdout.slice(-2000)}`,
    );
  return {
    ms: ended - started,
    from,
    to: from + (ended - started),
    steps: stepsFromLines(lines, started, ended),
    downtime: parseDowntime(result.stdout) ?? parseDowntime(result.stderr),
  };
}

interface EngineEvent {
  timeNano: number;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
}

/**
 * What the engine (build host and server alike) does, as `docker events` streams it from the
 * start of the bench: dockerd keeps only its last events in memory, and the healthchecks' own
 * (one a second per container) would push a round's out before it could be asked for.
 */
function watchEngine(stack: DeployStack): { events: EngineEvent[]; stop(): void } {
  const events: EngineEvent[] = [];
  const child = spawn(
    'docker',
    [
      '--host',
      stack.engine.host,
      'events',
      '--filter',
      'type=image',
      '--filter',
      'type=container',
      '--format',
      '{{json .}}',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let rest = '';
  child.stdout.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) events.push(JSON.parse(line) as EngineEvent);
  });
  return { events, stop: () => void child.kill() };
}

/**
 * A round's engine events, in ms from its start: the build's tag, the pushes and pulls, each
 * container's create, start, health, kill, die and destroy (healthcheck execs apart). The same for
 * both sides, whatever steps the deploy takes.
 */
function engineTimeline(events: EngineEvent[], round: Round): [number, string][] {
  return events
    .filter((e) => e.timeNano / 1e6 >= round.from && e.timeNano / 1e6 <= round.to && !e.Action.startsWith('exec_'))
    .map((e): [number, string] => [
      e.timeNano / 1e6 - round.from,
      `${e.Action} ${e.Type === 'container' ? (e.Actor.Attributes?.name ?? e.Actor.ID.slice(0, 12)) : e.Actor.ID.replace(/^.*\//, '')}`,
    ]);
}

/**
 * The time containers took to stop in a round: from a container's first kill to its die. A
 * service that ignores SIGTERM (an httpd as PID 1 without an init) is killed after Docker's 10 s
 * grace period: both sides wait for that, and it would hide how much the rest of the deploy costs.
 */
export function stoppingMs(events: [number, string][]): number {
  const killed = new Map<string, number>();
  let total = 0;
  for (const [at, what] of events) {
    const [action, name] = what.split(' ');
    if (action === 'kill' && !killed.has(name)) killed.set(name, at);
    if (action === 'die' && killed.has(name)) total += at - killed.get(name)!;
    if (action === 'die') killed.delete(name);
  }
  return total;
}

/** A round in three parts: before the engine's first event, the engine's work (its stops apart), after its last. */
function phases(events: [number, string][], round: Round): string {
  if (!events.length) return `${seconds(round.ms)}, no engine event`;
  const first = events[0][0];
  const last = events.at(-1)![0];
  const stop = stoppingMs(events);
  return `${seconds(round.ms)}: before ${seconds(first)}, engine ${seconds(last - first - stop)} + stop ${seconds(stop)}, after ${seconds(round.ms - last)}`;
}

const timeline = (events: [number, string][], round: Round) =>
  [...events.map(([at, what]) => `+${(at / 1000).toFixed(2)} ${what}`), `+${(round.ms / 1000).toFixed(2)} done`].join(
    ', ',
  );

/** The files a compose file mounts or reads, relative to its folder: env_file and ./ bind sources. */
export function composeInputs(text: string): string[] {
  const model = parse(text) as { services?: Record<string, { env_file?: string | string[]; volumes?: unknown[] }> };
  const found = new Set<string>();
  for (const service of Object.values(model.services ?? {})) {
    for (const file of [service.env_file ?? []].flat()) found.add(file);
    for (const volume of service.volumes ?? []) {
      const source =
        typeof volume === 'string' ? volume.split(':')[0] : (volume as { type?: string; source?: string }).source;
      if (source?.startsWith('./')) found.add(source);
    }
  }
  return [...found].map((path) => path.replace(/^\.\//, ''));
}

const ssh = (stack: DeployStack, remote: string): string[] => [
  'ssh',
  '-o',
  'BatchMode=yes',
  '-o',
  `UserKnownHostsFile=${stack.sshd.target.knownHostsFile}`,
  '-i',
  stack.sshd.target.identityFile!,
  '-p',
  String(stack.sshd.target.port),
  `cleanup-ops@127.0.0.1`,
  remote,
];

/** Runs argv (or a pipeline of two) and fails with its stderr. */
async function sh(argv: string[], cwd?: string, stdinFrom?: string[]): Promise<void> {
  if (!stdinFrom) {
    await run(argv[0], argv.slice(1), { cwd, maxBuffer: 16 << 20 });
    return;
  }
  await new Promise<void>((done, fail) => {
    const source = spawn(stdinFrom[0], stdinFrom.slice(1), { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const sink = spawn(argv[0], argv.slice(1), { stdio: [source.stdout, 'ignore', 'pipe'] });
    let stderr = '';
    sink.stderr.on('data', (chunk) => (stderr += chunk));
    sink.once('close', (code) => (code === 0 ? done() : fail(new Error(`${argv.join(' ')}: ${code} ${stderr}`))));
  });
}

/** Waits until every health URL answers 2xx and the front serves `note` at /version (50 ms apart). */
async function healthy(urls: string[], front: string, note: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ok = async (url: string, body?: string) => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    const text = await response?.text().catch(() => undefined);
    return !!response?.ok && (body === undefined || text?.trim() === body);
  };
  while (Date.now() < deadline) {
    const answers = await Promise.all([...urls.map((url) => ok(url)), ok(`${front}/version`, note)]);
    if (answers.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the bare deploy of ${note} did not turn healthy within ${timeoutMs} ms`);
}

/**
 * The switch our deploy makes on a compose network, by hand in one ssh session: the new API
 * container beside the old one (compose --scale with --no-recreate), a wait for its healthcheck,
 * the front's configuration pointed at it by name with `nginx -t` and a reload, the drain, the old
 * container stopped and removed, the configuration back to the service name and reloaded.
 */
function switchByHand(stack: DeployStack, compose: string, env: Record<string, string>): Promise<void> {
  const conf = `${join(stack.deployDir, 'bare')}/nginx/conf.d/webhook.conf`;
  const api = `--filter label=com.docker.compose.project=${BARE_PROJECT} --filter label=com.docker.compose.service=webhook-api`;
  const front = `$(docker ps -q --filter label=com.docker.compose.project=${BARE_PROJECT} --filter label=com.docker.compose.service=nginx)`;
  return sh(
    ssh(
      stack,
      [
        'set -e',
        `old=$(docker ps -q ${api})`,
        `${compose} up --detach --no-deps --no-recreate --scale webhook-api=2 webhook-api`,
        `new=$(docker ps -q ${api} | grep -v "$old")`,
        'until [ "$(docker inspect --format "{{.State.Health.Status}}" $new)" = healthy ]; do sleep 0.25; done',
        'name=$(docker inspect --format "{{.Name}}" $new | cut -c2-)',
        `sed -i "s/webhook-api:/$name:/" ${conf}`,
        `docker exec ${front} nginx -t && docker exec ${front} nginx -s reload`,
        `sleep ${env.DEPLOY_DRAIN_SECONDS ?? 2}`,
        'docker stop $old && docker rm $old',
        `sed -i "s/$name:/webhook-api:/" ${conf}`,
        `docker exec ${front} nginx -t && docker exec ${front} nginx -s reload`,
      ].join('\n'),
    ),
  );
}

/**
 * The same work by hand: docker build and push, the compose file with its .env and every file it
 * mounts shipped over ssh (one tar), docker-compose pull there (docker pull of the new image after the first
 * deploy, as ours) and the switch by hand (or up -d), a health wait through
 * the front, then `final` moved (tag and push), as our deploy promotes a release that passed.
 */
async function bareOnce(
  stack: DeployStack,
  env: Record<string, string>,
  note: string,
  everyMs: number,
  { first, switchBeside }: { first: boolean; switchBeside: boolean },
): Promise<Round> {
  const backend = stack.backend;
  const revision = (await run('git', ['-C', backend, 'rev-parse', '--short=12', 'HEAD'])).stdout.trim();
  // A repository of its own, so that ours never sees the bare side's tags (its final above all).
  const repository = `${env.DEPLOY_IMAGE}-bare`;
  const image = `${repository}:${revision}`;
  const docker = ['docker', '--host', env.DEPLOY_BUILD_DOCKER_HOST];
  const context = join(backend, env.DEPLOY_BUILD_CONTEXT ?? 'api_server');
  const composeFile = join(backend, env.DEPLOY_COMPOSE_FILE ?? 'docker-compose.webhook.prod.yml');
  const dir = join(stack.deployDir, 'bare');
  const compose = `docker-compose --project-name ${BARE_PROJECT} --file ${dir}/docker-compose.yml`;
  const stage = join(stack.dir, 'bare-stage');
  const steps: [string, number][] = [];
  const step = async (name: string, work: () => Promise<void>) => {
    const at = performance.now();
    await work();
    steps.push([name, performance.now() - at]);
  };
  const probe = startDowntimeProbe(env.DEPLOY_PROBE_URL, everyMs);
  const from = Date.now();
  const started = performance.now();
  let ms = 0;
  let downtime: Downtime | undefined;
  try {
    await step('docker build', () =>
      sh([
        ...docker,
        'build',
        '--quiet',
        '--file',
        join(context, env.DEPLOY_DOCKERFILE ?? 'Dockerfile.webhook'),
        '--tag',
        image,
        context,
      ]),
    );
    await step('docker push', () => sh([...docker, 'push', '--quiet', image]));
    await step('ship (tar over ssh)', async () => {
      rmSync(stage, { recursive: true, force: true });
      mkdirSync(stage, { recursive: true });
      const text = readFileSync(composeFile, 'utf8');
      writeFileSync(join(stage, 'docker-compose.yml'), text);
      for (const path of composeInputs(text)) {
        mkdirSync(join(stage, dirname(path)), { recursive: true });
        await run('cp', ['-a', join(dirname(composeFile), path), join(stage, dirname(path))]);
      }
      const dotEnv = [`WEBHOOK_IMAGE=${image}`, ...(env.DEPLOY_COMPOSE_ENV ?? '').split(',').filter(Boolean)];
      writeFileSync(join(stage, '.env'), dotEnv.join('\n') + '\n');
      await sh(ssh(stack, `mkdir -p ${dir} && tar -x -f - -C ${dir}`), stage, [
        'tar',
        '-c',
        '-f',
        '-',
        '-C',
        stage,
        '.',
      ]);
    });
    // As ours: compose pull on the first deploy; after it, the compose file and .env are those
    // already there, so the new image is all there is to pull.
    if (first) await step('docker-compose pull', () => sh(ssh(stack, `${compose} pull --quiet`)));
    else await step('docker pull', () => sh(ssh(stack, `docker pull --quiet ${image}`)));
    if (switchBeside)
      await step('switch by hand (beside, drain, old removed)', () => switchByHand(stack, compose, env));
    else await step('docker-compose up -d', () => sh(ssh(stack, `${compose} up --detach`)));
    await step('health wait through the front', () =>
      healthy(env.DEPLOY_HEALTH_URLS.split(','), new URL(env.DEPLOY_PROBE_URL).origin, note),
    );
    await step('final: tag and push', async () => {
      await sh([...docker, 'tag', image, `${repository}:final`]);
      await sh([...docker, 'push', '--quiet', `${repository}:final`]);
    });
    ms = performance.now() - started;
  } finally {
    // Stopped however the round ends: its loop would keep the process alive.
    downtime = await probe.stop();
  }
  return { ms, from, to: from + ms, steps, downtime };
}

/**
 * The settings the bare side deploys with beside ours: the same, with the front's ports (in the
 * compose .env lines, the health URLs and the probe's URL) moved to the bare side's own.
 */
function onOtherPorts(env: Record<string, string>, ports: DeployPorts): Record<string, string> {
  const move = (text = '') =>
    text
      .replace(new RegExp(`\\b${ports.front}\\b`, 'g'), String(ports.bareFront))
      .replace(new RegExp(`\\b${ports.tls}\\b`, 'g'), String(ports.bareTls));
  return {
    ...env,
    DEPLOY_COMPOSE_ENV: move(env.DEPLOY_COMPOSE_ENV),
    DEPLOY_HEALTH_URLS: move(env.DEPLOY_HEALTH_URLS),
    DEPLOY_PROBE_URL: move(env.DEPLOY_PROBE_URL),
  };
}

/** Removes a compose project's containers and networks by its label (whatever the deploy made of them). */
function removeProject(stack: DeployStack, project: string): void {
  const label = `label=com.docker.compose.project=${project}`;
  const list = (args: string[]) => stack.engine.docker(args).split('\n').filter(Boolean);
  const ids = list(['ps', '-aq', '--filter', label]);
  if (ids.length) stack.engine.docker(['rm', '-f', ...ids]);
  const networks = list(['network', 'ls', '-q', '--filter', label]);
  if (networks.length) stack.engine.docker(['network', 'rm', ...networks]);
}

const describe = (d: Downtime) => `${d.failed} of ${d.requests} failed, longest gap ${d.longestGapMs} ms`;
const sum = (rounds: Round[]): Downtime | undefined =>
  rounds.every((r) => r.downtime)
    ? {
        url: rounds[0].downtime!.url,
        everyMs: rounds[0].downtime!.everyMs,
        requests: rounds.reduce((n, r) => n + r.downtime!.requests, 0),
        failed: rounds.reduce((n, r) => n + r.downtime!.failed, 0),
        longestGapMs: Math.max(...rounds.map((r) => r.downtime!.longestGapMs)),
      }
    : undefined;

/** Median time of each step over the rounds, "name 1.23 s", by the step names of the first round. */
function breakdown(rounds: Round[]): string {
  return rounds[0].steps
    .map(([name], i) => `${name} ${seconds(median(rounds.map((r) => r.steps[i]?.[1] ?? 0)))}`)
    .join(', ');
}

export async function deployBench(ports: DeployPorts, say: (text: string) => void): Promise<Row[]> {
  const engineRoot = resolve('.bench', 'engines');
  let stack: DeployStack | undefined;
  let engine: ReturnType<typeof watchEngine> | undefined;
  const stop = async () => {
    engine?.stop();
    if (stack) removeProject(stack, BARE_PROJECT);
    await stack?.stop();
    await stopDockerd(join(engineRoot, ENGINE));
  };
  return stoppedAfter(stop, async () => {
    say('deploy: starting dockerd, registry, sshd and the sample backend');
    // The production shape (a compose network) unless BENCH_DEPLOY_NETWORK=host.
    const network = process.env.BENCH_DEPLOY_NETWORK === 'host' ? 'host' : 'bridge';
    stack = await startDeployStack(ENGINE, 60, network, { engineRoot, ports });
    engine = watchEngine(stack);
    // The bench's own .env, read by the deploy as a user's would be (--env-file). Releases are
    // kept so that no round cleans up old ones (a clean-up is not the work the bare side does).
    // On the host's network the new release starts on a second port (blue/green, the bare side's
    // front port is free there: the two sides do not run side by side) and is checked through the front.
    const env: Record<string, string> = {
      ...stack.env,
      DEPLOY_KEEP_RELEASES: '100',
      ...(network === 'host'
        ? {
            DEPLOY_SECOND_PORT: `WEBHOOK_PORT=${ports.bareFront}`,
            DEPLOY_HEALTH_URLS: `http://127.0.0.1:${ports.front}/health`,
          }
        : {}),
    };
    const envFile = join(stack.dir, 'bench.env');
    writeFileSync(
      envFile,
      Object.entries(env)
        .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
        .join('\n') + '\n',
    );

    // Each side first deploys once untimed (the first deploy starts from nothing), then times
    // ROUNDS deploys of a new revision over a running release. On a compose network the bare
    // project publishes its front on ports of its own, so the sides alternate round by round and
    // the machine's other load hits both alike; on the host's network the front's configuration
    // names the ports, so ours runs its rounds, is removed, and the bare side runs on the same ports.
    const sideBySide = network === 'bridge';
    const bareEnv = sideBySide ? onOtherPorts(env, ports) : env;
    newRevision(stack.backend, 'ours-0');
    say('deploy: our first deploy (untimed)');
    // The bare side is probed as often as the deploy's probe asked (its line says how often).
    const everyMs = (await oursOnce(envFile)).downtime?.everyMs || 20;
    const ours: Round[] = [];
    const bare: Round[] = [];
    const oursRound = async (i: number) => {
      newRevision(stack!.backend, `ours-${i}`);
      say(`deploy: ours, round ${i} of ${ROUNDS}`);
      ours.push(await oursOnce(envFile));
      say(`deploy: ours took ${seconds(ours.at(-1)!.ms)}`);
    };
    const bareRound = async (i: number) => {
      newRevision(stack!.backend, `bare-${i}`);
      say(i ? `deploy: bare, round ${i} of ${ROUNDS}` : 'deploy: the bare commands, first deploy (untimed)');
      // On a compose network the timed rounds switch as ours does (the first starts from nothing).
      const round = await bareOnce(stack!, bareEnv, `bare-${i}`, everyMs, {
        first: i === 0,
        switchBeside: sideBySide && i > 0,
      });
      if (i) bare.push(round);
      say(`deploy: bare took ${seconds(round.ms)}`);
    };
    if (sideBySide) {
      await bareRound(0);
      for (let i = 1; i <= ROUNDS; i++) {
        await oursRound(i);
        await bareRound(i);
      }
    } else {
      for (let i = 1; i <= ROUNDS; i++) await oursRound(i);
      removeProject(stack, env.SERVER_COMPOSE_PROJECT);
      for (let i = 0; i <= ROUNDS; i++) await bareRound(i);
    }

    const oursMs = median(ours.map((r) => r.ms));
    const bareMs = median(bare.map((r) => r.ms));
    const oursDown = sum(ours);
    const bareDown = sum(bare)!;
    // Where the time goes: our round nearest the median by its progress lines, and both sides'
    // rounds nearest the median by what the engine did when.
    const nearest = (rounds: Round[], ms: number) =>
      rounds.reduce((a, b) => (Math.abs(b.ms - ms) < Math.abs(a.ms - ms) ? b : a));
    const typical = { ours: nearest(ours, oursMs), bare: nearest(bare, bareMs) };
    say(`deploy: our round nearest the median (${seconds(typical.ours.ms)}), by its progress lines:`);
    for (const [line, ms] of typical.ours.steps) say(`  ${seconds(ms).padStart(8)}  ${line}`);
    say(`deploy: the bare round, median by step: ${breakdown(bare)}`);
    const events = new Map([...ours, ...bare].map((round) => [round, engineTimeline(engine!.events, round)]));
    say(`deploy: the engine during that round of ours: ${timeline(events.get(typical.ours)!, typical.ours)}`);
    say(
      `deploy: the engine during the bare round nearest the median: ${timeline(events.get(typical.bare)!, typical.bare)}`,
    );
    for (const [name, rounds] of [
      ['ours', ours],
      ['bare', bare],
    ] as const)
      say(`deploy: ${name} by round: ${rounds.map((r) => phases(events.get(r)!, r)).join(' | ')}`);
    // The same medians without the wait for the old container to stop (the same on both sides).
    const withoutStop = (rounds: Round[]) => median(rounds.map((r) => r.ms - stoppingMs(events.get(r)!)));
    const lean = { ours: withoutStop(ours), bare: withoutStop(bare) };
    return [
      ratioRow(
        'deploy: ours vs bare',
        `${seconds(oursMs)} (npm run deploy:clean --yes: plan and apply)`,
        `bare ${seconds(bareMs)} (${breakdown(bare)})`,
        oursMs / bareMs,
        1.3,
        `median of ${ROUNDS} each, a new revision over a running release; ours: ${ours.map((r) => seconds(r.ms)).join(', ')} (nearest the median ${phases(events.get(typical.ours)!, typical.ours)}); bare: ${bare.map((r) => seconds(r.ms)).join(', ')} (nearest the median ${phases(events.get(typical.bare)!, typical.bare)}); without the old API's stop (kill to die, ${seconds(median([...events.values()].map(stoppingMs)))} on both sides): ours ${seconds(lean.ours)}, bare ${seconds(lean.bare)}, ${(lean.ours / lean.bare).toFixed(2)}x`,
      ),
      {
        figure: `downtime during a deploy, ${ROUNDS} deploys (probe through the front)`,
        ours: oursDown ? describe(oursDown) : 'not in the report',
        ceiling: `bare ${sideBySide ? 'switch by hand' : 'up -d'}: ${describe(bareDown)}`,
        target: '0 failed',
        met: oursDown ? oursDown.failed === 0 : false,
        note: `the deploy's own probe (its report's line), one request every ${everyMs} ms; the bare figure by the same probe over the bare round`,
      },
    ];
  });
}
