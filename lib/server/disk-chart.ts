/** The report's chart of each host's disk use before the clean-up and after it, against the limit (docker system df's view, per host). */
import type { Chart, ChartSeries } from '../charts.ts';

/** Both halves are one chart (lib/charts.ts joins them by id). */
function diskChart(hosts: string[], series: ChartSeries[]): Chart {
  return {
    id: 'host-disk',
    title: 'Disk use of each host',
    axis: 'host',
    unit: '% used',
    max: 100,
    categories: hosts,
    series,
  };
}

/** The plan's half: use now, and the limit as a line. */
export function diskChartBefore(used: Map<string, number>, limitPercent: number): Chart {
  const hosts = [...used.keys()];
  return diskChart(hosts, [
    { name: 'before', kind: 'bar', values: hosts.map((h) => used.get(h)!) },
    { name: `limit ${limitPercent} %`, kind: 'line', values: hosts.map(() => limitPercent) },
  ]);
}

/** Apply's half: use measured after the host was pruned (a host not pruned has none). */
export function diskChartAfter(hosts: string[], used: Map<string, number>): Chart {
  return diskChart(hosts, [{ name: 'after', kind: 'bar', values: hosts.map((h) => used.get(h) ?? null) }]);
}
