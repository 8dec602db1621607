/**
 * Who uses or mentions a file: every text file of the repository (git-ignored files, .git and
 * the trash aside) is read by the pure finder in uses.ts. Uses from code and configuration
 * (imports, scripts, Dockerfiles, compose files, CI, units, crontabs) hold a deletion back;
 * mentions from documents become edits (plan section 3), since a document pointing at a removed
 * file is to be fixed, not a reason to keep it.
 */
import { readFileSync, statSync } from 'node:fs';
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

/** Every text file under root (git-ignored files, .git and the trash aside), relative paths. */
export function textFiles(root: string): string[] {
  return globbySync('**/*', { cwd: root, dot: true, gitignore: true, ignore: ['.git/**', `${TRASH_DIR}/**`, 'node_modules/**'], followSymbolicLinks: false, onlyFiles: true }).filter((file) => {
    try {
      const stat = statSync(join(root, file));
      return stat.isFile() && stat.size < 1_000_000 && !readFileSync(join(root, file)).subarray(0, 8000).includes(0);
    } catch {
      return false;
    }
  });
}

/** Uses and mentions of `target` in `files`, skipping the target itself and files inside it. */
export function mentionsOf(target: string, files: string[], contents: (file: string) => string): Mention[] {
  const clean = target.replace(/\/+$/, '');
  return files.filter((file) => file !== clean && !file.startsWith(`${clean}/`)).flatMap((file) => usesIn(file, contents(file), clean).map((use) => ({ ...use, kind: kindOf(file) })));
}

/** "file:line `text` (how)", the first few, for a reason a reviewer can check. */
export function where(mentions: Use[], limit = 4): string {
  return mentions.slice(0, limit).map((m) => `${m.file}:${m.line} \`${m.text}\` (${m.how})`).join('; ') + (mentions.length > limit ? `; and ${mentions.length - limit} more` : '');
}
