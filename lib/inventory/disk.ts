/** What a path inside BACKEND_DIR is on disk: there at all, and how many bytes it holds. */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { globbySync } from 'globby';

/** Whether anything (a file, folder or link, even a dangling one) is at path. */
export function onDisk(root: string, path: string): boolean {
  try {
    lstatSync(join(root, path));
    return true;
  } catch {
    return false;
  }
}

/** The bytes of the files at or under path (links counted as themselves, not followed). */
export function sizeOf(root: string, path: string): number {
  const absolute = join(root, path);
  if (!existsSync(absolute)) return 0;
  const files = lstatSync(absolute).isDirectory()
    ? globbySync('**/*', { cwd: absolute, dot: true, followSymbolicLinks: false }).map((f) => join(absolute, f))
    : [absolute];
  return files.reduce((sum, file) => sum + lstatSync(file).size, 0);
}
