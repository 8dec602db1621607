/** Durations for people: "3 weeks", "5 hours", "just now"; exact times belong in the JSON report. */
const units: [string, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** The largest whole unit of a duration in milliseconds: 1_900_000_000 → "3 weeks". */
export function formatDuration(ms: number): string {
  for (const [name, size] of units) {
    const count = Math.floor(Math.abs(ms) / size);
    if (count >= 1) return `${count} ${name}${count === 1 ? '' : 's'}`;
  }
  return 'less than a second';
}

/** "3 weeks ago", relative to `now`. */
export function ago(time: number, now: number): string {
  return now - time < 1000 ? 'just now' : `${formatDuration(now - time)} ago`;
}
