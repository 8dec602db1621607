/**
 * The deploy bench's reading of what it cannot ask the deploy for: the downtime line of the
 * deploy's report (it must parse whatever describeDowntime prints, so a reworded line fails here,
 * not silently in the bench), the files a compose file ships, and the time containers took to stop.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { composeInputs, parseDowntime, stoppingMs } from '../bench/deploy.ts';
import { describeDowntime } from '../lib/deploy/downtime.ts';
import { COMPOSE } from '../sandbox/fixtures/backend-sample.ts';

test('the downtime the deploy reports is read back exactly, from its line or its --json report', () => {
  const measured = { url: 'http://127.0.0.1:8080/health', everyMs: 20, requests: 678, failed: 8, longestGapMs: 402 };
  // What the line says after the counts (the first failure's answer) is not the bench's to read.
  const line = describeDowntime({ ...measured, firstFailure: 'answered 502 after 2000 ms' });
  assert.equal(parseDowntime(line), measured, line);
  const report = JSON.stringify({ figures: [{ label: 'downtime', value: line }] });
  assert.equal(parseDowntime(report), measured, 'inside the JSON report');
  assert.is(parseDowntime('deploy: 10 changes, nothing measured'), undefined);
});

test("a line without the probe's period still gives its counts (the period 0: unknown)", () => {
  const line = '0 of 250 requests to http://127.0.0.1:1/health failed; longest gap without a good answer 40 ms';
  assert.equal(parseDowntime(line), {
    url: 'http://127.0.0.1:1/health',
    everyMs: 0,
    requests: 250,
    failed: 0,
    longestGapMs: 40,
  });
});

test("the bare side ships the compose file's env_file and its ./ bind sources, in either volume syntax", () => {
  assert.equal(composeInputs(COMPOSE).sort(), ['.env.prod', 'nginx/conf.d', 'ssl']);
  const other = 'services:\n  a:\n    env_file: [one.env, two.env]\n    volumes: [data:/data, /abs:/abs, ./x:/x:ro]\n';
  assert.equal(composeInputs(other).sort(), ['one.env', 'two.env', 'x']);
});

test("a container's stop is its first kill to its die; one never killed costs nothing", () => {
  const events: [number, string][] = [
    [100, 'pull webhook-api:abc'],
    [1_000, 'kill webhook_api_1'],
    [11_000, 'kill webhook_api_1'],
    [11_020, 'die webhook_api_1'],
    [11_050, 'start webhook_api_1'],
    [12_000, 'die one-off'],
  ];
  assert.is(stoppingMs(events), 10_020);
  assert.is(stoppingMs([]), 0);
});

test.run();
