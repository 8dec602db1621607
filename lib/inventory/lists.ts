/** The shape of the plan's own lists (sections 1–3), as lib/inventory/sections.ts states them. */
export type Verdict = 'KEEP' | 'DELETE' | 'ANALYZE' | 'UPDATE' | 'CONSOLIDATE';

export interface Entry {
  /** A path inside BACKEND_DIR, relative to the section's folder; globs allowed. */
  path: string;
  verdict: Verdict;
  /** The plan's own words for it. */
  note: string;
}

export interface MergePair {
  /** The copy that stays. */
  keep: string;
  /** The near-identical copy that goes; its references are pointed at `keep`. */
  remove: string;
  note: string;
}

export interface Section {
  title: string;
  /** The folder the section's paths are relative to ('.' for BACKEND_DIR itself). */
  folder: string;
  entries: Entry[];
  merge?: MergePair[];
}

export const entry =
  (verdict: Verdict) =>
  (path: string, note: string): Entry => ({ path, verdict, note });

/** Names that mark a file as legacy even when no list names it. */
export const LEGACY_PATTERNS = ['**/*_LEGACY*', '**/legacy_*', '**/*.bak', '**/*.orig', '**/*~'];
