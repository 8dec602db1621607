/**
 * The inspect of a long list goes in two halves at once (lib/server/state.ts): the halves join
 * into the one JSON array a single `docker … inspect` prints, every object once, in the listed
 * order. Run through a real local runner, with a stand-in for docker that prints what `inspect`
 * prints (a pretty-printed JSON array, one object per argument).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localRunner } from '../lib/runner.ts';
import { listed, SPLIT_INSPECT_AT } from '../lib/server/state.ts';

const printed: number[] = [];
const inspect = (ids: string[]) => {
  printed.push(ids.length);
  return ['node', '-e', 'console.log(JSON.stringify(process.argv.slice(1).map((Id) => ({ Id, Labels: { "a,b": "[x]" } })), null, 4))', ...ids];
};

test('a short list is one inspect', async () => {
  printed.length = 0;
  const ids = ['a', 'b', 'c'];
  assert.equal(
    JSON.parse(await listed(localRunner(), ids, inspect)).map((o: { Id: string }) => o.Id),
    ids,
  );
  assert.equal(printed, [3]);
});

test('a long list is two inspects at once, joined into one array in the listed order', async () => {
  printed.length = 0;
  const ids = Array.from({ length: SPLIT_INSPECT_AT + 51 }, (_, i) => `id-${i}`);
  const objects = JSON.parse(await listed(localRunner(), ids, inspect)) as { Id: string; Labels: Record<string, string> }[];
  assert.equal(printed, [126, 125]);
  assert.equal(
    objects.map((o) => o.Id),
    ids,
  );
  assert.ok(objects.every((o) => o.Labels['a,b'] === '[x]'));
});

test.run();
