/**
 * The limits on work in flight come from p-map and p-limit; these are the edges the tasks rely on
 * that the libraries' defaults would not give: every item finished before a failure is thrown,
 * the first failure in input order (not in time, not an AggregateError), and the cap held.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mapLimit, mapLimitAll } from '../lib/concurrency.ts';

test('mapLimit keeps the input order, holds the cap, and reports each failure beside the rest', async () => {
  let running = 0;
  let most = 0;
  const results = await mapLimit([30, 10, 20, 5, 15], 2, async (ms, i) => {
    most = Math.max(most, ++running);
    await sleep(ms);
    running--;
    if (i === 1) throw new Error('second');
    return ms * 2;
  });
  assert.is(most, 2);
  assert.equal(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [60, 'second', 40, 10, 30],
  );
});

test('mapLimitAll finishes every item, then throws the first failure in input order as it was', async () => {
  const finished: number[] = [];
  const thrown = await mapLimitAll([0, 1, 2, 3], 4, async (i) => {
    await sleep(i === 0 ? 40 : 5);
    finished.push(i);
    if (i === 0 || i === 2) throw new Error(`item ${i}`);
    return i;
  }).catch((error: unknown) => error);
  assert.instance(thrown, Error);
  assert.not.instance(thrown, AggregateError);
  assert.is((thrown as Error).message, 'item 0');
  assert.equal(finished.sort(), [0, 1, 2, 3]);
});

test('one p-limit budget shared by nested loops starts work in the order asked', async () => {
  const request = pLimit(1);
  const order: string[] = [];
  await mapLimitAll(['a', 'b'], 2, (repo) =>
    Promise.all([1, 2].map((tag) => request(async () => void order.push(`${repo}${tag}`)))),
  );
  assert.equal(order, ['a1', 'a2', 'b1', 'b2']);
});

test.run();
