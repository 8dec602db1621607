const units = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Decimal units, as `docker` and `df -H` print them, so figures can be compared by eye. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${sign}${value.toFixed(digits)} ${units[unit]}`;
}

/** Parses `5GB`, `500 MB`, `1.5GiB`, `1024` (bytes) into a byte count; undefined when unparsable. */
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
