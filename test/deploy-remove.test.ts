import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeUnlessGone } from '../lib/deploy/deployer.ts';
import { CommandFailed, localRunner } from '../lib/runner.ts';

const runner = localRunner();
const answering = (stderr: string, code: number) => ['sh', '-c', `echo "${stderr}" >&2; exit ${code}`];

test('a removal that succeeds adds no note', async () => {
  const outcome = { notes: [] as string[] };
  await removeUnlessGone(runner, answering('', 0), /No such container/i, outcome);
  assert.equal(outcome.notes, []);
});

test('a container already gone (the server task removed it first in clean:all) counts as done, with a note', async () => {
  const outcome = { notes: [] as string[] };
  await removeUnlessGone(
    runner,
    answering('Error response from daemon: No such container: 890e8552', 1),
    /No such container/i,
    outcome,
  );
  assert.is(outcome.notes.length, 1);
  assert.match(outcome.notes[0], /already gone \(removed earlier in this run\)/);
});

test('any other failure still fails, with the command and its message', async () => {
  const outcome = { notes: [] as string[] };
  try {
    await removeUnlessGone(
      runner,
      answering('Error response from daemon: conflict: unable to remove repository reference', 1),
      /No such image/i,
      outcome,
    );
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, CommandFailed);
    assert.match((error as Error).message, /unable to remove repository reference/);
  }
  assert.equal(outcome.notes, []);
});

test.run();
