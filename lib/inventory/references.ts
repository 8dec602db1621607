/**
 * Who mentions a file: every text file of the repository is searched for the path and for the
 * file's name standing alone. Mentions from code and configuration (Dockerfiles, compose files,
 * scripts, package and CI files) hold a deletion back; mentions from documents are what UPDATE
 * lists, since a document pointing at a removed file is to be fixed, not a reason to keep it.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { globbySync } from 'globby';

export interface Mention {
  file: string;
  line: number;
  text: string;
  kind: 'code' | 'doc';
}

export const TRASH_DIR = '.cleanup-trash';

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

function pattern(path: string): RegExp {
  const clean = path.replace(/\/+$/, '');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The whole path; or the name alone (or as ./name), but not under another folder: a mention
  // of scripts/deploy/setup-registry.sh is not one of scripts/setup-registry.sh.
  const end = '(?![\\w-]|\\.\\w)';
  return new RegExp(`(?:(?<![\\w.-])${escape(clean)}|(?:(?<![\\w./-])|(?<=(?<![\\w.])\\./))${escape(basename(clean))})${end}`);
}

/** Mentions of `target` in `files`, skipping the target itself and files inside it. */
export function mentionsOf(root: string, target: string, files: string[], contents: (file: string) => string): Mention[] {
  const clean = target.replace(/\/+$/, '');
  const matcher = pattern(clean);
  const found: Mention[] = [];
  for (const file of files) {
    if (file === clean || file.startsWith(`${clean}/`)) continue;
    contents(file)
      .split('\n')
      .forEach((text, i) => {
        if (matcher.test(text)) found.push({ file, line: i + 1, text: text.trim().slice(0, 160), kind: kindOf(file) });
      });
  }
  return found;
}
