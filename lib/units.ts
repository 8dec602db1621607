/** Bytes and durations as people read them, and as docker and the settings write them. */
import prettyBytes from 'pretty-bytes';
import prettyMs from 'pretty-ms';

/** Decimal units, as `docker` and `df -H` print them, so figures can be compared by eye (pretty-bytes). */
export function formatBytes(bytes: number): string {
  return Number.isFinite(bytes) ? prettyBytes(bytes) : '?';
}

/**
 * Parses `5GB`, `500 MB`, `1.5GiB`, `1024` (bytes) into a byte count; undefined when unparsable.
 * Written here because the parsers on npm read `kB` as 1024 bytes; settings use decimal units
 * as docker does, and the binary ones only when named (`KiB`).
 */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase().replace(/b$/, '');
  const binary = unit.endsWith('i');
  const power = ['', 'k', 'm', 'g', 't'].indexOf(binary ? unit.slice(0, -1) : unit);
  if (power < 0) return undefined;
  return Math.round(value * (binary ? 1024 : 1000) ** power);
}

/** Durations for people, in their largest whole unit: "21 days", "5 hours"; exact times belong in the JSON report. */
export function formatDuration(ms: number): string {
  const size = Math.abs(ms);
  return size < 1000 ? 'less than a second' : prettyMs(size, { verbose: true, unitCount: 1, secondsDecimalDigits: 0 });
}

/** "21 days ago", relative to `now`. */
export function ago(time: number, now: number): string {
  return now - time < 1000 ? 'just now' : `${formatDuration(now - time)} ago`;
}
