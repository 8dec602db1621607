/**
 * Version tags: `1.4.2`, `v2.0`, `1.0.0-rc.1`, ordered by semver (the `semver` package). A tag
 * needs at least major.minor to count as a version (`v2.0` is 2.0.0), so build numbers (`42`) and
 * dates (`20241211`) are not versions: those are ordered by creation date, then by name.
 */
import { SemVer } from 'semver';

export type Version = SemVer;

const pattern = /^v?(\d+)\.(\d+)(?:\.(\d+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(tag: string): Version | undefined {
  const match = pattern.exec(tag);
  if (!match) return undefined;
  const [, major, minor, patch = '0', prerelease = '', build = ''] = match;
  try {
    // Loose: leading zeros (1.02.0, rc.01) are read as numbers, as a person reads them.
    return new SemVer(`${Number(major)}.${Number(minor)}.${Number(patch)}${prerelease}${build}`, { loose: true });
  } catch {
    return undefined; // an empty prerelease field (1.0.0-rc..1) is no version
  }
}

/** Semver precedence: numbers, then a release above its prereleases, then prerelease fields. */
export function compareVersions(a: Version, b: Version): number {
  return a.compare(b);
}

/** Natural order of names ("build-9" before "build-10"), used when nothing better is known. */
export function compareNatural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
