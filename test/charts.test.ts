/**
 * The Markdown report's charts, parsed by Mermaid's own parser (test/support/mermaid.ts): the
 * registry's storage per repository from a real run through `npm run` against a real registry on
 * loopback, and the pure chart builders of the hosts' disks and the deploy probe. Each chart has
 * a table beside it with the same numbers.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chartsMarkdown, mergeCharts, mermaidChart } from '../lib/charts.ts';
import { probeChart } from '../lib/deploy/probe-chart.ts';
import { diskChartAfter, diskChartBefore } from '../lib/charts.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { pushImage, type PushedImage } from '../sandbox/fixtures/registry-seed.ts';
import { mermaidBlocks, parseMermaid } from './support/mermaid.ts';
import { npmRun } from './support/npm-run.ts';
import { howItEnded } from './support/run-task.ts';

let registry: TestRegistry;
let reports: string;
const pushed: PushedImage[] = [];

test.before(async () => {
  registry = await startRegistry();
  reports = mkdtempSync(join(tmpdir(), 'cleanup-charts-'));
  const to = { url: registry.url };
  const base = 'base '.repeat(20_000);
  for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'])
    pushed.push(await pushImage(to, 'webhook-api', [version], { layers: [base, `api ${version} `.repeat(20_000)] }));
  pushed.push(await pushImage(to, 'nginx-webhook', ['latest'], { layers: [base, 'nginx'] }));
});

test.after(async () => {
  await registry?.destroy();
  if (reports) rmSync(reports, { recursive: true, force: true });
});

/** The unique blob bytes of some pushed images. */
const bytesOf = (images: PushedImage[]) =>
  [...new Map(images.flatMap((i) => i.blobs.map((b) => [b.digest, b.size] as const))).values()].reduce(
    (n, size) => n + size,
    0,
  );

test('a registry run draws storage per repository before and after, with its table, and Mermaid parses it', async () => {
  const run = await npmRun(resolve('.'), ['clean:registry', '--', '--yes', '--no-gc'], {
    REGISTRY_URL: registry.url,
    REPORTS_DIR: reports,
    REGISTRY_STATE_DIR: join(reports, 'state'),
  });
  assert.is(run.code, 0, howItEnded(run));
  const markdown = readFileSync(
    join(
      reports,
      readdirSync(reports).find((n) => n.endsWith('.md'))!,
    ),
    'utf8',
  );
  const blocks = mermaidBlocks(markdown);
  assert.is(blocks.length, 1);
  assert.is(await parseMermaid(blocks[0]), 'xychart');
  assert.match(blocks[0], /x-axis "repository" \["webhook-api", "nginx-webhook"\]/);
  // The table beside it: before is every image's unique blobs; after keeps the three newest versions.
  const row = (name: string) =>
    new RegExp(`^\\| ${name} \\| ([0-9.]+) \\| ([0-9.]+) \\|$`, 'm').exec(markdown)!.slice(1).map(Number);
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  assert.equal(row('webhook-api'), [mb(bytesOf(pushed.slice(0, 5))), mb(bytesOf(pushed.slice(2, 5)))]);
  assert.equal(row('nginx-webhook'), [mb(bytesOf(pushed.slice(5))), mb(bytesOf(pushed.slice(5)))]);
  assert.match(markdown, /\| repository \| before \(MB\) \| after the plan \(MB\) \|/);
});

test('the disk chart joins the plan and apply halves, draws the limit line last, and Mermaid parses it', async () => {
  const before = diskChartBefore(
    new Map([
      ['ops@127.0.0.1:2222', 91.5],
      ['web "2"', 40],
    ]),
    80,
  );
  const after = diskChartAfter(['ops@127.0.0.1:2222', 'web "2"'], new Map([['ops@127.0.0.1:2222', 62.25]]));
  const [chart] = mergeCharts([before, after]);
  assert.equal(
    chart.series.map((s) => [s.name, s.kind, s.values]),
    [
      ['before', 'bar', [91.5, 40]],
      ['after', 'bar', [62.25, null]],
      ['limit 80 %', 'line', [80, 80]],
    ],
  );
  const text = mermaidChart(chart);
  assert.is(await parseMermaid(mermaidBlocks(text + '\n')[0]), 'xychart');
  assert.match(text, /y-axis "% used" 0 --> 100/);
  const markdown = chartsMarkdown([chart], '###').join('\n');
  assert.match(markdown, /^\| ops@127\.0\.0\.1:2222 \| 91\.5 \| 62\.3 \| 80 \|$/m);
  assert.match(markdown, /^\| web "2" \| 40 \| – \| 80 \|$/m, 'a host not pruned has no "after"');
});

test('the deploy probe is drawn per second (wider slices for a long deploy), and Mermaid parses it', async () => {
  const samples = [
    { at: 100, ok: true },
    { at: 600, ok: true },
    { at: 1100, ok: false },
    { at: 1500, ok: false },
    { at: 2100, ok: true },
  ];
  const chart = probeChart(samples, 0, 2500);
  assert.equal(chart.categories, ['0', '1', '2']);
  assert.equal(chart.series[0].values, [0, 2, 0]);
  assert.equal(chart.series[1].values, [2, 0, 1]);
  assert.is(await parseMermaid(mermaidBlocks(mermaidChart(chart) + '\n')[0]), 'xychart');
  const long = probeChart([{ at: 250_000, ok: true }], 0, 600_000);
  assert.is(long.categories.length, 60);
  assert.is(long.categories[1], '10');
  assert.is(long.series[1].values[25], 1);
});

test('the parser is real: a malformed chart is rejected', async () => {
  let error: unknown;
  try {
    await parseMermaid('xychart-beta\n  x-axis ["a" "b"]\n  bar [1,]\n');
  } catch (caught) {
    error = caught;
  }
  assert.match(String(error), /Parse error/);
});

test.run();
