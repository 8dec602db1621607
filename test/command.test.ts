/**
 * Commands shown to a person or written into a POSIX script (RESTORE.sh) are quoted for sh,
 * not bash: dash must read every awkward word back exactly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commandLine, parseCommandSetting, quotePosix } from '../lib/command.ts';
import { localRunner } from '../lib/runner.ts';

const awkward = ["it's", 'a b', '$HOME', '', '`id`', '*', 'a\nb', '\\', '"q"', '--', ';rm -rf /', '-rf'];

test('quotePosix leaves plain words alone and single-quotes the rest', () => {
  assert.is(quotePosix('docker'), 'docker');
  assert.is(quotePosix('--format={{json .}}'), `'--format={{json .}}'`);
  assert.is(quotePosix("it's"), `'it'\\''s'`);
  assert.is(quotePosix(''), "''");
  assert.is(commandLine(['docker', 'rm', 'a b']), `docker rm 'a b'`);
});

test('dash reads a commandLine back word for word', async () => {
  const { stdout } = await localRunner().run(['dash', '-c', commandLine(['printf', '%s\\0', ...awkward])]);
  assert.equal(stdout.split('\0').slice(0, -1), awkward);
});

test('a command setting read back from its shown line is the same argv', () => {
  const command = ['docker', 'run', '--rm', '-v', '/srv/registry:/var/lib/registry', 'registry:2', "it's", 'a b'];
  assert.equal(parseCommandSetting(commandLine(command), 'X'), command);
});

test('a command setting keeps what only a shell would expand, and refuses what only a shell would act on', () => {
  assert.equal(parseCommandSetting(`sh -c 'gc $CONFIG' $HOME "$HOME" *.json a\\#b "" x\\ y`, 'X'), [
    'sh',
    '-c',
    'gc $CONFIG',
    '$HOME',
    '$HOME',
    '*.json',
    'a#b',
    '',
    'x y',
  ]);
  // Where shell-quote differs from sh (sh would expand ${X}; in double quotes it drops the \ before `).
  assert.equal(parseCommandSetting('${X} "\\`"', 'X'), ['$X', '\\`']);
  assert.throws(
    () => parseCommandSetting(`docker restart 'registry`, 'GC'),
    /^GC has an unclosed ' quote: docker restart 'registry$/,
  );
  assert.throws(() => parseCommandSetting(`a 'b "c" d`, 'GC'), /GC has an unclosed ' quote/);
  assert.throws(() => parseCommandSetting(`a "it's`, 'GC'), /GC has an unclosed " quote/);
  assert.throws(
    () => parseCommandSetting('gc | tee log', 'GC'),
    /GC has the shell operator \|: gc \| tee log\. The command runs without a shell/,
  );
  assert.throws(() => parseCommandSetting('gc 2>&1', 'GC'), /GC has the shell operator >&/);
  assert.throws(() => parseCommandSetting('gc #now', 'GC'), /GC has a # comment/);
});

test.run();
