/**
 * The plan's lists expanded into concrete, safe paths inside BACKEND_DIR: globs matched, every
 * path resolved (absolute, climbing out or through a symlink out is refused with its reason), and
 * the removals wanted: DELETE entries, and the copy each MERGE pair drops.
 */
import { posix } from 'node:path';
import { globbySync } from 'globby';
import type { Refusal } from '../plan.ts';
import type { Target } from './findings.ts';
import type { Section } from './lists.ts';
import { resolveListed } from './paths.ts';

export interface Removal {
  path: string;
  /** DELETE: the plan's note; MERGE: the pair. */
  note: string;
  keep?: string;
}

export interface Expanded {
  /** Every path a list names (targets and both sides of each pair): not unlisted candidates. */
  listed: Set<string>;
  targets: Target[];
  pairs: { keep: string; remove: string; note: string }[];
  /** The removals the lists ask for, in their order (DELETE, then MERGE). */
  wanted: Removal[];
  refused: Refusal[];
}

const join2 = (folder: string, path: string) => (folder === '.' ? path : posix.join(folder, path));

export function expandLists(root: string, sections: Section[]): Expanded {
  const listed = new Set<string>();
  const targets: Target[] = [];
  const refused: Refusal[] = [];
  for (const section of sections) {
    for (const e of section.entries) {
      const path = join2(section.folder, e.path);
      const matches = /[*?[{]/.test(path)
        ? globbySync(path, { cwd: root, onlyFiles: false, dot: true, followSymbolicLinks: false })
        : [path];
      for (const match of matches) {
        const resolved = resolveListed(root, match);
        if (!resolved.ok) {
          refused.push({
            target: match,
            reason: `${e.verdict} refused: ${resolved.reason}`,
            remedy: 'fix the path in lib/inventory/sections.ts',
          });
          continue;
        }
        const clean = resolved.relative.replace(/\/+$/, '');
        listed.add(clean);
        targets.push({ path: clean, verdict: e.verdict, note: e.note });
      }
    }
    for (const pair of section.merge ?? []) {
      listed.add(join2(section.folder, pair.keep));
      listed.add(join2(section.folder, pair.remove));
    }
  }
  const pairs = sections.flatMap((s) =>
    (s.merge ?? []).map((p) => ({ ...p, keep: join2(s.folder, p.keep), remove: join2(s.folder, p.remove) })),
  );
  const wanted: Removal[] = [
    ...targets
      .filter((t) => t.verdict === 'DELETE')
      .map((t) => ({ path: t.path, note: `DELETE in the plan: ${t.note}` })),
    ...pairs.map((p) => ({ path: p.remove, keep: p.keep, note: `MERGE into ${p.keep} in the plan (${p.note})` })),
  ];
  return { listed, targets, pairs, wanted, refused };
}
