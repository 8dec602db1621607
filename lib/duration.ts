import prettyMs from 'pretty-ms';

/** Durations for people, in their largest whole unit: "21 days", "5 hours"; exact times belong in the JSON report. */
export function formatDuration(ms: number): string {
  const size = Math.abs(ms);
  return size < 1000 ? 'less than a second' : prettyMs(size, { verbose: true, unitCount: 1, secondsDecimalDigits: 0 });
}

/** "21 days ago", relative to `now`. */
export function ago(time: number, now: number): string {
  return now - time < 1000 ? 'just now' : `${formatDuration(now - time)} ago`;
}
