/**
 * The undo journal. Before each delete (or untag), the manifest's exact bytes, media type,
 * repository, tags and digest are appended to a journal file on this machine (one JSON line
 * each, written before the delete, so even a run killed halfway has them); the run's report
 * carries the same entries. The bytes are those the plan read (a manifest is content-addressed,
 * so they are that digest's), or, for a deletion planned without them (a deploy's), read back
 * by digest just before. `--restore` pushes them back. The blobs they
 * need survive until garbage collection, so a restore after collection says what cannot come back.
 * A manifest found already gone by its delete (someone else deleted it after the plan) is not
 * this run's to put back: a line appended after the delete takes it out of the journal again.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.ts';
import { getManifest } from './api.ts';
import type { RegistryClient } from './client.ts';
import type { Snapshot } from './plan.ts';

export interface JournalManifest {
  digest: string;
  mediaType: string;
  /** The exact manifest bytes, base64. */
  manifest: string;
}

export interface JournalEntry extends JournalManifest {
  /** `delete`: the manifest (and its tags) were deleted; `untag`: only the tags were moved off it. */
  kind: 'delete' | 'untag';
  repository: string;
  tags: string[];
  /** Children of a deleted index, deleted with it (restored before it). */
  children: JournalManifest[];
  at: string;
}

/** Appended after a delete found these manifests already gone: they leave the entries before it. */
export interface JournalRetraction {
  kind: 'already-gone';
  repository: string;
  digests: string[];
  at: string;
}

/** The entry without the manifests that were already gone; nothing when its own manifest was. */
export function withoutGone(entry: JournalEntry, gone: string[]): JournalEntry | undefined {
  if (gone.includes(entry.digest)) return undefined;
  return { ...entry, children: entry.children.filter((c) => !gone.includes(c.digest)) };
}

async function snapshot(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<JournalManifest | undefined> {
  const found = await getManifest(client, repository, digest);
  return found && { digest: found.digest, mediaType: found.mediaType, manifest: found.raw.toString('base64') };
}

/**
 * What a delete is about to remove: from the bytes the plan read when it carries them, else read
 * back now (undefined when the manifest is already gone).
 */
export async function journalEntry(
  client: RegistryClient,
  op: {
    kind: 'delete' | 'untag';
    repository: string;
    digest: string;
    tags: string[];
    children?: string[];
    snapshot?: Snapshot;
  },
): Promise<JournalEntry | undefined> {
  if (op.snapshot) {
    const [root, ...children] = op.snapshot.map((m) => ({
      digest: m.digest,
      mediaType: m.mediaType,
      manifest: m.raw.toString('base64'),
    }));
    return {
      kind: op.kind,
      repository: op.repository,
      tags: op.tags,
      ...root,
      children: op.kind === 'delete' ? children : [],
      at: new Date().toISOString(),
    };
  }
  const root = await snapshot(client, op.repository, op.digest);
  if (!root) return undefined;
  const children: JournalManifest[] = [];
  for (const child of op.kind === 'delete' ? (op.children ?? []) : []) {
    const found = await snapshot(client, op.repository, child);
    if (found) children.push(found);
  }
  return { kind: op.kind, repository: op.repository, tags: op.tags, ...root, children, at: new Date().toISOString() };
}

export function appendJournal(file: string, entry: JournalEntry | JournalRetraction): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, JSON.stringify(entry) + '\n');
}

function isRetraction(value: unknown): value is JournalRetraction {
  const r = value as JournalRetraction;
  return Boolean(r && r.kind === 'already-gone' && typeof r.repository === 'string' && Array.isArray(r.digests));
}

/** Takes each retraction's manifests out of the entries written before it. */
function applyRetractions(lines: unknown[]): unknown[] {
  const kept: unknown[] = [];
  for (const line of lines) {
    if (!isRetraction(line)) kept.push(line);
    else
      for (const [i, entry] of kept.entries())
        if (isEntry(entry) && entry.repository === line.repository) kept[i] = withoutGone(entry, line.digests) ?? null;
  }
  return kept.filter((line) => line !== null);
}

function isEntry(value: unknown): value is JournalEntry {
  const e = value as JournalEntry;
  return Boolean(
    e &&
    typeof e.repository === 'string' &&
    typeof e.digest === 'string' &&
    typeof e.manifest === 'string' &&
    Array.isArray(e.tags),
  );
}

/**
 * The entries of a run, from its report (a single task's or clean:all's) or from its journal
 * file. Anything else is a usage error that says what was expected.
 */
export function readJournal(path: string): JournalEntry[] {
  if (!existsSync(path))
    throw new UsageError(
      `--restore ${path}: no such file. Give the report of the registry run to undo (reports/…-clean:registry.json) or its journal file.`,
    );
  const text = readFileSync(path, 'utf8');
  let entries: unknown[];
  try {
    const parsed = JSON.parse(text) as { undo?: unknown[]; tasks?: { task: string; undo?: unknown[] }[] };
    entries = parsed.undo ?? parsed.tasks?.flatMap((t) => t.undo ?? []) ?? [];
    if (!parsed.undo && !parsed.tasks) throw new Error('not a report');
  } catch {
    try {
      entries = applyRetractions(
        text
          .split('\n')
          .filter((line) => line.trim())
          .map((line) => JSON.parse(line) as unknown),
      );
    } catch {
      throw new UsageError(
        `--restore ${path}: this is neither a report nor a journal of a registry run. Give the report that run wrote (its path was printed at the end).`,
      );
    }
  }
  if (!entries.every(isEntry))
    throw new UsageError(
      `--restore ${path}: some entries are not journal entries of a registry run (repository, digest, manifest, tags expected).`,
    );
  return entries;
}
