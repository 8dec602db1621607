/**
 * ops/systemd: the timers and services are units systemd accepts (`systemd-analyze verify`,
 * `systemd-analyze calendar`), each runs an npm script this project has with flags that script
 * takes (its own --help, through npm run), and the crontab runs the same commands at the same times.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { npmRun } from './support/npm-run.ts';
import { howItEnded } from './support/run-task.ts';

const project = resolve('.');
const folder = join(project, 'ops', 'systemd');
const scripts = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).scripts as Record<string, string>;

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit syntax as far as these files use it: sections, Key=Value (repeatable), comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) section = unit[header[1]] ??= {};
    else {
      const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (!pair || !section) throw new Error(`not a unit line: ${line}`);
      (section[pair[1]] ??= []).push(pair[2]);
    }
  }
  return unit;
}

const files = readdirSync(folder);
const units = (suffix: string) => files.filter((f) => f.endsWith(suffix)).sort();
const read = (name: string) => parseUnit(readFileSync(join(folder, name), 'utf8'));

/** `npm run --silent SCRIPT -- FLAGS` → the script and its flags. */
function npmCommand(line: string): { script: string; flags: string[] } {
  const match = /npm run --silent (\S+) -- ((?:--[a-z-]+ ?)+)/.exec(line);
  if (!match) throw new Error(`not an npm run command: ${line}`);
  return { script: match[1], flags: match[2].trim().split(' ') };
}

/** The systemd calendar of a simple cron schedule (minute hour * * dow). */
function calendarOf(cron: string): string {
  const [minute, hour, , , dow] = cron.split(/\s+/);
  const day = dow === '*' ? '' : `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][Number(dow)]} `;
  return `${day}*-*-* ${hour.padStart(2, '0')}:${minute.padStart(2, '0')}:00`;
}

test('there is a timer and a service for each of the three runs, each timer beside its service', () => {
  assert.equal(units('.timer'), [
    'aisha-cleanup-check.timer',
    'aisha-cleanup-collect.timer',
    'aisha-cleanup-registry.timer',
  ]);
  assert.equal(
    units('.service'),
    units('.timer').map((t) => t.replace(/\.timer$/, '.service')),
  );
  const runs = units('.service').map((name) => read(name).Service.ExecStart.join(' '));
  assert.equal(runs.sort(), [
    '/usr/bin/npm run --silent clean:all -- --check',
    '/usr/bin/npm run --silent clean:registry -- --yes',
    '/usr/bin/npm run --silent clean:registry -- --yes --no-gc',
  ]);
});

test('systemd accepts the units and their calendars', () => {
  const verify = spawnSync('systemd-analyze', ['verify', ...files.filter((f) => /\.(service|timer)$/.test(f))], {
    cwd: folder,
    encoding: 'utf8',
  });
  if (verify.error) {
    // No systemd here: the parse above and below still hold; say so instead of passing silently.
    console.warn('systemd-analyze is not installed: units only parsed');
    return;
  }
  assert.is(verify.status, 0, verify.stderr);
  assert.is(verify.stderr.trim(), '');
  for (const timer of units('.timer')) {
    const unit = read(timer);
    assert.equal(unit.Install.WantedBy, ['timers.target']);
    assert.equal(unit.Timer.Persistent, ['true']);
    const calendar = spawnSync('systemd-analyze', ['calendar', unit.Timer.OnCalendar[0]], { encoding: 'utf8' });
    assert.is(calendar.status, 0, calendar.stderr);
  }
  for (const service of units('.service')) {
    const unit = read(service);
    assert.equal(unit.Service.Type, ['oneshot']);
    const { script } = npmCommand(unit.Service.ExecStart[0]);
    // --check ends with 3 when changes are pending: the notification says so, the unit has not failed.
    assert.equal(unit.Service.SuccessExitStatus ?? [], script === 'clean:all' ? ['3'] : []);
  }
});

test('each unit runs a script of package.json with flags that script takes', async () => {
  // One --help per script, however many units run it.
  const helps = new Map<string, ReturnType<typeof npmRun>>();
  for (const service of units('.service')) {
    const { script, flags } = npmCommand(read(service).Service.ExecStart[0]);
    assert.ok(scripts[script], `${service}: no npm script ${script}`);
    if (!helps.has(script)) helps.set(script, npmRun(project, [script, '--', '--help'], {}));
    const help = await helps.get(script)!;
    assert.is(help.code, 0, howItEnded(help));
    for (const flag of flags)
      assert.match(help.stdout, new RegExp(`^\\s+(-[a-z], )?${flag}\\b`, 'm'), `${service}: ${flag}`);
  }
});

test('the crontab runs the same commands at the times the timers fire', () => {
  const lines = readFileSync(join(folder, 'crontab'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'));
  const cron = lines.map((line) => {
    const fields = line.trim().split(/\s+/);
    const command = npmCommand(line);
    return `${calendarOf(fields.slice(0, 5).join(' '))} ${command.script} ${command.flags.join(' ')}`;
  });
  const timers = units('.timer').map((timer) => {
    const command = npmCommand(read(timer.replace(/\.timer$/, '.service')).Service.ExecStart[0]);
    return `${read(timer).Timer.OnCalendar[0]} ${command.script} ${command.flags.join(' ')}`;
  });
  assert.equal(cron.sort(), timers.sort());
});

test.run();
