/**
 * Faults of a deploy against the real engine (through a real sshd), the real registry and a real
 * nginx front: a deploy SIGKILLed during `compose up`, then run again; a `compose pull` that fails
 * (an image the registry does not have) and a `compose up` that fails (a container that cannot
 * start), on the host's network where compose recreates the API in place. Each time what served before comes back, the report says what failed and what serves,
 * and what the deploy does not own (a running container, a volume with data) is untouched.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMPOSE_HOST_NETWORK, newRevision } from '../sandbox/fixtures/backend-sample.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { runTask, howItEnded, startTask } from './support/run-task.ts';

let stack: DeployStack;
let env: Record<string, string>;
let deployDir: string;

const deploy = (...args: string[]) => runTask('tasks/deploy.ts', args, env);
const version = async () =>
  (await fetch(`http://127.0.0.1:${stack.ports.front}/version`).catch(() => undefined))?.text();
const revision = () =>
  execFileSync('git', ['-C', stack.backend, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
const state = () => JSON.parse(readFileSync(join(deployDir, 'deploy-state.json'), 'utf8'));
const digest = async (tag: string) =>
  (
    await fetch(`${stack.registry.url}/v2/webhook-api/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    })
  ).headers.get('docker-content-digest') ?? undefined;
const marker = '.deploy-under-way.json';
const figure = (report: { figures: { label: string; value: string }[] }, label: string) =>
  report.figures.find((f) => f.label === label)?.value;

/** What the deploy does not own must survive every fault: a running container and a volume with data. */
function untouched() {
  assert.is(
    stack.engine.docker(['inspect', '--format', '{{.State.Running}}', 'keeper']).trim(),
    'true',
    'the container outside the project still runs',
  );
  assert.is(
    stack.engine
      .docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        'keeper-data:/data',
        'cleanup-test/busybox:base',
        'cat',
        '/data/precious',
      ])
      .trim(),
    'kept',
    'the volume keeps its data',
  );
}

/** The serving release is whole: files, state, final, the front answering with `note`. */
async function serves(note: string, image: string) {
  assert.is((await version())?.trim(), note, `the front serves ${note}`);
  assert.is(state().current.image, image);
  assert.is(await digest('final'), state().current.digest, 'final points at the serving, healthy release');
  assert.not.ok(existsSync(join(deployDir, marker)), 'no marker is left');
  assert.not.ok(existsSync(join(deployDir, '.deploy.lock')), 'the lock is released');
  untouched();
}

test.before(async () => {
  // On the host's network, where the API is recreated in place: the faults of compose up itself.
  stack = await startDeployStack('faults-deploy', 8, 'host');
  deployDir = stack.deployDir;
  env = { ...stack.env, DEPLOY_KEEP_RELEASES: '3' };
  stack.engine.docker(['volume', 'create', 'keeper-data']);
  stack.engine.docker([
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    'keeper-data:/data',
    'cleanup-test/busybox:base',
    'sh',
    '-c',
    'echo kept > /data/precious',
  ]);
  stack.engine.docker([
    'run',
    '-d',
    '--name',
    'keeper',
    '--network',
    'none',
    '-v',
    'keeper-data:/data',
    'cleanup-test/busybox:base',
    'sleep',
    '3600',
  ]);
  newRevision(stack.backend, 'v1');
  const first = await deploy('--yes', '--json');
  assert.is(first.code, 0, howItEnded(first));
});

test.after(async () => {
  try {
    stack?.engine.docker(['rm', '-f', 'keeper']);
    stack?.engine.docker(['volume', 'rm', 'keeper-data']);
  } finally {
    await stack?.stop();
  }
});

test('SIGKILL during compose up: the rerun brings back the release that served (an item of its plan), then deploys; final moves to a healthy image', async () => {
  const v1 = state().current.image;
  newRevision(stack.backend, 'v2');
  const { child, exited } = startDeploy();
  // The server side of `compose up` for this stack's deploy folder, as the ssh user runs it.
  const up = `docker-compose --project-name webhook --file ${deployDir}/docker-compose.yml up`;
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline && spawnSyncQuiet('pgrep', ['-f', up]) !== 0) await sleep(50);
  assert.ok(Date.now() < deadline, 'compose up started');
  child.kill('SIGKILL');
  await exited;
  const left = JSON.parse(readFileSync(join(deployDir, marker), 'utf8'));
  assert.match(left.run, new RegExp(`^deploy:clean pid ${child.pid} on `));
  assert.is(left.release, v1, 'the marker names the release to bring back');
  while (spawnSyncQuiet('pgrep', ['-f', up]) === 0) await sleep(200);

  // Its lock record names this machine and boot, and its pid is gone: the plan says the lock is
  // taken over, and the rerun does so without --force.
  const lockOwner = () => readFileSync(join(deployDir, '.deploy.lock', 'owner.json'), 'utf8');
  const ownerBefore = lockOwner();
  const looked = await deploy('--dry-run', '--json');
  assert.is(looked.code, 0, howItEnded(looked));
  // With the recovery marker present, the dry run changed nothing: lock and marker as they were.
  assert.is(lockOwner(), ownerBefore, 'the dry run took no lock');
  assert.equal(JSON.parse(readFileSync(join(deployDir, marker), 'utf8')), left, 'the marker is left');
  assert.is(looked.report.changes[1].action, 'bring back');
  assert.match(
    looked.report.changes[0].reason,
    new RegExp(
      `pid ${child.pid}, deploy:clean\\) since .*\\(this machine, same boot\\) is gone: this run takes it over without --force`,
    ),
  );
  const rerun = await deploy('--yes', '--json');
  assert.is(rerun.code, 0, howItEnded(rerun));
  assert.equal(
    rerun.report.changes.slice(0, 3).map((c: { action: string }) => c.action),
    ['lock', 'bring back', 'build'],
  );
  assert.is(rerun.report.changes[1].target, v1);
  assert.match(
    rerun.report.changes[1].reason,
    new RegExp(
      `deploy:clean pid ${child.pid} on \\S+ was interrupted \\(under way since \\S+\\) before its health gate passed`,
    ),
  );
  assert.match(
    rerun.report.notes.join('\n'),
    /brought back first: .*restored what ran before \(.*\), which answers healthy/,
  );
  await serves('v2', `${env.DEPLOY_IMAGE}:${revision()}`);
  assert.is(state().previous[0].image, v1, 'the release that served before is kept for rollback');
  assert.ok(
    stack.engine.docker(['image', 'inspect', '--format', '{{.Id}}', v1]).trim(),
    'its image is still on the host',
  );
});

test('a compose pull that fails (an image the registry does not have): what served comes back, the report says what failed and what serves', async () => {
  const before = state().current.image;
  const finalBefore = await digest('final');
  newRevision(stack.backend, 'v3');
  const missing = {
    ...env,
    DEPLOY_COMPOSE_ENV: env.DEPLOY_COMPOSE_ENV.replace('nginx-webhook:latest', 'nginx-webhook:missing'),
  };
  const run = await runTask('tasks/deploy.ts', ['--yes', '--json'], missing);
  assert.is(run.code, 1, howItEnded(run));
  assert.match(run.stderr, /compose pull failed on cleanup-ops@127\.0\.0\.1:\d+: .*/);
  assert.match(
    run.stderr,
    /restored what ran before \(.*\), which answers healthy; serving: \S+ \(brought back; healthy\)/,
  );
  assert.match(
    figure(run.report, 'serving')!,
    new RegExp(`^${before.replace(/[.:/]/g, '\\$&')} \\(brought back; healthy\\)`),
  );
  assert.ok(
    run.report.notes.includes('not started: up project docker-compose.webhook.prod.yml'),
    run.report.notes.join('\n'),
  );
  assert.is(await digest('final'), finalBefore, 'final did not move');
  await serves('v2', before);
});

test('a compose up that fails (a container that cannot start): what served comes back, the report says what failed and what serves', async () => {
  const before = state().current.image;
  const compose = join(stack.backend, 'docker-compose.webhook.prod.yml');
  writeFileSync(
    compose,
    // Without init (tini would start and only its child fail): the container itself cannot start.
    readFileSync(compose, 'utf8')
      .replace(/command: \["httpd"[^\n]*/, 'command: ["/no/such/binary"]')
      .replace('    init: true\n', ''),
  );
  newRevision(stack.backend, 'v4');
  const run = await deploy('--yes', '--json');
  assert.is(run.code, 1, howItEnded(run));
  assert.match(run.stderr, /compose up failed on cleanup-ops@127\.0\.0\.1:\d+: .*/);
  assert.match(run.stderr, /no\/such\/binary/);
  assert.match(
    figure(run.report, 'serving')!,
    new RegExp(`^${before.replace(/[.:/]/g, '\\$&')} \\(brought back; healthy\\)`),
  );
  await serves('v2', before);
});

test('a deploy and a clean:server prune of the deploy host at once never overlap: the prune waits for the deploy lock, or stops naming its holder', async () => {
  writeFileSync(join(stack.backend, 'docker-compose.webhook.prod.yml'), COMPOSE_HOST_NETWORK);
  newRevision(stack.backend, 'v5');
  const leftover = stack.engine.docker(['create', 'cleanup-test/busybox:base', 'true']).trim();
  stack.engine.docker(['commit', leftover, 'leftover/abandoned:1']);
  stack.engine.docker(['rm', leftover]);
  const { exited, output } = startDeploy();
  const owner = join(deployDir, '.deploy.lock', 'owner.json');
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline && !(existsSync(owner) && readFileSync(owner, 'utf8').includes('deploy:clean')))
    await sleep(50);
  assert.ok(Date.now() < deadline, 'the deploy took its lock');
  let deployEnded = 0;
  const deployed = exited.then((code) => ((deployEnded = Date.now()), code));
  const prune = await runTask('tasks/server.ts', ['--yes', '--json'], env);
  const pruneEnded = Date.now();
  assert.is(await deployed, 0, output());
  const abandoned = () => stack.engine.docker(['images', '-q', 'leftover/abandoned:1']).trim();
  if (prune.code === 0) {
    // It waited: the deploy held the lock when the prune started, and the prune applies only under it.
    assert.ok(deployEnded > 0 && pruneEnded >= deployEnded, 'the prune finished only after the deploy');
    assert.not.ok(abandoned(), 'pruned once the deploy was done');
  } else {
    assert.is(prune.code, 1, howItEnded(prune));
    assert.ok(
      /the deploy folder \S+ is locked by \S+ \(pid \d+, deploy:clean\) since \S+ \(.*\); waited 60 s/.test(
        prune.stderr,
      ),
      howItEnded(prune),
    );
    assert.ok(abandoned(), 'nothing pruned while the deploy held the lock');
  }
  await serves('v5', `${env.DEPLOY_IMAGE}:${revision()}`);
});

/** A deploy as the npm script runs it, as a process the test can kill; its output kept. */
function startDeploy() {
  const task = startTask('tasks/deploy.ts', ['--yes', '--json'], env);
  return { ...task, exited: task.exited.then(({ code }) => code), output: () => task.stdout() + task.stderr() };
}

/** Exit code of a command, its output dropped. */
function spawnSyncQuiet(cmd: string, args: string[]): number {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return 0;
  } catch (error) {
    return (error as { status?: number }).status ?? 1;
  }
}

test.run();
