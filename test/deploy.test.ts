/**
 * Clean deploy end to end, through the npm scripts' entry (tasks/deploy.ts and its mode flags):
 * a real registry, a real Docker engine reached through a real sshd, docker-compose v1 on the
 * "server", a real nginx front (its configuration and ssl/ mounted from the compose file) and a
 * sample backend whose images are built and pushed.
 */
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { get } from 'node:https';
import { connect } from 'node:tls';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { breakHealth, docsOnlyCommit, newRevision, rotateTls } from '../sandbox/fixtures/backend-sample.ts';
import { startDeployStack, type DeployStack } from './support/deploy-stack.ts';
import { runTask, howItEnded } from './support/run-task.ts';
import { SHIP_STEPS, BESIDE_STEPS, figure, zeroDowntime } from './support/deploy-steps.ts';

let stack: DeployStack;
let backend: string;
let deployDir: string;
let registry: DeployStack['registry'];
let ports: DeployStack['ports'];
let env: Record<string, string>;

const deploy = (...args: string[]) => runTask('tasks/deploy.ts', args, env);
const version = async (port = ports.front) =>
  (await fetch(`http://127.0.0.1:${port}/version`).catch(() => undefined))?.text();
const revision = () =>
  execFileSync('git', ['-C', backend, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
const state = () => JSON.parse(readFileSync(join(deployDir, 'deploy-state.json'), 'utf8'));
const digest = async (tag: string) =>
  (
    await fetch(`${registry.url}/v2/webhook-api/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    })
  ).headers.get('docker-content-digest') ?? undefined;
const tags = async () =>
  (
    ((await (await fetch(`${registry.url}/v2/webhook-api/tags/list`)).json()) as { tags: string[] | null }).tags ?? []
  ).sort();
const projectContainers = () =>
  stack.engine
    .docker(['ps', '-a', '--filter', 'label=com.docker.compose.project=webhook', '--format', '{{.Names}} {{.State}}'])
    .trim();
/** The fingerprint of the certificate the front's TLS server presents. */
const servedCertificate = () =>
  new Promise<string | undefined>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: ports.tls, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    }).on('error', () => resolve(undefined));
  });
/** The front's TLS server answers only when ssl/ reached the host. */
const tlsStatus = () =>
  new Promise<number | undefined>((resolve) =>
    get(
      { host: '127.0.0.1', port: ports.tls, path: '/health', rejectUnauthorized: false },
      (r) => (r.resume(), resolve(r.statusCode)),
    ).on('error', () => resolve(undefined)),
  );
const actions = (report: { changes: { action: string }[] }) => report.changes.map((c) => c.action);

test.before(async () => {
  stack = await startDeployStack('deploy', 8);
  ({ backend, deployDir, registry, ports } = stack);
  env = { ...stack.env, DEPLOY_KEEP_RELEASES: '2' };
});

test.after(async () => {
  // To read the measured figures (downtime) afterwards: DEPLOY_TEST_REPORTS=/some/folder.
  if (process.env.DEPLOY_TEST_REPORTS && stack)
    cpSync(join(stack.dir, 'reports'), process.env.DEPLOY_TEST_REPORTS, { recursive: true });
  await stack?.stop();
});

test('a first deploy that fails its gate leaves nothing half-started and promotes nothing; the marker of a first deploy killed before its ship brings back nothing', async () => {
  // What a first deploy SIGKILLed between its marker and its ship leaves: the marker, no compose file.
  mkdirSync(deployDir, { recursive: true });
  writeFileSync(
    join(deployDir, '.deploy-under-way.json'),
    JSON.stringify({
      run: 'deploy:clean pid 1 on elsewhere',
      since: new Date().toISOString(),
      recovery: { kind: 'stop-started', replaced: [] },
    }),
  );
  breakHealth(backend);
  const run = await deploy('--yes', '--json');
  assert.is(actions(run.report)[1], 'bring back', 'the marker is an item of the plan, right after the lock');
  assert.match(
    run.report.changes[1].reason,
    /it had not shipped its compose file \(none in the deploy folder\), so it started nothing: nothing to stop/,
    'the plan says so up front',
  );
  assert.match(run.stderr, /had not shipped its compose file yet, so it started nothing: nothing to stop/);
  assert.is(run.code, 1, howItEnded(run));
  // compose up itself waits for the API's healthcheck (nginx depends_on it being healthy).
  assert.match(run.stderr, /Container "[0-9a-f]+" is unhealthy/);
  assert.match(run.stderr, /nothing was up before: stopped and removed what this deploy started/);
  assert.is(projectContainers(), '', 'no container of the project is left');
  assert.is(await digest('final'), undefined, 'final was never pushed');
  assert.ok((await tags()).includes(revision()), 'the build was pushed under its content tag only');
  assert.not.ok(existsSync(join(deployDir, '.deploy.lock')), 'the lock is released after a failure');
});

test('a good deploy: planned steps in order, files shipped, the real nginx serves over HTTP and TLS, final moved', async () => {
  newRevision(backend, 'v1');
  const run = await deploy('--yes', '--json');
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(actions(run.report), [...SHIP_STEPS, 'up', 'health gate', 'promote', 'record release']);
  const ship = run.report.changes.find((c: { action: string }) => c.action === 'ship');
  for (const file of ['nginx/conf.d/webhook.conf', 'ssl/webhook.crt', 'ssl/webhook.key', '.env.prod']) {
    assert.match(
      ship.target,
      new RegExp(`${file.replace(/[./]/g, '\\$&')} \\(\\d`),
      `the plan lists ${file} with its size`,
    );
    assert.is(
      readFileSync(join(deployDir, file), 'utf8'),
      readFileSync(join(backend, file), 'utf8'),
      `${file} is on the host`,
    );
  }
  assert.is((await version())?.trim(), 'v1', 'the nginx front proxies to the API');
  assert.is(await tlsStatus(), 200, 'the TLS server runs with the shipped ssl/');
  assert.is(state().current.image, `${env.DEPLOY_IMAGE}:${revision()}`);
  assert.is(await digest('final'), await digest(revision()), 'final is the new release');
  assert.is(state().current.digest, await digest(revision()));
  assert.match(figure(run.report, 'revision built')!, new RegExp(`^${revision()} \\(as planned\\)`));
  assert.match(
    figure(run.report, 'downtime')!,
    /\d+ of \d+ requests to .* failed .* longest gap without a good answer \d+ ms/,
  );
  // The audit line in the deploy folder, and the probe's answers over time in the report's chart.
  const audit = readFileSync(join(deployDir, 'cleanup-audit.jsonl'), 'utf8').trim().split('\n').at(-1)!;
  assert.equal((({ task, result, applied, failed }) => ({ task, result, applied, failed }))(JSON.parse(audit)), {
    task: 'deploy',
    result: 'applied',
    applied: run.report.summary.applied,
    failed: 0,
  });
  const probe = run.report.charts.find((c: { id: string }) => c.id === 'deploy-probe');
  const good = probe.series.find((s: { name: string }) => s.name === 'good answers');
  assert.ok(good.values.reduce((n: number, v: number) => n + v, 0) > 0, JSON.stringify(probe));
});

test('the same content again, and a docs-only commit, plan nothing', async () => {
  const same = await deploy('--yes', '--json');
  assert.is(same.code, 0, howItEnded(same));
  assert.is(same.report.summary.changes, 0);
  docsOnlyCommit(backend);
  const docs = await deploy('--yes', '--json');
  assert.is(docs.code, 0, howItEnded(docs));
  assert.is(docs.report.summary.changes, 0, JSON.stringify(docs.report.changes));
  assert.match(docs.report.kept[0].reason, /already deployed, running and healthy: its content/);
});

test('secrets git does not track: shipped 0600 in 0700 folders, never printed; a changed one recreates exactly its readers, then nothing is planned', async () => {
  const mode = (path: string) => (statSync(join(deployDir, path)).mode & 0o777).toString(8);
  assert.is(mode('.env.prod'), '600');
  assert.is(mode('ssl/webhook.key'), '600');
  assert.is(mode('ssl'), '700');
  const ids = () =>
    Object.fromEntries(
      stack.engine
        .docker([
          'ps',
          '--filter',
          'label=com.docker.compose.project=webhook',
          '--format',
          '{{.Label "com.docker.compose.service"}} {{.ID}}',
        ])
        .trim()
        .split('\n')
        .map((l) => l.split(' ')),
    );
  const before = ids();
  writeFileSync(join(backend, '.env.prod'), 'WEBHOOK_SIGNING_SECRET=rotated-signing-secret\n');
  const run = await deploy('--yes', '--json');
  assert.is(run.code, 0, howItEnded(run));
  const ship = run.report.changes.find((c: { action: string }) => c.action === 'ship');
  assert.match(ship.target, /\.env\.prod \(\d+ B, secret: not in git\)/);
  const beside = run.report.changes.find((c: { action: string }) => c.action === 'start beside');
  assert.match(beside.reason, /they read \.env\.prod, which changed/);
  assert.ok(!actions(run.report).includes('reload front'), 'nginx does not read the secret');
  assert.is(zeroDowntime(run.report), true, figure(run.report, 'downtime'));
  assert.match(
    run.report.changes.find((c: { action: string }) => c.action === 'build').reason,
    /shipped files changed: \.env\.prod/,
  );
  assert.is(mode('.before-deploy.tar'), '600', 'the save before the ship holds secrets too');
  const after = ids();
  assert.is.not(after['webhook-api'], before['webhook-api'], 'the API, which reads the secret, is recreated');
  assert.is(after.nginx, before.nginx, 'nginx, which does not, keeps its container');
  assert.is(readFileSync(join(deployDir, '.env.prod'), 'utf8'), 'WEBHOOK_SIGNING_SECRET=rotated-signing-secret\n');
  // A mounted key changes: compose would not recreate nginx for it (same image, same configuration).
  rotateTls(backend);
  const tls = await deploy('--yes', '--json');
  assert.is(tls.code, 0, howItEnded(tls));
  assert.match(
    tls.report.changes.find((c: { action: string }) => c.action === 'reload front').reason,
    /they read ssl\/webhook\.crt, ssl\/webhook\.key, which changed .*: nginx -t, then nginx -s reload/,
  );
  assert.ok(!actions(tls.report).includes('start beside'), 'the API reads no changed file and keeps its image');
  assert.match(figure(tls.report, 'expected downtime')!, /^zero: webhook-api keeps its container/);
  const rotated = ids();
  assert.is(rotated.nginx, after.nginx, 'nginx, which reads the key, loads it by a reload: same container');
  assert.is(rotated['webhook-api'], after['webhook-api'], 'the API, which does not, keeps its container');
  assert.is(
    await servedCertificate(),
    new X509Certificate(readFileSync(join(backend, 'ssl/webhook.crt'))).fingerprint256,
    'the front serves the new certificate',
  );
  const key = readFileSync(join(backend, 'ssl/webhook.key'), 'utf8').split('\n')[1];
  const reports = readdirSync(join(stack.dir, 'reports'), { recursive: true })
    .map((f) => join(stack.dir, 'reports', String(f)))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f, 'utf8'));
  assert.ok(reports.length, 'the runs wrote reports');
  for (const text of [run.stdout, run.stderr, tls.stdout, tls.stderr, ...reports]) {
    assert.not.match(text, 'signing-secret', 'no secret value in output or reports');
    assert.not.match(text, key, 'no key bytes in output or reports');
  }
  const again = await deploy('--yes', '--json');
  assert.is(again.code, 0, howItEnded(again));
  assert.is(again.report.summary.changes, 0, 'an unchanged secret plans nothing');
});

test("a missing secret stops the plan naming it and its service; a file compose rejects is refused in compose's words; host paths are expected on the host, checked there", async () => {
  rmSync(join(backend, '.env.prod'));
  try {
    const missing = await deploy('--dry-run');
    assert.is(missing.code, 2, howItEnded(missing));
    assert.match(missing.stderr, /service webhook-api: env_file \.env\.prod does not exist in /);
  } finally {
    writeFileSync(join(backend, '.env.prod'), 'WEBHOOK_SIGNING_SECRET=rotated-signing-secret\n');
  }
  const file = join(backend, 'docker-compose.webhook.prod.yml');
  const original = readFileSync(file, 'utf8');
  try {
    writeFileSync(file, original.replace('${NGINX_IMAGE}', '${NGINX_IMAGE_UNSET:?set the nginx image}'));
    const rejected = await deploy('--dry-run');
    assert.is(rejected.code, 2, howItEnded(rejected));
    assert.match(
      rejected.stderr,
      /docker-compose refused .*docker-compose\.webhook\.prod\.yml:\n.*set the nginx image/,
    );
    const mounts = '    volumes:\n      - /etc/localtime:/etc/localtime:ro\n      - /proc:/host/proc:ro\n';
    writeFileSync(file, original.replace('    env_file: .env.prod\n', `    env_file: .env.prod\n${mounts}`));
    const host = await deploy('--dry-run', '--allow-dirty', '--json');
    assert.is(host.code, 0, howItEnded(host));
    assert.match(
      figure(host.report, 'expected on the host')!,
      /\/etc\/localtime \(webhook-api\), \/proc \(webhook-api\): the host.s own/,
    );
    assert.not.match(JSON.stringify(host.report.changes), 'localtime', 'never shipped');
    writeFileSync(
      file,
      original.replace('    env_file: .env.prod\n', '    env_file: .env.prod\n    volumes: [/srv/not-there:/data]\n'),
    );
    const gone = await deploy('--dry-run', '--allow-dirty');
    assert.is(gone.code, 2, howItEnded(gone));
    assert.match(gone.stderr, /paths of the host that .* does not have: \/srv\/not-there \(service webhook-api\)/);
  } finally {
    writeFileSync(file, original);
  }
});

test('uncommitted changes in the build context are refused by name, unless --allow-dirty, which the plan states', async () => {
  writeFileSync(join(backend, 'api_server/www/draft.txt'), 'not committed\n');
  try {
    const refused = await deploy('--yes');
    assert.is(refused.code, 2, howItEnded(refused));
    assert.match(
      refused.stderr,
      /Uncommitted changes in what the deploy builds and ships: api_server\/www\/draft\.txt/,
    );
    const allowed = await deploy('--dry-run', '--allow-dirty', '--json');
    assert.is(allowed.code, 0, howItEnded(allowed));
    assert.match(
      allowed.report.notes.join('\n'),
      /--allow-dirty: the build takes uncommitted changes in api_server\/www\/draft\.txt/,
    );
    assert.match(allowed.report.changes[1].target, /-dirty-/);
  } finally {
    rmSync(join(backend, 'api_server/www/draft.txt'));
  }
});

test('a bind-mount source outside the project folder is refused, naming the service and the path', async () => {
  const file = join(backend, 'docker-compose.webhook.prod.yml');
  const original = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    original.replace('- ./nginx/conf.d:/etc/nginx/conf.d:ro', '- ../elsewhere/conf.d:/etc/nginx/conf.d:ro'),
  );
  try {
    const run = await deploy('--yes');
    assert.is(run.code, 2, howItEnded(run));
    assert.match(run.stderr, /service nginx: bind mount \.\.\/elsewhere\/conf\.d is outside the project folder/);
  } finally {
    writeFileSync(file, original);
  }
});

test('a broken build fails the gate: exit 1, the previous release serves, final unmoved and named; a running container the plan does not list survives', async () => {
  stack.engine.docker([
    'run',
    '-d',
    '--name',
    'stray',
    '--network',
    'none',
    'cleanup-test/busybox:base',
    'sleep',
    '3600',
  ]);
  newRevision(backend, 'v2');
  const good = await deploy('--yes', '--json');
  assert.is(good.code, 0, howItEnded(good));
  assert.is((await version())?.trim(), 'v2');
  const serving = state().current;
  const finalBefore = await digest('final');
  assert.is(finalBefore, serving.digest);
  breakHealth(backend);
  assert.equal(actions(good.report).slice(5, 12), ['pull', ...BESIDE_STEPS]);
  assert.match(figure(good.report, 'expected downtime')!, /^zero: the new webhook-api serves/);
  assert.is(zeroDowntime(good.report), true, figure(good.report, 'downtime'));
  assert.is(projectContainers().split('\n').length, 2, 'one API container and the front: the old one is gone');
  assert.not.match(readFileSync(join(deployDir, 'nginx/conf.d/webhook.conf'), 'utf8'), /webhook_webhook-api_/);
  const broken = await deploy('--yes', '--json');
  assert.is(broken.code, 1, howItEnded(broken));
  assert.is(
    zeroDowntime(broken.report),
    true,
    `a release that never turns healthy costs no request: ${figure(broken.report, 'downtime')}`,
  );
  assert.match(broken.stderr, /restored what ran before \(.*\), which answers healthy/);
  assert.match(broken.stderr, /Last log lines/);
  assert.match(
    broken.report.notes.join('\n'),
    new RegExp(`webhook-api:final points to ${finalBefore} \\(unchanged by this run\\)`),
  );
  assert.ok(
    broken.report.notes.some((n: string) => n === 'not started: promote webhook-api:final'),
    broken.report.notes.join('\n'),
  );
  assert.is((await version())?.trim(), 'v2', 'the previous release serves');
  assert.is(await digest('final'), finalBefore, 'final did not move');
  assert.is(state().current.image, serving.image);
  assert.is(
    stack.engine.docker(['inspect', '--format', '{{.State.Running}}', 'stray']).trim(),
    'true',
    'the stray container still runs',
  );
  assert.not.ok(JSON.stringify(good.report.changes).includes('stray'));
});

test('a fixed build deploys, final moves, and the release beyond the kept two is cleaned up as planned', async () => {
  const oldest = state().previous[0];
  newRevision(backend, 'v3');
  const run = await deploy('--yes', '--json');
  assert.is(run.code, 0, howItEnded(run));
  assert.is((await version())?.trim(), 'v3');
  assert.is(await digest('final'), state().current.digest);
  const oldTag = oldest.image.slice(oldest.image.lastIndexOf(':') + 1);
  // Then, when section 4's last 3 versions push out a failed build's tag too, its registry item.
  assert.not.ok(actions(run.report).includes('up'), 'the compose file and .env are unchanged: no compose up');
  const first = actions(run.report).indexOf('record release') + 1;
  const cleanup = actions(run.report).slice(first);
  assert.is(cleanup[0], 'delete old release tag');
  assert.ok(run.report.changes[first].target.includes(`webhook-api:${oldTag} (sha256:`));
  assert.ok(cleanup.includes('remove old release image'));
  assert.is(cleanup[cleanup.length - 1], 'collect registry garbage');
  assert.not.ok((await tags()).includes(oldTag), 'the old release tag is gone');
  assert.is(state().previous.length, 1);
});

test('deploy:releases lists the kept releases; deploy:rollback VERSION boots a named one and moves final to it', async () => {
  const { current, previous } = state();
  const listed = await deploy('--releases', '--json');
  assert.is(listed.code, 0, howItEnded(listed));
  assert.is(listed.report.kept.length, 2);
  assert.match(listed.report.kept[0].target, new RegExp(`${current.digest}$`));
  assert.match(listed.report.kept[0].reason, /SERVING, final point/);
  const name = previous[0].image.slice(previous[0].image.lastIndexOf(':') + 1);
  const run = await deploy('--rollback', name, '--yes', '--json');
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(actions(run.report), [
    'lock',
    'mark deploy under way',
    'set image',
    'pull',
    ...BESIDE_STEPS,
    'up',
    'promote',
    'record rollback',
  ]);
  assert.is(zeroDowntime(run.report), true, figure(run.report, 'downtime'));
  assert.is((await version())?.trim(), 'v2');
  assert.is(state().current.image, previous[0].image);
  assert.is(await digest('final'), previous[0].digest);
  assert.match(figure(run.report, 'downtime')!, /requests to/);
  const unknown = await deploy('--rollback', 'nosuchversion', '--yes');
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /nosuchversion is not a retained release/);
});

/** Leaves a deploy lock as another run would have left it (owned by the ssh user, as a deploy leaves it). */
function plantLock(owner: Record<string, unknown>): string {
  const lock = join(deployDir, '.deploy.lock');
  mkdirSync(lock);
  writeFileSync(
    join(lock, 'owner.json'),
    JSON.stringify({ token: 'planted', user: 'someone', ttlSeconds: 14400, purpose: 'deploy:clean', ...owner }),
  );
  const uid = Number(execFileSync('id', ['-u', 'cleanup-ops'], { encoding: 'utf8' }));
  for (const path of [lock, join(lock, 'owner.json')]) chownSync(path, uid, 0);
  return lock;
}

test('deploy:lock names the holder, where and since when; a live holder elsewhere makes a deploy wait, then stop naming it; --release needs --force for it', async () => {
  const free = await deploy('--lock', '--json');
  assert.is(free.code, 0, howItEnded(free));
  assert.match(free.report.kept[0].reason, /free/);
  const since = new Date().toISOString();
  const lock = plantLock({ host: 'build-box', pid: 1, since });
  const started = Date.now();
  const blocked = await runTask('tasks/deploy.ts', ['--rollback', '--yes'], { ...env, DEPLOY_LOCK_WAIT_SECONDS: '3' });
  assert.is(blocked.code, 1, howItEnded(blocked));
  assert.ok(Date.now() - started >= 3000, 'it waited the set time');
  assert.match(
    blocked.stderr,
    new RegExp(
      `the deploy folder \\S+ is locked by someone@build-box \\(pid 1, deploy:clean\\) since ${since.replace(/[.]/g, '\\.')} \\(\\S+\\.deploy\\.lock on cleanup-ops@127\\.0\\.0\\.1:\\d+\\); waited 3 s`,
    ),
  );
  assert.equal(
    JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8')).token,
    'planted',
    'the waiting run left the lock alone',
  );
  const refused = await deploy('--lock', '--release', '--yes', '--json');
  assert.match(JSON.stringify(refused.report.refused), /held from build-box, within its time to live/);
  assert.ok(existsSync(lock), 'not released without --force');
  const forced = await deploy('--lock', '--release', '--force', '--yes', '--json');
  assert.is(forced.code, 0, howItEnded(forced));
  assert.is(forced.report.changes[0].action, 'release lock');
  assert.not.ok(existsSync(lock));
});

test('a deploy lock whose holder is gone is reported, stops a deploy and the server prune, and --release frees it', async () => {
  const gone = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$" '], { encoding: 'utf8' }).trim());
  const lock = plantLock({ host: hostname(), pid: gone, since: '2026-12-01T10:00:00Z', ttlSeconds: 10 * 365 * 86400 });
  const blocked = await deploy('--rollback', '--yes');
  assert.is(blocked.code, 1);
  assert.match(
    blocked.stderr,
    new RegExp(
      `locked by someone@\\S+ \\(pid ${gone}, deploy:clean\\) since 2026-12-01T10:00:00Z .*but that holder looks gone: its process ${gone} on \\S+ is gone.*--force`,
    ),
  );
  // The server task holds the same lock while it prunes the deploy host.
  const leftover = stack.engine.docker(['create', 'cleanup-test/busybox:base', 'true']).trim();
  stack.engine.docker(['commit', leftover, 'leftover/abandoned:1']);
  stack.engine.docker(['rm', leftover]);
  const pruneBlocked = await runTask('tasks/server.ts', ['--yes'], env);
  assert.is(pruneBlocked.code, 1, howItEnded(pruneBlocked));
  assert.match(pruneBlocked.stderr, /the deploy folder \S+ is locked by someone@/);
  assert.ok(
    stack.engine.docker(['images', '-q', 'leftover/abandoned:1']).trim(),
    'nothing pruned while the lock is held',
  );
  const shown = await deploy('--lock', '--json');
  assert.match(
    JSON.stringify(shown.report.figures),
    new RegExp(`someone@\\S+ \\(pid ${gone}, deploy:clean\\) since 2026-12-01T10:00:00Z`),
  );
  assert.match(JSON.stringify(shown.report.figures), new RegExp(`holder gone.*its process ${gone}`));
  const released = await deploy('--lock', '--release', '--yes', '--json');
  assert.is(released.code, 0, howItEnded(released));
  assert.is(released.report.changes[0].action, 'release lock');
  assert.not.ok(existsSync(lock));
  const pruned = await runTask('tasks/server.ts', ['--yes'], env);
  assert.is(pruned.code, 0, howItEnded(pruned));
  assert.not.ok(stack.engine.docker(['images', '-q', 'leftover/abandoned:1']).trim(), 'pruned once the lock was free');
  assert.not.ok(existsSync(lock), 'the server task released the lock');
});

test.run();
