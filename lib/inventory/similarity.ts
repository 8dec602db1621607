/**
 * How alike two scripts are: the share of their meaningful lines (blank lines and comments
 * aside) that they have in common, and a short line diff for showing a MERGE pair.
 */
/** A script's lines once trimmed, blank lines and comments aside: what two scripts can share. */
export function meaningful(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !line.startsWith('//'));
}

/** A script's meaningful lines, counted: what `overlap` compares, computed once per file. */
export interface LineCounts {
  counts: Map<string, number>;
  total: number;
}

export function lineCounts(text: string): LineCounts {
  const lines = meaningful(text);
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return { counts, total: lines.length };
}

/** Lines in common (each as often as both have it) over the lines of the larger script, 0..1. */
export function overlapOf(a: LineCounts, b: LineCounts): number {
  if (!a.total || !b.total) return 0; // nothing to compare is not sameness
  let common = 0;
  for (const [line, n] of a.counts) common += Math.min(n, b.counts.get(line) ?? 0);
  return common / Math.max(a.total, b.total);
}

/** Lines in common over the lines of the larger script, 0..1 (1: the same once comments are set aside; 0 when either has none). */
export function overlap(a: string, b: string): number {
  return overlapOf(lineCounts(a), lineCounts(b));
}

/** Lines only in `a` (-) and only in `b` (+), in order: enough to judge a near-duplicate. */
export function lineDiff(a: string, b: string): string[] {
  const left = a.split('\n');
  const right = b.split('\n');
  const inRight = new Set(right);
  const inLeft = new Set(left);
  return [
    ...left.filter((l) => !inRight.has(l)).map((l) => `- ${l}`),
    ...right.filter((l) => !inLeft.has(l)).map((l) => `+ ${l}`),
  ];
}
