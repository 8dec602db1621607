/** The report's chart of the deploy probe over time: good and failed answers of the front, per slice of the deploy. */
import type { Chart } from '../charts.ts';
import type { Sample } from './downtime.ts';

/** About this many slices: a minute-long deploy is drawn per second, a long one in wider slices. */
const SLICES = 60;

/** Pure: `samples` taken between `started` and `ended` (ms, the same clock) counted per slice. */
export function probeChart(samples: Sample[], started: number, ended: number): Chart {
  const seconds = Math.max(1, Math.ceil((ended - started) / 1000));
  const width = Math.max(1, Math.ceil(seconds / SLICES));
  const slices = Math.ceil(seconds / width);
  const good = new Array<number>(slices).fill(0);
  const failed = new Array<number>(slices).fill(0);
  for (const sample of samples) {
    const slice = Math.min(slices - 1, Math.max(0, Math.floor((sample.at - started) / 1000 / width)));
    (sample.ok ? good : failed)[slice]++;
  }
  return {
    id: 'deploy-probe',
    title: `Deploy probe over time (answers per ${width} s)`,
    axis: 'seconds since apply began',
    unit: 'answers',
    categories: good.map((_, i) => String(i * width)),
    series: [
      { name: 'failed answers', kind: 'bar', values: failed },
      { name: 'good answers', kind: 'line', values: good },
    ],
  };
}
