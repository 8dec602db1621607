/**
 * Plan section 3, "documentation brought up to date", as a pure edit: every line of a document
 * that names a removed file either has the reference rewritten to the copy that stays (a MERGE),
 * or is dropped when nothing replaces it (a DELETE). The result is shown as a diff in the plan
 * and written as-is by apply.
 */
import { escapeRegExp } from '../text.ts';
import { posix } from 'node:path';
import { mentionPattern } from './uses.ts';

export interface Gone {
  /** The removed path, relative to the repository root. */
  path: string;
  /** The path that replaces it (MERGE), if any. */
  keep?: string;
}

export interface DocumentEdit {
  text: string;
  /** Unified-diff-like lines: "@@ line N", "- old", "+ new". */
  diff: string[];
}

/** One pass over the line, so a kept path that contains the removed one is never rewritten twice. */
function rewriteLine(file: string, line: string, gone: Gone & { keep: string }, bareName: boolean): string {
  const fromDoc = (p: string) => posix.relative(posix.dirname(file), p);
  const replacements = new Map<string, string>([
    [fromDoc(gone.path), fromDoc(gone.keep)], // a link relative to the document
    [gone.path, gone.keep], // the path from the repository root
    ...(bareName ? [[posix.basename(gone.path), gone.keep] as [string, string]] : []), // the name standing alone
  ]);
  const written = [...replacements.keys()]
    .sort((a, b) => b.length - a.length)
    .map(escapeRegExp)
    .join('|');
  return line.replace(new RegExp(`(?<![\\w./-])(?:\\.\\/)?(${written})(?![\\w-]|\\.\\w)`, 'g'), (whole, path: string) =>
    whole.replace(path, replacements.get(path)!),
  );
}

/**
 * The document `file` with every line naming a `gone` path rewritten or dropped. In code
 * (`bareName: false`) only written paths are rewritten: a bare name there may be resolved in
 * ways a text edit cannot follow, so the caller checks what still uses the removed copy.
 */
export function editDocument(file: string, text: string, gone: Gone[], { bareName = true } = {}): DocumentEdit {
  const out: string[] = [];
  const diff: string[] = [];
  text.split('\n').forEach((line, i) => {
    let next: string | undefined = line;
    for (const g of gone) {
      if (next === undefined || !mentionPattern(g.path).test(next)) continue;
      next = g.keep ? rewriteLine(file, next, { ...g, keep: g.keep }, bareName) : undefined;
    }
    if (next === line) {
      out.push(line);
      return;
    }
    diff.push(`@@ line ${i + 1}`, `- ${line}`, ...(next === undefined ? [] : [`+ ${next}`]));
    if (next !== undefined) out.push(next);
  });
  return { text: out.join('\n'), diff };
}

/** The status document's record of one run (plan section 3, UPDATE): what it removed and updated, and how to undo it. */
export function statusRecord(run: string, when: Date, removed: string[], edited: string[]): string {
  return [
    '',
    `## Clean-up of ${when.toISOString().slice(0, 10)} (run ${run})`,
    '',
    'Removed by the clean-up (plan sections 1-3):',
    ...removed.map((p) => `- \`${p}\``),
    ...(edited.length ? ['', 'Updated to match:', ...edited.map((p) => `- \`${p}\``)] : []),
    '',
    `Undo: \`npm run clean:inventory -- --restore ${run}\`.`,
    '',
  ].join('\n');
}
