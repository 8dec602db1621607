/** Plan section 7's criteria on the backend repository, judged against the plan's lists. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Check } from '../task.ts';
import { kindOf, mentionsOf, textFiles } from './references.ts';
import { sections, statusDocument } from './sections.ts';

function listedPaths(verdict: 'DELETE' | 'MERGE'): string[] {
  return sections.flatMap((s) => {
    const at = (p: string) => (s.folder === '.' ? p : `${s.folder}/${p}`).replace(/\/+$/, '');
    return verdict === 'DELETE'
      ? s.entries.filter((e) => e.verdict === 'DELETE').map((e) => at(e.path))
      : (s.merge ?? []).map((m) => at(m.remove));
  });
}

/** Section 7: "All legacy files deleted". */
export function legacyFilesDeleted(root: string): Check {
  const left = listedPaths('DELETE').filter((p) => existsSync(join(root, p)));
  return {
    name: 'all legacy files deleted',
    passed: left.length === 0,
    figure: `${left.length} of ${listedPaths('DELETE').length} listed legacy paths left`,
    ...(left.length ? { detail: left.join(', ') } : {}),
  };
}

/** Section 7: "Only the necessary scripts remain": no merged-away duplicate is left. */
export function onlyNecessaryScripts(root: string): Check {
  const left = listedPaths('MERGE').filter((p) => existsSync(join(root, p)));
  const scripts = textFiles(root).filter((f) => f.startsWith('scripts/') && /\.(sh|py)$/.test(f));
  return {
    name: 'only the necessary scripts remain',
    passed: left.length === 0,
    figure: `${scripts.length} scripts, ${left.length} duplicates left`,
    ...(left.length ? { detail: left.join(', ') } : {}),
  };
}

/** Section 7: "Documentation brought up to date": no document mentions a removed path. */
export function documentationUpToDate(root: string): Check {
  const files = textFiles(root);
  const docs = files.filter((f) => kindOf(f) === 'doc' && f !== statusDocument);
  const read = (f: string) => readFileSync(join(root, f), 'utf8');
  const stale = [...listedPaths('DELETE'), ...listedPaths('MERGE')].flatMap((p) =>
    mentionsOf(p, docs, read).map((m) => `${m.file}:${m.line} mentions ${p}`),
  );
  return {
    name: 'documentation up to date',
    passed: stale.length === 0,
    figure: `${stale.length} stale mentions in ${docs.length} documents`,
    ...(stale.length ? { detail: stale.slice(0, 10).join('\n') } : {}),
  };
}
