/**
 * How alike two scripts are: the share of their meaningful lines (blank lines and comments
 * aside) that they have in common, and a short line diff for showing a MERGE pair.
 */
function meaningful(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !line.startsWith('//'));
}

/** Lines in common over the lines of the larger script, 0..1 (1: the same once comments are set aside; 0 when either has none). */
export function overlap(a: string, b: string): number {
  const left = meaningful(a);
  const right = meaningful(b);
  if (!left.length || !right.length) return 0; // nothing to compare is not sameness
  const counts = new Map<string, number>();
  for (const line of right) counts.set(line, (counts.get(line) ?? 0) + 1);
  let common = 0;
  for (const line of left) {
    const n = counts.get(line) ?? 0;
    if (n > 0) {
      common++;
      counts.set(line, n - 1);
    }
  }
  return common / Math.max(left.length, right.length);
}

/** Lines only in `a` (-) and only in `b` (+), in order: enough to judge a near-duplicate. */
export function lineDiff(a: string, b: string): string[] {
  const left = a.split('\n');
  const right = b.split('\n');
  const inRight = new Set(right);
  const inLeft = new Set(left);
  return [...left.filter((l) => !inRight.has(l)).map((l) => `- ${l}`), ...right.filter((l) => !inLeft.has(l)).map((l) => `+ ${l}`)];
}
