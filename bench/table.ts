/** The one table `npm run bench` prints (and writes as Markdown): each figure against its ceiling. */
import { markdownRows } from '../lib/report.ts';

export interface Row {
  figure: string;
  ours: string;
  /** The ceiling or the peer it is measured against ('' when the figure stands alone). */
  ceiling: string;
  /** ours / ceiling (or the figure's own ratio); undefined when there is none. */
  ratio?: number;
  target: string;
  /** undefined: reported, no target. */
  met?: boolean;
  /** How far off a missed target is, or what else to know. */
  note?: string;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

/** A ratio row: met when ratio <= limit; when missed, says by how much. */
export function ratioRow(figure: string, ours: string, ceiling: string, ratio: number, limit: number, note = ''): Row {
  const met = ratio <= limit;
  const miss = met ? '' : `missed by ${((ratio / limit - 1) * 100).toFixed(0)}%`;
  return { figure, ours, ceiling, ratio, target: `<= ${limit}x`, met, note: [miss, note].filter(Boolean).join('; ') };
}

function cells(row: Row): string[] {
  return [
    row.figure,
    row.ours,
    row.ceiling,
    row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x`,
    row.target,
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
    row.note ?? '',
  ];
}

const HEADER = ['figure', 'ours', 'ceiling or peer', 'ratio', 'target', 'met?', 'note'];

export function markdownTable(rows: Row[]): string {
  return markdownRows(HEADER, rows.map(cells)) + '\n';
}

/** Plain columns for the terminal. */
export function textTable(rows: Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((c) => c[i].length)));
  return (
    all
      .map((c) =>
        c
          .map((x, i) => x.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
