import prettyBytes from 'pretty-bytes';

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
