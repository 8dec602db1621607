/**
 * Charts for the Markdown report, drawn where it is read (GitHub, GitLab and most editors render
 * fenced `mermaid` blocks), each with a table beside it for those who read numbers. A chart is
 * data first: tasks put it in their plan (the "before") and apply outcome (the "after"), with the
 * same id, and the report draws one chart from both. Mermaid's `xychart-beta`: bars overlap, the
 * later series drawn over the earlier one, so "after" sits inside "before"; a line marks a limit.
 */

export interface ChartSeries {
  name: string;
  /** One value per category, in the chart's unit; null where it was not measured. */
  values: (number | null)[];
  kind: 'bar' | 'line';
}

export interface Chart {
  /** Charts of the same id (plan and apply of one task) are drawn as one. */
  id: string;
  title: string;
  /** The category axis: repositories, hosts, seconds. */
  axis: string;
  /** The value axis, e.g. "MB", "% used", "answers". */
  unit: string;
  categories: string[];
  series: ChartSeries[];
  /** The value axis' top, e.g. 100 for percentages. */
  max?: number;
}

/** Charts of one task: series of charts with the same id join the first of them. */
export function mergeCharts(charts: readonly Chart[]): Chart[] {
  const merged = new Map<string, Chart>();
  for (const chart of charts) {
    const first = merged.get(chart.id);
    if (!first) merged.set(chart.id, { ...chart, series: [...chart.series] });
    else
      for (const series of chart.series)
        first.series.push({
          ...series,
          values: first.categories.map((c) => series.values[chart.categories.indexOf(c)] ?? null),
        });
  }
  // A limit's line is drawn over the bars, whichever half brought it.
  for (const chart of merged.values())
    chart.series.sort((a, b) => Number(a.kind === 'line') - Number(b.kind === 'line'));
  return [...merged.values()];
}

/** Mermaid takes a double-quoted string: no quotes or line breaks inside. */
const label = (text: string) => `"${text.replace(/["\n\r]/g, "'").replace(/[[\]]/g, '')}"`;
const round = (value: number) => Math.round(value * 10) / 10;

export function mermaidChart(chart: Chart): string {
  const top = chart.max ?? Math.max(1, ...chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const lines = [
    '```mermaid',
    'xychart-beta',
    `  title ${label(`${chart.title}: ${chart.series.map((s) => s.name).join(', ')}`)}`,
    `  x-axis ${label(chart.axis)} [${chart.categories.map(label).join(', ')}]`,
    `  y-axis ${label(chart.unit)} 0 --> ${Math.ceil(top * (chart.max ? 1 : 1.1))}`,
    ...chart.series.map((s) => `  ${s.kind} [${s.values.map((v) => (v === null ? 0 : round(v))).join(', ')}]`),
    '```',
  ];
  return lines.join('\n');
}

export function chartTable(chart: Chart): string {
  const rows = chart.categories.map(
    (category, i) =>
      `| ${category.replace(/\|/g, '\\|')} | ${chart.series.map((s) => (s.values[i] === null ? '–' : String(round(s.values[i]!)))).join(' | ')} |`,
  );
  return [
    `| ${chart.axis} | ${chart.series.map((s) => `${s.name} (${chart.unit})`).join(' | ')} |`,
    `|---|${chart.series.map(() => '---:').join('|')}|`,
    ...rows,
  ].join('\n');
}

/** The Markdown of a report's charts: each chart under a heading of `level`, then its table. */
export function chartsMarkdown(charts: readonly Chart[], level: string): string[] {
  return charts.flatMap((chart) => [`${level} ${chart.title}`, '', mermaidChart(chart), '', chartTable(chart), '']);
}

/** At most `limit` categories, the largest by `size`; the rest summed as one "N others". */
export function largest<T>(items: T[], limit: number, size: (item: T) => number): { shown: T[]; others: T[] } {
  const sorted = [...items].sort((a, b) => size(b) - size(a));
  return { shown: sorted.slice(0, limit), others: sorted.slice(limit) };
}

// The report's chart of each host's disk use before the clean-up and after it, against the limit (docker
// system df's view, per host).
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
