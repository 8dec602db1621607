/**
 * The server task against real Docker engines reached through real sshd on loopback. A seeded
 * host holds a running compose project, old exited containers of its service, a stray running
 * container, a stopped database with a named volume, anonymous and named volumes, a dangling
 * image, many versions of one repository and build cache, and what real hosts have besides
 * (issue 12): an unlabelled postgres with a named volume, a monitoring agent, a stopped mariadb
 * with a host folder, an abandoned repository, a one-off container. A second host holds a
 * smaller mess.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBaseImage, ensureDockerd, type TestEngine } from '../sandbox/fixtures/dockerd.ts';
import { build, names, reset, seedDockerHost, seedProductionHost } from '../sandbox/fixtures/server-seed.ts';
import { freePort } from '../sandbox/fixtures/ports.ts';
import { mermaidBlocks, parseMermaid } from './support/mermaid.ts';
import { runTask, howItEnded } from './support/run-task.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';

let dir: string;
let main: TestEngine;
let second: TestEngine;
let sshd: Sshd[] = [];
let knownHosts: string;
let mariadbData: string;

const containers = (engine: TestEngine) => names(engine, ['ps', '-a', '--format', '{{.Names}} {{.State}}']);
const images = (engine: TestEngine) => names(engine, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
const volumes = (engine: TestEngine) => names(engine, ['volume', 'ls', '--format', '{{.Name}}']);

function env(hosts: string[], extra: Record<string, string> = {}) {
  return {
    SERVER_HOSTS: hosts.join(','),
    SERVER_COMPOSE_PROJECT: 'webhook',
    SERVER_PROTECT_LABELS: 'role=database',
    SERVER_REMOVE_VOLUMES: 'tmp-cache',
    SERVER_STOP_NAMES: 'str?y',
    SERVER_GRACE_HOURS: '0',
    SERVER_BUILD_CACHE_MAX_AGE_HOURS: '0',
    SSH_IDENTITY_FILE: sshd[0].target.identityFile!,
    SSH_KNOWN_HOSTS_FILE: knownHosts,
    REPORTS_DIR: join(dir, 'reports'),
    ...extra,
  };
}
const hostOf = (s: Sshd) => `${s.target.user}@127.0.0.1:${s.target.port}`;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cleanup-server-'));
  main = await ensureDockerd('server');
  second = await ensureDockerd('server2');
  ensureBaseImage(main);
  ensureBaseImage(second);
  const first = await startSshd({ user: 'cleanup-ops', groups: ['docker'], env: { DOCKER_HOST: main.host } });
  sshd = [
    first,
    await startSshd({
      user: 'cleanup-ops',
      groups: ['docker'],
      env: { DOCKER_HOST: second.host },
      clientKey: first.target.identityFile,
    }),
    await startSshd({
      user: 'cleanup-nodocker',
      env: { DOCKER_HOST: main.host },
      clientKey: first.target.identityFile,
    }),
  ];
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, sshd.map((s) => readFileSync(s.target.knownHostsFile!, 'utf8')).join(''));
  seedDockerHost(main, dir);
  ({ mariadbData } = seedProductionHost(main, dir));
  reset(second);
  build(second, dir, 'leftover:old', 'old '.repeat(40_000));
  build(second, dir, 'leftover:old', 'new '.repeat(40_000));
  second.docker(['volume', 'create']);
});

test.after(async () => {
  for (const s of sshd) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Item = { action?: string; target: string; reason: string; bytes?: number; facts?: Record<string, unknown> };
const snapshot = () => ({
  containers: containers(main),
  images: images(main),
  volumes: volumes(main),
  second: [...containers(second), ...images(second), ...volumes(second)],
});
const reasonOf = (items: Item[], target: string) =>
  items.find((i) => i.target === target)?.reason ?? `(no item ${target})`;

test('a dry run touches nothing and says why each thing stays or goes', async () => {
  const before = snapshot();
  const run = await runTask('tasks/server.ts', ['--dry-run', '--json'], env([hostOf(sshd[0]), hostOf(sshd[1])]));
  assert.is(run.code, 0, howItEnded(run));
  assert.equal(snapshot(), before);
  const { kept, changes } = run.report as { kept: Item[]; changes: Item[] };
  assert.match(
    reasonOf(kept, 'container pg'),
    /^running, not ours: kept \(list it in SERVER_STOP_NAMES to stop it\); holds data in volume pgdata/,
  );
  assert.is(
    reasonOf(kept, 'container node-exporter'),
    'running, not ours: kept (list it in SERVER_STOP_NAMES to stop it)',
    'a read-only bind of /proc is not data',
  );
  assert.match(
    reasonOf(kept, 'container mariadb'),
    new RegExp(`^exited \\d+ (seconds?|minutes?) ago; holds data in host folder ${mariadbData}: kept`),
  );
  assert.match(reasonOf(kept, 'mariadb:10.11'), /used by container mariadb/);
  // A second compose project on the host is its own compose file's: kept, running or stopped.
  assert.match(
    reasonOf(kept, 'container monitoring_prometheus_1'),
    /^running, part of compose project monitoring, which its own compose file manages: kept/,
  );
  assert.match(
    reasonOf(kept, 'container monitoring_config-check_1'),
    /^exited .*, part of compose project monitoring, which its own compose file manages: kept/,
  );
  assert.match(reasonOf(kept, 'prom/prometheus:v2.53'), /used by container monitoring_/);
  assert.match(reasonOf(kept, 'mariadb:10.6'), /kept for rollback \(kept container mariadb uses it\)/);
  assert.match(reasonOf(kept, 'postgres:15'), /used by container pg/);
  assert.match(reasonOf(changes, 'container stray'), /SERVER_STOP_NAMES \(str\?y\)/);
  assert.equal(
    changes.filter((c) => c.target === 'container stray').map((c) => c.action),
    ['stop container', 'remove container'],
  );
  for (const i of [1, 2, 3])
    assert.match(
      reasonOf(changes, `legacy-worker:${i}`),
      /^abandoned: no remaining container uses legacy-worker .*; last use unknown/,
    );
  assert.match(
    reasonOf(changes, 'migrator:2024-05'),
    // Within a second of the seed it reads "exited just now": what a person is told then, too.
    /^abandoned: .*last used by container migrate-once \(exited (just now|\d+ (second|minute)s? ago), removed in this plan\)/,
  );
  assert.match(reasonOf(changes, 'scratchpad:dev'), /^abandoned/);
  // The three workers share a layer only they use: its bytes go to the last one removed.
  const workers = changes.filter((c) => c.target.startsWith('legacy-worker:'));
  assert.ok(
    workers.some((c) => /of layers it shared only with images removed before it/.test(c.reason)),
    JSON.stringify(workers),
  );
  assert.ok(
    workers.reduce((sum, c) => sum + c.bytes!, 0) > 2_000_000 + 3 * 530_000,
    'the shared layer is counted once',
  );
  const migrator = changes.find((c) => c.target === 'migrator:2024-05')!;
  assert.match(String(migrator.facts!.lastUsedAt), /^\d{4}-\d\d-\d\dT/);
  assert.is(migrator.facts!.lastUsedBy, 'migrate-once');
  assert.ok(changes.every((c) => Number.isInteger(c.bytes)));
  for (const target of [
    'container pg',
    'container node-exporter',
    'container mariadb',
    'container db',
    'container webhook_api_1',
    'volume pgdata',
    'volume dbdata',
    'postgres:15',
  ])
    assert.not.ok(
      changes.some((c) => c.target === target),
      `${target} is not touched`,
    );
});

test('--yes keeps every data store and running container not listed; abandoned images go; planned and measured bytes agree', async () => {
  const cacheIds = () =>
    (JSON.parse(main.docker(['system', 'df', '-v', '--format', '{{json .}}'])).BuildCache ?? [])
      .map((r: { ID: string }) => r.ID)
      .sort();
  const cacheBefore = cacheIds();
  assert.ok(cacheBefore.length > 1, `the seed left build cache records (${cacheBefore})`);
  const run = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[0]), hostOf(sshd[1])]));
  assert.is(run.code, 0, howItEnded(run));
  // Build cache by record: the plan named each record (id, last used), and exactly those went.
  const cacheItems = (list: Item[]) => list.filter((c) => c.action === 'remove build cache');
  const planned = cacheItems(run.report.changes).map((c) => c.target.split(' ')[2]);
  assert.equal([...planned].sort(), cacheBefore, 'the plan lists every record it removes');
  assert.equal(cacheItems(run.report.applied).length, planned.length);
  for (const c of cacheItems(run.report.changes)) assert.match(c.reason, /^unused since \d{4}-\d\d-\d\dT/);
  assert.equal(cacheIds(), []);
  assert.equal(containers(main), [
    'db exited',
    'mariadb exited',
    'monitoring_config-check_1 exited',
    'monitoring_prometheus_1 running',
    'node-exporter running',
    'pg running',
    'webhook_api_1 running',
    'webhook_api_old2 exited',
    'webhook_api_old3 exited',
    'webhook_api_old4 exited',
  ]);
  const left = images(main);
  assert.ok(left.includes('registry.example:5000/webhook-api:final'), 'protected final stays');
  for (const v of ['1.2', '1.3', '1.4', '1.5'])
    assert.ok(left.includes(`registry.example:5000/webhook-api:${v}`), `rollback image ${v} stays`);
  for (const ref of [
    'postgres:15',
    'prom/node-exporter:v1.8',
    'mariadb:10.11',
    'mariadb:10.6',
    'cleanup-test/busybox:base',
  ])
    assert.ok(left.includes(ref), `${ref} stays`);
  for (const ref of [
    'registry.example:5000/webhook-api:1.1',
    'legacy-worker:1',
    'legacy-worker:2',
    'legacy-worker:3',
    'migrator:2024-05',
    'scratchpad:dev',
    '<none>:<none>',
  ])
    assert.not.ok(left.includes(ref), `${ref} goes`);
  assert.equal(volumes(main), ['dbdata', 'monitoring_prometheus-data', 'old-uploads', 'pgdata']);
  assert.is(
    main
      .docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        'dbdata:/data',
        'cleanup-test/busybox:base',
        'cat',
        '/data/rows',
      ])
      .trim(),
    'precious',
  );
  assert.is(main.docker(['exec', 'pg', 'cat', '/var/lib/postgresql/data/rows']).trim(), 'precious-pg');
  assert.is(readFileSync(join(mariadbData, 'ibdata1'), 'utf8').trim(), 'precious-maria');
  assert.is(
    main
      .docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}'])
      .split('\n')
      .find((l) => l.startsWith('Build Cache')),
    'Build Cache 0',
  );
  assert.equal(volumes(second), []);
  assert.not.ok(images(second).includes('<none>:<none>'));

  const report = run.report;
  assert.ok(report.changes.every((c: Item) => c.reason.length > 10));
  assert.match(reasonOf(report.kept, 'container db'), /protected by label role=database/);
  // Planned and measured by the same count: Docker's own sizes before and after apply.
  const freed = report.figures.find(
    (f: { label: string }) => f.label === `${hostOf(sshd[0])} freed (measured by docker system df)`,
  );
  assert.ok(freed, JSON.stringify(report.figures));
  assert.ok(freed.plannedBytes > 8e6, `planned ${freed.plannedBytes}`);
  assert.ok(Math.abs(freed.measuredBytes - freed.plannedBytes) <= freed.plannedBytes / 10, freed.value);
  assert.match(freed.value, /^[0-9.]+ MB, planned [0-9.]+ MB \(-?[0-9.]+% off the plan\); disk [0-9.]+% now/);
  assert.ok(
    report.checks.some((c: { name: string; passed: boolean }) => c.name === `${hostOf(sshd[0])} disk under 80%`),
  );
  // The audit line: in REPORTS_DIR, and on each pruned host (both log in as cleanup-ops here: one home holds both lines).
  const line = readFileSync(join(dir, 'reports', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .at(-1)!;
  const entry = JSON.parse(line);
  assert.is(entry.task, 'server');
  assert.is(entry.applied, report.summary.applied);
  assert.equal(
    entry.hosts.map((h: { host: string }) => h.host),
    [hostOf(sshd[0]), hostOf(sshd[1])],
  );
  const hostLog = readFileSync('/home/cleanup-ops/.aisha-cleanup/audit.jsonl', 'utf8').split('\n');
  assert.is(hostLog.filter((l) => l === line).length, 2);
  // The report draws each host's disk before and after against the limit; Mermaid's parser takes it.
  const [disk] = report.charts;
  assert.is(disk.id, 'host-disk');
  assert.equal(disk.categories, [hostOf(sshd[0]), hostOf(sshd[1])]);
  assert.equal(
    disk.series.map((s: { name: string }) => s.name),
    ['before', 'after', 'limit 80 %'],
  );
  for (const [i, before] of disk.series[0].values.entries()) assert.ok(disk.series[1].values[i] <= before + 1);
  const markdown = readFileSync(/Report: (\S+)\.json/.exec(run.stderr)![1] + '.md', 'utf8');
  const blocks = mermaidBlocks(markdown);
  assert.is(blocks.length, 1);
  assert.is(await parseMermaid(blocks[0]), 'xychart');
});

test('a second run changes nothing', async () => {
  const run = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[0]), hostOf(sshd[1])]));
  assert.is(run.code, 0, howItEnded(run));
  assert.is(run.report.summary.changes, 0, JSON.stringify(run.report.changes));
});

test('bad hosts are named with what to do; the good host is still cleaned', async () => {
  second.docker(['volume', 'create']);
  const unreachable = `cleanup-ops@127.0.0.1:${await freePort()}`;
  const run = await runTask(
    'tasks/server.ts',
    ['--yes', '--json'],
    env([hostOf(sshd[1]), unreachable, hostOf(sshd[2])]),
  );
  assert.is(run.code, 1);
  assert.match(run.stderr, /127\.0\.0\.1:\d+: the host is unreachable/);
  assert.match(run.stderr, /may not use the Docker socket \(permission denied\)\. Add it to the docker group/);
  assert.equal(volumes(second), [], 'the good host was cleaned');

  const unknownKey = await runTask(
    'tasks/server.ts',
    ['--dry-run'],
    env([hostOf(sshd[0])], { SSH_KNOWN_HOSTS_FILE: sshd[0].emptyKnownHostsFile }),
  );
  assert.is(unknownKey.code, 1);
  assert.match(unknownKey.stderr, /host key is not known.*ssh-keyscan -p \d+ 127\.0\.0\.1/s);
});

test('--host cleans one host of SERVER_HOSTS; an unknown name exits 2 with the known hosts, as a user types it', async () => {
  second.docker(['volume', 'create']);
  main.docker(['volume', 'create']);
  const hosts = [hostOf(sshd[0]), hostOf(sshd[1])];
  const envFile = join(dir, 'server.env');
  writeFileSync(
    envFile,
    Object.entries(env(hosts))
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  const before = snapshot();
  const typed = spawnSync('npm', ['run', 'clean:server', '--', '--host', 'nope', '--env-file', envFile], {
    cwd: process.cwd(),
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  assert.is(typed.status, 2, typed.stderr + typed.stdout);
  assert.match(
    typed.stdout + typed.stderr,
    new RegExp(`--host nope is not one of SERVER_HOSTS\\. Known hosts: ${hosts.join(', ')}\\.`),
  );
  assert.equal(snapshot(), before, 'nothing touched');

  const one = await runTask('tasks/server.ts', ['--yes', '--json', '--host', hosts[1], '--env-file', envFile], {});
  assert.is(one.code, 0, howItEnded(one));
  assert.equal(volumes(second), [], 'the named host is cleaned');
  assert.is(volumes(main).length, 5, 'the other host is not touched');
  assert.ok(one.report.changes.every((c: { host: string }) => c.host === hosts[1]));
  const cleanMain = await runTask(
    'tasks/server.ts',
    ['--yes', '--host', '127.0.0.1:' + sshd[0].target.port, '--env-file', envFile],
    {},
  );
  assert.is(cleanMain.code, 0, howItEnded(cleanMain));
  assert.equal(
    volumes(main),
    ['dbdata', 'monitoring_prometheus-data', 'old-uploads', 'pgdata'],
    'a host named without its user is found too',
  );
});

test('the deploy host is recognised however DEPLOY_HOST spells it: its lock is taken, and a held lock stops its prune', async () => {
  // Outside the test folder (mode 0700): the ssh user takes the lock there.
  const deployDir = mkdtempSync(join(tmpdir(), 'cleanup-server-deploy-'));
  chmodSync(deployDir, 0o777);
  const lock = join(deployDir, '.deploy.lock');
  mkdirSync(lock);
  // Left by a deploy on this machine whose process is gone: reported at once, without a wait.
  const gone = Number(execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim());
  writeFileSync(
    join(lock, 'owner.json'),
    JSON.stringify({
      token: 'planted',
      user: 'someone',
      host: hostname(),
      pid: gone,
      since: new Date().toISOString(),
      ttlSeconds: 14400,
      purpose: 'deploy:clean',
    }),
  );
  const leftover = main.docker(['volume', 'create']).trim();
  // SERVER_HOSTS has the user and 127.0.0.1; DEPLOY_HOST names the same sshd as localhost, without a user.
  const spelled = { DEPLOY_HOST: `localhost:${sshd[0].target.port}`, DEPLOY_DIR: deployDir };
  const blocked = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[0])], spelled));
  assert.is(blocked.code, 1, howItEnded(blocked));
  assert.match(blocked.report.notes.join('\n'), new RegExp(`${hostOf(sshd[0])} is the deploy host`));
  assert.match(
    blocked.stderr,
    new RegExp(
      `taking the deploy lock: the deploy folder \\S+ is locked by someone@\\S+ \\(pid ${gone}, deploy:clean\\)[\\s\\S]*that holder looks gone`,
    ),
  );
  assert.match(
    blocked.stderr,
    /clean:server never takes over the deploy lock: .*npm run deploy:lock -- --release --force/,
  );
  assert.ok(volumes(main).includes(leftover), 'nothing pruned while a deploy holds the lock');
  rmSync(lock, { recursive: true });
  const pruned = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[0])], spelled));
  assert.is(pruned.code, 0, howItEnded(pruned));
  assert.not.ok(volumes(main).includes(leftover), 'pruned once the lock was free');
  assert.not.ok(existsSync(lock), 'the lock it took is released');
  rmSync(deployDir, { recursive: true, force: true });
});

test('on the deploy host, the releases deploy-state.json keeps stay (under any registry name); a deploy-state.json that is not JSON refuses that host', async () => {
  const deployDir = mkdtempSync(join(tmpdir(), 'cleanup-server-releases-'));
  chmodSync(deployDir, 0o755);
  // The deploy recorded the release under DEPLOY_IMAGE's registry name; this host pulled it through an alias.
  build(main, dir, 'registry-alias.example:5000/webhook-api:rel-7', 'release 7 '.repeat(1000));
  const release = {
    image: 'registry.example:5000/webhook-api:rel-7',
    revision: 'rel-7',
    deployedAt: new Date().toISOString(),
  };
  writeFileSync(join(deployDir, 'deploy-state.json'), JSON.stringify({ current: release, previous: [] }));
  const deployHost = { DEPLOY_HOST: hostOf(sshd[0]), DEPLOY_DIR: deployDir };
  const kept = await runTask('tasks/server.ts', ['--dry-run', '--json'], env([hostOf(sshd[0])], deployHost));
  assert.is(kept.code, 0, howItEnded(kept));
  assert.match(
    reasonOf(kept.report.kept, 'registry-alias.example:5000/webhook-api:rel-7'),
    /^release registry-alias\.example:5000\/webhook-api:rel-7, which the deploy keeps for rollback/,
  );
  const elsewhere = await runTask('tasks/server.ts', ['--dry-run', '--json'], env([hostOf(sshd[0])]));
  assert.match(
    reasonOf(elsewhere.report.changes, 'registry-alias.example:5000/webhook-api:rel-7'),
    /^abandoned/,
    'without the deploy host, nothing keeps it',
  );

  writeFileSync(join(deployDir, 'deploy-state.json'), '{"current": ');
  const before = snapshot();
  const refused = await runTask('tasks/server.ts', ['--yes', '--json'], env([hostOf(sshd[0])], deployHost));
  assert.is(refused.code, 1, howItEnded(refused));
  assert.match(
    refused.stderr,
    /deploy-state\.json is not valid JSON \(.*\), so the releases the deploy keeps for rollback are unknown and no image there is safe to remove\. Fix the file/,
  );
  assert.equal(snapshot(), before, 'nothing changed on that host');
  main.docker(['image', 'rm', 'registry-alias.example:5000/webhook-api:rel-7']);
  rmSync(deployDir, { recursive: true, force: true });
});

test.run();
