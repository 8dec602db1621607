/**
 * Garbage collection as a planned step. Deleting a manifest frees nothing until the registry's
 * collector runs; so whoever deletes (this task, or the deploy's tag clean-up) leaves a small
 * "collection pending" record on this machine, per registry, and the next plan that can collect
 * shows the collection as its own item: the host, that the registry stops and starts, and the
 * downtime to expect (the last one measured, or an estimate). A successful collection clears the
 * record and remembers its measured downtime.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes } from '../units.ts';
import { commandLine } from '../command.ts';
import type { Change } from '../plan.ts';
import type { SshDefaults } from '../runner.ts';
import type { Figure } from '../plan.ts';
import type { GcCommands, GcResult } from './gc.ts';

export interface CollectionState {
  registry: string;
  /** Set while deletions wait for a collection: since when, how many bytes, left by whom. */
  pending?: { since: string; bytes: number; by: string[] };
  lastCollection?: { at: string; downtimeMs: number };
}

export interface CollectOp {
  kind: 'collect';
  /** `local` or the ssh destination of REGISTRY_HOST. */
  host: string;
  ssh: SshDefaults;
  commands: GcCommands;
  /** Where the pending record is cleared after a successful collection. */
  stateFile: string;
}

/** One file per registry (by host and port), so two registries never share a record. */
export function collectionStateFile(stateDir: string, registryUrl: URL): string {
  const key =
    `${registryUrl.hostname}-${registryUrl.port || (registryUrl.protocol === 'https:' ? '443' : '80')}`.replace(
      /[^A-Za-z0-9.-]/g,
      '_',
    );
  return join(stateDir, `registry-${key}.json`);
}

export function readCollectionState(file: string, registry: string): CollectionState {
  if (!existsSync(file)) return { registry };
  try {
    return { ...(JSON.parse(readFileSync(file, 'utf8')) as CollectionState), registry };
  } catch {
    return { registry };
  }
}

function writeState(file: string, state: CollectionState): void {
  mkdirSync(join(file, '..'), { recursive: true });
  // Written aside and renamed, so an interrupted write never leaves half a record.
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** After deletions: the space they free waits for a collection. */
export function markCollectionPending(
  file: string,
  registry: string,
  bytes: number,
  by: string,
  now = new Date(),
): void {
  const state = readCollectionState(file, registry);
  const pending = state.pending ?? { since: now.toISOString(), bytes: 0, by: [] };
  writeState(file, {
    ...state,
    pending: { since: pending.since, bytes: pending.bytes + bytes, by: [...new Set([...pending.by, by])] },
  });
}

export function markCollected(file: string, registry: string, downtimeMs: number, now = new Date()): void {
  const { pending: _done, ...state } = readCollectionState(file, registry);
  writeState(file, { ...state, lastCollection: { at: now.toISOString(), downtimeMs } });
}

/**
 * The downtime to expect: the last measured one, else an estimate (the collector reads every
 * manifest and stats every blob; a few seconds for small registries).
 */
export function expectedDowntime(state: CollectionState, manifests: number): { ms: number; basis: string } {
  if (state.lastCollection)
    return {
      ms: state.lastCollection.downtimeMs,
      basis: `as measured at the last collection (${state.lastCollection.at.slice(0, 16).replace('T', ' ')} UTC)`,
    };
  return { ms: 3000 + manifests * 2, basis: `estimated from ${manifests} manifests; no collection measured yet` };
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export interface CollectionInput {
  /** This run deletes manifests (or untags, which deletes a throwaway manifest). */
  deletes: boolean;
  state: CollectionState;
  manifests: number;
  host: string;
  ssh: SshDefaults;
  commands: GcCommands;
  stateFile: string;
}

/** The collection item of a plan, when deletions (this run's or earlier ones) left garbage. */
export function planCollection(input: CollectionInput): Change<CollectOp> | undefined {
  const pending = input.state.pending;
  if (!input.deletes && !pending) return undefined;
  const why = [
    ...(input.deletes ? ['the deletions above leave their blobs on disk until the registry collects them'] : []),
    ...(pending
      ? [
          `deletions by ${pending.by.join(' and ')} since ` +
            `${pending.since.slice(0, 16).replace('T', ' ')} UTC are not collected yet ` +
            `(${formatBytes(pending.bytes)} planned then)`,
        ]
      : []),
  ];
  const downtime = expectedDowntime(input.state, input.manifests);
  const { stop, collect, start } = input.commands;
  const steps = [
    stop
      ? `stops the registry (\`${commandLine(stop)}\`)`
      : 'does NOT stop the registry (REGISTRY_GC_STOP_COMMAND is empty: no push may run meanwhile)',
    `runs \`${commandLine(collect)}\``,
    start
      ? `starts it again (\`${commandLine(start)}\`)`
      : 'does not start it again (REGISTRY_GC_START_COMMAND is empty)',
  ];
  return {
    action: 'collect garbage',
    target: `registry storage on ${input.host} (REGISTRY_HOST)`,
    reason: `${why.join('; ')}. It ${steps.join(', ')}; expected downtime about ${formatSeconds(downtime.ms)} (${downtime.basis})`,
    // This run's deletions carry their own bytes; only what earlier runs left is credited here.
    bytes: pending?.bytes ?? 0,
    host: input.host,
    op: { kind: 'collect', host: input.host, ssh: input.ssh, commands: input.commands, stateFile: input.stateFile },
  };
}

export interface CollectionStep extends Omit<CollectionInput, 'deletes'> {
  /** False with --no-gc: deletions now, collection by a later run. */
  collect: boolean;
}

/**
 * Adds the collection to a plan (or says why there is none) and says until when the run can be
 * undone: deleted manifests can be pushed back only while their blobs are still on disk.
 */
export function addCollectionStep<Op>(
  plan: { changes: Change<Op | CollectOp>[]; notes: string[] },
  step: CollectionStep | undefined,
  pending: CollectionState['pending'],
): void {
  const deletes = plan.changes.length > 0;
  const item = step?.collect ? planCollection({ ...step, deletes }) : undefined;
  if (item) plan.changes.push(item);
  if (!step && (deletes || pending))
    plan.notes.push(
      'REGISTRY_GC_COMMAND is not set: deleted images stop being served, but their space comes back only after garbage collection on the registry host.',
    );
  if (step && !step.collect && pending && !deletes)
    plan.notes.push(
      `deletions by ${pending.by.join(' and ')} since ${pending.since.slice(0, 16).replace('T', ' ')} UTC wait for collection (--no-gc).`,
    );
  if (!deletes) return;
  plan.notes.push(
    item
      ? "Undo: `npm run clean:registry -- --restore <this run's report>` puts back every deleted " +
          'manifest and tag until the garbage collection at the end of this run; after it, what ' +
          'lost its blobs cannot come back. Run with --no-gc to keep the undo open until a later collection.'
      : "Undo: `npm run clean:registry -- --restore <this run's report>` puts back every deleted " +
          'manifest and tag until the next garbage collection (the next clean:registry without ' +
          "--no-gc, or a deploy's registry clean-up).",
  );
}

/**
 * What the collection measured, beside what the plan promised: the bytes of the storage's files
 * before and after (REGISTRY_STORAGE_PATH or REGISTRY_STORAGE_VOLUME on the registry host, see storage.ts), and
 * the downtime.
 */
export function collectionFigures(result: GcResult & { plannedBytes: number; unmeasured?: string }): Figure[] {
  const figures: Figure[] = [
    {
      label: 'registry downtime',
      value: `${formatSeconds(result.downtimeMs)} (measured: stopped, collected, serving again)`,
    },
  ];
  if (result.before === undefined || result.after === undefined) {
    figures.push({
      label: 'storage freed',
      value:
        `not measured (${result.unmeasured ? `warning: ${result.unmeasured}` : 'neither REGISTRY_STORAGE_PATH nor REGISTRY_STORAGE_VOLUME is set'}); ` +
        `the plan said ${formatBytes(result.plannedBytes)}`,
    });
    return figures;
  }
  const freed = result.before - result.after;
  const gap = freed - result.plannedBytes;
  const agrees = Math.abs(gap) <= Math.max(64_000, 0.15 * result.plannedBytes);
  figures.push(
    { label: 'storage before GC', value: `${formatBytes(result.before)} (${result.before} bytes)` },
    { label: 'storage after GC', value: `${formatBytes(result.after)} (${result.after} bytes)` },
    {
      label: 'storage freed',
      value:
        `${formatBytes(freed)} measured (${freed} bytes), planned ` +
        `${formatBytes(result.plannedBytes)} (${result.plannedBytes} bytes): ` +
        `${agrees ? 'agrees' : 'DIFFERS'} within 15% or 64 kB`,
    },
  );
  return figures;
}
