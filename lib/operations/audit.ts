/**
 * The audit log (Kamal's `kamal audit`): every apply appends one JSON line per task to a log on
 * each host that task changed, and to a local one in REPORTS_DIR. A line holds names, counts and
 * the result, never a setting's value; it is redacted again before it is written anyway.
 * Appending on a host is one argv command run by that host's runner.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from '../command.ts';
import { messageOf } from '../errors.ts';
import { redact } from '../redact.ts';
import type { Runner } from '../runner.ts';
import type { AuditPlace } from '../task.ts';

/** The local log, beside the reports it names. */
export const localAuditFile = (reportsDir: string) => join(reportsDir, 'audit.jsonl');

/**
 * On an ssh host, relative to the login's home (ssh starts there): `~/.aisha-cleanup/audit.jsonl`.
 * The deploy writes its own into DEPLOY_DIR (lib/deploy's auditPlaces).
 */
export const hostAuditFile = '.aisha-cleanup/audit.jsonl';

export interface AuditEntry {
  time: string;
  user: string;
  machine: string;
  run: string;
  task: string;
  runId: string;
  applied: number;
  failed: number;
  result: string;
  report?: string;
  /** The hosts this line was also written to, and where: `npm run audit` reads them back from here. */
  hosts: { host: string; path: string }[];
}

export function auditLine(entry: AuditEntry): string {
  return redact(JSON.stringify(entry));
}

/** Appends one line, creating the folder: `sh -c` with the path and line as arguments, never pasted into the script. */
export function appendCommand(path: string, line: string): Command {
  return ['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && printf "%s\\n" "$2" >> "$1"', 'audit', path, line];
}

/** The last `lines` lines of a host's log; a log not there yet reads as empty. */
export function tailCommand(path: string, lines: number): Command {
  return ['sh', '-c', 'if [ -f "$1" ]; then tail -n "$2" -- "$1"; fi', 'audit', path, String(lines)];
}

export function appendLocal(reportsDir: string, line: string): void {
  const path = localAuditFile(reportsDir);
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, line + '\n');
}

/** Writes the line at each place; returns a warning per place that could not be written (the run's result stands). */
export async function appendAtPlaces(places: AuditPlace[], line: string): Promise<string[]> {
  const warnings: string[] = [];
  for (const place of places) {
    let runner: Runner | undefined;
    try {
      runner = place.runner();
      await runner.run(appendCommand(place.path, line), { timeoutMs: 30_000 });
    } catch (error) {
      warnings.push(
        `warning: the audit line for ${place.host} could not be written to ${place.path} there (${messageOf(error)}); the local log has it.`,
      );
    } finally {
      await runner?.close();
    }
  }
  return warnings;
}

/** Parses a log's lines, skipping any that are not an entry (a line cut by a full disk). */
export function parseAuditLog(text: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as AuditEntry;
      if (entry && typeof entry.time === 'string' && typeof entry.runId === 'string') entries.push(entry);
    } catch {
      // Not an entry: skipped, as `kamal audit` shows whatever parses.
    }
  }
  return entries;
}

export function readLocalAudit(reportsDir: string): AuditEntry[] {
  const path = localAuditFile(reportsDir);
  return existsSync(path) ? parseAuditLog(readFileSync(path, 'utf8')) : [];
}

/** The ssh hosts among `hosts` (this machine's changes are in the local log), each with its log in the login's home. */
export function hostPlaces(hosts: string[], runnerOf: (host: string) => Runner): AuditPlace[] {
  return [...new Set(hosts)]
    .filter((host) => host !== 'local')
    .map((host) => ({ host, path: hostAuditFile, runner: () => runnerOf(host) }));
}
