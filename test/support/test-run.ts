/**
 * What a test run is made of, for scripts/test.ts: the test files (found as uvu finds them),
 * which of them start real parts (a Docker engine, a registry, an sshd), and the counts each
 * file's uvu printed, so that files run side by side can end in one summary.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The modules that start real parts. A test file needs them when it imports one of these,
 * directly or through its helpers (test/support, other fixtures); `import type` starts nothing.
 */
export const realPartStarters = [
  'sandbox/fixtures/dockerd.ts',
  'sandbox/fixtures/registry.ts',
  'sandbox/fixtures/sshd.ts',
];

/**
 * The marker of a file that starts real parts in another process (a runner it spawns, a task
 * given a fixture), where its imports do not show it: `@real-parts` in its header comment.
 */
export const realPartsMarker = '@real-parts';

/** The files under `dir` whose path relative to it matches `pattern` (uvu's rule), node_modules aside. */
export function testFiles(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.git')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (pattern.test(relative(dir, path))) found.push(path);
    }
  };
  walk(dir);
  return found;
}

// `import … from './x.ts'`, `export … from './x.ts'`, `import './x.ts'`; not `import type`.
const relativeImport = /^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;

/** The starters of real parts that `file` reaches through its relative imports (empty: it needs none). */
export function startersReached(file: string, root = process.cwd()): string[] {
  const starters = new Set(realPartStarters.map((starter) => resolve(root, starter)));
  const seen = new Set<string>();
  const reached = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path) || !existsSync(path)) return;
    seen.add(path);
    if (starters.has(path)) reached.add(relative(root, path));
    for (const [, specifier] of readFileSync(path, 'utf8').matchAll(relativeImport))
      visit(resolve(dirname(path), specifier));
  };
  visit(resolve(root, file));
  return [...reached].sort();
}

/** True when `file` starts a Docker engine, a registry or an sshd (by its imports, or by the marker in its header comment). */
export function needsRealParts(file: string, root = process.cwd()): boolean {
  const header = /^\s*\/\*[\s\S]*?\*\//.exec(readFileSync(resolve(root, file), 'utf8'))?.[0] ?? '';
  return header.includes(realPartsMarker) || startersReached(file, root).length > 0;
}

export interface FileCounts {
  total: number;
  passed: number;
  skipped: number;
}

const countLine = /^\s*(Total|Passed|Skipped|Duration):.*\n?/gm;
const ansi = /\x1b\[[0-9;]*m/g;

/**
 * The counts of one uvu run's summary ("Total: / Passed: / Skipped:"), and its output without
 * that summary: the run's one summary adds them up, and .ci/run sums every "Total:" line it sees.
 */
export function splitSummary(output: string): { counts?: FileCounts; body: string } {
  const plain = output.replace(ansi, '');
  const number = (label: string) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? NaN);
  const counts = { total: number('Total'), passed: number('Passed'), skipped: number('Skipped') };
  const complete = Object.values(counts).every(Number.isFinite);
  return { counts: complete ? counts : undefined, body: complete ? output.replace(countLine, '').trimEnd() : output };
}
