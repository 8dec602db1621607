/**
 * What counts as using a file: a pure function from one file's text to the lines that use a
 * target path. A kept file that uses a DELETE target holds that deletion back, so the finder
 * errs on the side of "used":
 *
 * - Python imports: `import x`, `import a.b as c`, `from x import y`, `from .x import y`,
 *   `python -m x`; a module resolves against the importing file's folder and each folder above
 *   it (where source roots usually are), to `x.py`, a package folder `x/` or its `__init__.py`;
 * - JS and TS: `import … from './x'`, `import('./x')`, `require('./x')`, `export … from './x'`;
 * - shell `source x` and `. x`;
 * - running it: `python x.py`, `bash x.sh`, `sh`, `node x.js`, … wherever written: scripts,
 *   Makefiles, Dockerfiles, compose files, CI workflows, systemd units, crontabs;
 * - any other mention of its path, or of its name standing alone (`COPY legacy_main.py /app/`).
 *
 * Paths written absolutely or through a variable (`/opt/app/x.py`, `"$DIR/x.sh"`) cannot be
 * resolved inside the repository, so they count when the file's name matches.
 */
import { escapeRegExp } from '../text.ts';
import { posix } from 'node:path';

export interface Use {
  file: string;
  line: number;
  text: string;
  /** How the line uses the target: "python import", "shell source", "runs it", "names it". */
  how: string;
}

/** Matches the whole path, or its name alone (or as ./name), but not the name under another folder. */
export function mentionPattern(path: string): RegExp {
  const clean = path.replace(/\/+$/, '');
  const end = '(?![\\w-]|\\.\\w)';
  return new RegExp(
    `(?:(?<![\\w.-])${escapeRegExp(clean)}|(?:(?<![\\w./-])|(?<=(?<![\\w.])\\./))${escapeRegExp(posix.basename(clean))})${end}`,
  );
}

/** Whether `candidate` (a path relative to the repository) is the target or lies inside it. */
function hits(candidate: string, target: string): boolean {
  const c = posix.normalize(candidate);
  return c === target || c.startsWith(`${target}/`);
}

/** The folder of `file` and every folder above it, up to the repository root (''). */
function foldersUp(file: string): string[] {
  const out: string[] = [];
  let dir = posix.dirname(file);
  for (;;) {
    out.push(dir === '.' ? '' : dir);
    if (dir === '.' || dir === '/' || dir === '') break;
    dir = posix.dirname(dir);
  }
  return out;
}

/** Whether importing the dotted `module` (from `bases`) loads the target. */
function moduleHits(module: string, bases: string[], target: string): boolean {
  const parts = module.split('.').filter(Boolean);
  for (const base of bases) {
    for (let k = 1; k <= parts.length; k++) {
      const p = posix.join(base, ...parts.slice(0, k));
      // a module file, a package's __init__.py, or the package folder itself
      if ([`${p}.py`, `${p}/__init__.py`].some((c) => hits(c, target)) || p === target) return true;
    }
  }
  return false;
}

function pythonImports(file: string, text: string, target: string): boolean {
  const from = /^\s*from\s+(\.*)([\w.]*)\s+import\s+\(?([\w\s,*]+)\)?/.exec(text);
  if (from) {
    const [, dots, module, names] = from;
    const bases = dots ? [upFrom(posix.dirname(file), dots.length - 1)] : foldersUp(file);
    const imported = names
      .split(',')
      .map((n) => n.trim().split(/\s+as\s+/)[0])
      .filter((n) => n && n !== '*');
    if (module && moduleHits(module, bases, target)) return true;
    return imported.some((name) => moduleHits(module ? `${module}.${name}` : name, bases, target));
  }
  const plain = /^\s*import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)/.exec(text);
  if (plain) return plain[1].split(',').some((m) => moduleHits(m.trim().split(/\s+as\s+/)[0], foldersUp(file), target));
  return false;
}

function upFrom(dir: string, levels: number): string {
  let d = dir === '.' ? '' : dir;
  for (let i = 0; i < levels; i++) d = posix.dirname(d) === '.' ? '' : posix.dirname(d);
  return d;
}

const JS_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g;
const JS_SUFFIXES = ['', '.js', '.ts', '.mjs', '.cjs', '.jsx', '.tsx', '/index.js', '/index.ts'];

function jsImports(file: string, text: string, target: string): boolean {
  for (const match of text.matchAll(JS_SPECIFIER)) {
    const resolved = posix.join(posix.dirname(file), match[1]);
    const stems = [resolved, resolved.replace(/\.(m|c)?js$/, '')]; // './x.js' names x.ts in TS
    if (stems.some((stem) => JS_SUFFIXES.some((suffix) => hits(stem + suffix, target)))) return true;
  }
  return false;
}

/** A path as written in a command: resolved from the file's folder or the root, else matched by name. */
function pathHits(written: string, file: string, target: string): boolean {
  const ref = written.replace(/^['"]|['"]$/g, '');
  if (!ref.startsWith('/') && !ref.includes('$') && !ref.includes('~')) {
    return hits(posix.join(posix.dirname(file), ref), target) || hits(ref, target);
  }
  // Deployed or variable paths: the file's name, or a folder target as one of its folders.
  const segments = ref.split('/');
  const name = posix.basename(target);
  return segments[segments.length - 1] === name || segments.slice(0, -1).includes(name);
}

const SOURCE = /(?:^|[;&|(]\s*|\bthen\s+|\bdo\s+)(?:source|\.)\s+(['"]?[^\s;&|'"]+['"]?)/g;
const RUNS =
  /\b(?:python[\d.]*|bash|sh|zsh|dash|node|tsx|ts-node|deno run|bun)\s+(?:-[\w-]+\s+)*(['"]?[^\s;&|'"]+\.(?:py|sh|bash|js|mjs|cjs|ts)['"]?)/g;
const PYTHON_MODULE = /\bpython[\d.]*\s+(?:-\w+\s+)*-m\s+([\w.]+)/g;

const isPython = (file: string, firstLine: string) => file.endsWith('.py') || /^#!.*python/.test(firstLine);
const isJs = (file: string) => /\.(m|c)?(j|t)sx?$/.test(file);

/**
 * Every form of use writes the target's name without its extension, or its folder's name (a
 * package imported for its __init__.py): a file holding neither string cannot use it. The
 * inventory asks git which files hold one (lib/inventory/candidates.ts) and reads only those.
 */
export function useNeedles(target: string): string[] {
  const clean = posix.normalize(target).replace(/\/+$/, '');
  return [posix.basename(clean).replace(/\.[^.]*$/, ''), posix.basename(posix.dirname(clean))];
}

/** The lines of `text` (the contents of `file`) that use `target`; both paths relative to the root. */
export function usesIn(file: string, text: string, target: string): Use[] {
  const clean = posix.normalize(target).replace(/\/+$/, '');
  if (!useNeedles(clean).some((needle) => text.includes(needle))) return [];
  const lines = text.split('\n');
  const python = isPython(file, lines[0] ?? '');
  const js = isJs(file);
  const mention = mentionPattern(clean);
  const found: Use[] = [];
  lines.forEach((line, i) => {
    const how =
      python && pythonImports(file, line, clean)
        ? 'python import'
        : js && jsImports(file, line, clean)
          ? 'import'
          : [...line.matchAll(SOURCE)].some((m) => pathHits(m[1], file, clean))
            ? 'shell source'
            : [...line.matchAll(RUNS)].some((m) => pathHits(m[1], file, clean)) ||
                [...line.matchAll(PYTHON_MODULE)].some((m) => moduleHits(m[1], foldersUp(file), clean))
              ? 'runs it'
              : mention.test(line)
                ? 'names it'
                : undefined;
    if (how) found.push({ file, line: i + 1, text: line.trim().slice(0, 160), how });
  });
  return found;
}
