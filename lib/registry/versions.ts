/**
 * Version tags: `1.4.2`, `v2.0`, `1.0.0-rc.1`. A tag needs at least major.minor to count as a
 * version, so build numbers (`42`) and dates (`20241211`) are ordered by creation date instead.
 */
export interface Version {
  numbers: number[];
  prerelease: string[];
}

const pattern = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(tag: string): Version | undefined {
  const match = pattern.exec(tag);
  if (!match) return undefined;
  return { numbers: [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)], prerelease: match[4] ? match[4].split('.') : [] };
}

/** Semver precedence: numbers, then a release above its prereleases, then prerelease fields. */
export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a.numbers[i] !== b.numbers[i]) return a.numbers[i] - b.numbers[i];
  if (!a.prerelease.length || !b.prerelease.length) return b.prerelease.length - a.prerelease.length;
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Natural order of names ("build-9" before "build-10"), used when nothing better is known. */
export function compareNatural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
