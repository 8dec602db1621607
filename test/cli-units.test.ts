/** Pure pieces of the command line, without I/O: flags, npm's variables, settings, plan totals, report figures. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flagsTakenByNpm, parseFlags } from '../lib/cli.ts';
import { groupChanges, placeOf, totalLine, emptyPlan, type Change } from '../lib/plan.ts';
import { formatBytes, parseBytes } from '../lib/units.ts';
import { numericFigure } from '../lib/report.ts';
import { hostProblem, setting } from '../lib/settings.ts';
import { unknownSettings } from '../lib/settings-read.ts';

const change = (action: string, target: string, bytes: number, host?: string): Change => ({
  action,
  target,
  reason: 'r',
  bytes,
  op: undefined,
  ...(host ? { host } : {}),
});

test('npm_config_dry_run makes a dry run whatever else is given; other flags npm took are named', () => {
  const options = parseFlags(['--yes'], {}, { npm_config_dry_run: 'true' }, 'clean:registry');
  assert.is(options.dryRun, true);
  assert.is(options.yes, false);
  assert.match(options.notice!, /dry run wins/);
  assert.equal(
    flagsTakenByNpm(['yes', 'json', 'force', 'check', 'dry-run'], {
      npm_config_yes: '',
      npm_config_json: 'true',
      npm_config_force: 'true',
      npm_config_dry_run: 'true',
    }),
    ['json', 'force'],
  );
  assert.throws(
    () => parseFlags([], {}, { npm_config_force: 'true' }, 'clean:registry'),
    /npm run clean:registry -- --force/,
  );
  assert.is(parseFlags(['--settings-file', 'x.env'], {}, {}).envFile, 'x.env');
  assert.throws(() => parseFlags(['--dry-rn'], {}, {}), /Unknown option '--dry-rn'/);
});

test('host specs: local and [user@]host[:port]; not a space, a port out of range, or a leading dash', () => {
  for (const good of ['local', 'prod-1.example', 'aisha@prod-1.example:2222', 'root@[::1]:22'])
    assert.is(hostProblem(good), undefined, good);
  for (const bad of ['prod 1', 'aisha@host:99999', '-oProxyCommand=sh', 'a@b@c']) assert.ok(hostProblem(bad), bad);
});

test('settings builders: regex compiled, URL scheme required, negative count refused, examples given', () => {
  assert.match((setting.regex('r').parse('(unclosed') as { problem: string }).problem, /not a regular expression/);
  assert.ok((setting.regex('r').parse('^test-') as { value: RegExp }).value.test('test-1'));
  assert.match((setting.url('u').parse('127.0.0.1:5000') as { problem: string }).problem, /scheme is missing/);
  assert.match((setting.int('n', 3, { min: 0 }).parse('-1') as { problem: string }).problem, /at least 0/);
  assert.is(setting.int('n', 3, { min: 0 }).example, '3');
  assert.match((setting.urlList('u').parse('http://a/x, b/y') as { problem: string }).problem, /b\/y/);
  assert.match((setting.command('c').parse('echo "x') as { problem: string }).problem, /unclosed/);
});

test('unknown setting names get the nearest known one', () => {
  const known = new Set(['REGISTRY_CONCURRENCY', 'REGISTRY_URL', 'SERVER_HOSTS']);
  assert.equal(
    unknownSettings(['REGISTRY_CONCURENCY', 'SERVER_HOST', 'REGISTRY_URL', 'TOTALLY_ELSE_ENTIRELY'], known),
    [
      { key: 'REGISTRY_CONCURENCY', nearest: 'REGISTRY_CONCURRENCY' },
      { key: 'SERVER_HOST', nearest: 'SERVER_HOSTS' },
      { key: 'TOTALLY_ELSE_ENTIRELY' },
    ],
  );
});

test('changes group by action and place (host, repository, folder), sorted; the total line counts them', () => {
  const changes = [
    change('delete manifest', 'webhook-api@sha256:bb (:test-2)', 2000),
    change('delete manifest', 'nginx-webhook@sha256:aa (:debug)', 1000),
    change('delete manifest', 'webhook-api@sha256:aa (:test-10)', 3000),
    change('remove container', 'old-1', 0, 'prod-1'),
    change('git rm', 'api_server/app_LEGACY/', 0),
  ];
  assert.equal(placeOf(changes[0]), { kind: 'repository', name: 'webhook-api' });
  assert.equal(placeOf(changes[3]), { kind: 'host', name: 'prod-1' });
  assert.equal(placeOf(changes[4]), { kind: 'folder', name: 'api_server' });
  const groups = groupChanges(changes);
  assert.equal(
    groups.map((g) => `${g.action} ${g.place.name} ${g.items.length}`),
    [
      'delete manifest nginx-webhook 1',
      'delete manifest webhook-api 2',
      'git rm api_server 1',
      'remove container prod-1 1',
    ],
  );
  assert.equal(
    groups[1].items.map((c) => c.target),
    ['webhook-api@sha256:aa (:test-10)', 'webhook-api@sha256:bb (:test-2)'],
  );
  const registry = {
    ...emptyPlan('registry'),
    changes: changes.slice(0, 3),
    kept: [{ target: 'webhook-api:final', reason: 'protected' }],
  };
  assert.is(totalLine([registry]), 'Plan: 3 changes (3 delete manifest) in 2 repositories, 6 kB to reclaim; 1 kept');
  const big = {
    ...emptyPlan('registry'),
    changes: Array.from({ length: 4930 }, (_, i) => change('delete tag', `repo-${i % 18}:t${i}`, 8377)),
  };
  assert.is(
    totalLine([big, registry]),
    'Plan: 4,933 changes (4,930 delete tag, 3 delete manifest) in 20 repositories, 41.3 MB to reclaim; 1 kept',
  );
  assert.is(totalLine([emptyPlan('x')]), 'Plan: nothing to change; 0 kept');
  const chain = {
    ...emptyPlan('all'),
    changes: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((action, i) => change(action, `dir/${action}`, i)),
  };
  assert.is(
    totalLine([chain]),
    'Plan: 7 changes (1 a, 1 b, 1 c, 1 d, 1 e, 2 more (2 other actions)) in 1 folder, 21 B to reclaim; 0 kept',
  );
});

test('bytes print in decimal units with at most three digits, and parse back', () => {
  assert.equal([0, 999, 6000, 41_300_000, 1_200_000_000, 5e9, -1.2e9, Number.NaN].map(formatBytes), [
    '0 B',
    '999 B',
    '6 kB',
    '41.3 MB',
    '1.2 GB',
    '5 GB',
    '-1.2 GB',
    '?',
  ]);
  assert.equal(['5GB', '500 MB', '1.5GiB', '1024', '5 parsecs'].map(parseBytes), [
    5e9,
    5e8,
    1_610_612_736,
    1024,
    undefined,
  ]);
});

test('report figures carry their numbers: bytes as integers, percentages, counts', () => {
  assert.equal(numericFigure({ label: 'size', value: '41.3 MB' }), {
    label: 'size',
    value: '41.3 MB',
    bytes: 41_300_000,
  });
  assert.equal(numericFigure({ label: 'disk', value: '62.5%' }), { label: 'disk', value: '62.5%', percent: 62.5 });
  assert.equal(numericFigure({ label: 'tags', value: '1,204' }), { label: 'tags', value: '1,204', count: 1204 });
  assert.equal(numericFigure({ label: 'where', value: 'prod-1' }), { label: 'where', value: 'prod-1' });
});

test.run();
