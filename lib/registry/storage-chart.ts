/** The report's chart of the registry's storage per repository, before the plan and after it (Harbor's per-repository view). */
import { largest, type Chart } from '../charts.ts';

export interface RepositoryStorage {
  repository: string;
  /** Unique blobs of every tagged image of the repository, in bytes (a blob shared with another repository counts in both). */
  before: number;
  /** The same for the images it keeps. */
  after: number;
}

/** The twelve largest repositories are drawn by name; the others are summed into one bar. */
const SHOWN = 12;

export function storageChart(rows: RepositoryStorage[]): Chart {
  const { shown, others } = largest(rows, SHOWN, (r) => r.before);
  const sum = (key: 'before' | 'after') => others.reduce((n, r) => n + r[key], 0);
  const categories = [...shown.map((r) => r.repository), ...(others.length ? [`${others.length} others`] : [])];
  const series = (key: 'before' | 'after') => [
    ...shown.map((r) => r[key] / 1e6),
    ...(others.length ? [sum(key) / 1e6] : []),
  ];
  return {
    id: 'registry-storage',
    title: 'Registry storage per repository',
    axis: 'repository',
    unit: 'MB',
    categories,
    series: [
      { name: 'before', kind: 'bar', values: series('before') },
      { name: 'after the plan', kind: 'bar', values: series('after') },
    ],
  };
}
