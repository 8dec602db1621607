/**
 * Who uses or mentions a file: the text files of the repository (git-ignored files, .git and
 * the trash aside) that may name it (candidates.ts) are read by the pure finder in uses.ts.
 * Uses from code and configuration (imports, scripts, Dockerfiles, compose files, CI, units,
 * crontabs) hold a deletion back;
 * mentions from documents become edits (plan section 3), since a document pointing at a removed
 * file is to be fixed, not a reason to keep it.
 */
import { closeSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { globbySync } from 'globby';
import { TRASH_DIR } from './runs.ts';
import { usesIn, type Use } from './uses.ts';

export interface Mention extends Use {
  kind: 'code' | 'doc';
}

export function kindOf(file: string): Mention['kind'] {
  return /\.(md|markdown|rst|txt|adoc)$/i.test(file) ? 'doc' : 'code';
}

/** A regular file (a link is not followed), under 1 MB, with no NUL byte in its first 8,000 bytes. */
export function isText(root: string, file: string): boolean {
  try {
    const stat = lstatSync(join(root, file));
    if (!stat.isFile() || stat.size >= 1_000_000) return false;
    const head = Buffer.alloc(Math.min(stat.size, 8000));
    const fd = openSync(join(root, file), 'r');
    try {
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    return !head.includes(0);
  } catch {
    return false;
  }
}

export const SKIPPED = ['.git/', `${TRASH_DIR}/`, 'node_modules/'];

/** Every text file under root (git-ignored files, .git and the trash aside), relative paths. */
export function textFiles(root: string): string[] {
  return globbySync('**/*', {
    cwd: root,
    dot: true,
    gitignore: true,
    ignore: SKIPPED.map((dir) => `${dir}**`),
    followSymbolicLinks: false,
    onlyFiles: true,
  }).filter((file) => isText(root, file));
}

/** Uses and mentions of `target` in `files`, skipping the target itself and files inside it. */
export function mentionsOf(target: string, files: string[], contents: (file: string) => string): Mention[] {
  const clean = target.replace(/\/+$/, '');
  return files
    .filter((file) => file !== clean && !file.startsWith(`${clean}/`))
    .flatMap((file) => usesIn(file, contents(file), clean).map((use) => ({ ...use, kind: kindOf(file) })));
}

/** "file:line `text` (how)", the first few, for a reason a reviewer can check. */
export function where(mentions: Use[], limit = 4): string {
  return (
    mentions
      .slice(0, limit)
      .map((m) => `${m.file}:${m.line} \`${m.text}\` (${m.how})`)
      .join('; ') + (mentions.length > limit ? `; and ${mentions.length - limit} more` : '')
  );
}
