/**
 * `npm run audit`: the last entries of the local log and of every host log the local entries
 * name (so a host's log shows other operators' runs too), merged by time. Reading a host is one
 * `tail` by that host's runner; a host that cannot be read is named, the others still shown.
 */
import { messageOf } from '../errors.ts';
import type { Runner } from '../runner.ts';
import { parseAuditLog, readLocalAudit, tailCommand, type AuditEntry } from './audit.ts';

export interface AuditRow extends AuditEntry {
  /** Where this entry was read: "local" and/or the hosts whose log holds it. */
  foundOn: string[];
}

export interface AuditQuery {
  reportsDir: string;
  host?: string;
  last: number;
  runnerFor(host: string): Runner;
}

/** The distinct host logs the local entries name, in the order first seen. */
export function hostLogs(entries: AuditEntry[]): { host: string; path: string }[] {
  const seen = new Map<string, { host: string; path: string }>();
  for (const entry of entries)
    for (const place of entry.hosts ?? []) seen.set(`${place.host}\u0000${place.path}`, place);
  return [...seen.values()];
}

/** Merges entries read in several places: one row per run and task, newest last. */
export function mergeEntries(sources: { where: string; entries: AuditEntry[] }[]): AuditRow[] {
  const rows = new Map<string, AuditRow>();
  for (const { where, entries } of sources)
    for (const entry of entries) {
      const key = `${entry.runId}\u0000${entry.task}`;
      const row = rows.get(key) ?? rows.set(key, { ...entry, foundOn: [] }).get(key)!;
      if (!row.foundOn.includes(where)) row.foundOn.push(where);
    }
  return [...rows.values()].sort((a, b) => a.time.localeCompare(b.time));
}

export async function readAudit(query: AuditQuery): Promise<{ rows: AuditRow[]; warnings: string[] }> {
  const local = readLocalAudit(query.reportsDir);
  const logs = hostLogs(local).filter((log) => !query.host || log.host === query.host);
  const warnings: string[] = [];
  const sources = [{ where: 'local', entries: local }];
  for (const log of logs) {
    let runner: Runner | undefined;
    try {
      runner = query.runnerFor(log.host);
      const { stdout } = await runner.run(tailCommand(log.path, query.last), { timeoutMs: 30_000 });
      sources.push({ where: log.host, entries: parseAuditLog(stdout) });
    } catch (error) {
      warnings.push(`warning: the audit log of ${log.host} (${log.path}) could not be read: ${messageOf(error)}`);
    } finally {
      await runner?.close();
    }
  }
  let rows = mergeEntries(sources);
  if (query.host) rows = rows.filter((row) => row.hosts?.some((place) => place.host === query.host));
  return { rows: rows.slice(-query.last), warnings };
}

export function auditTable(rows: AuditRow[]): string {
  if (!rows.length) return 'No audit entries yet: a run that applies something writes one.';
  return rows
    .map((row) => {
      const hosts = row.hosts?.length ? row.hosts.map((place) => place.host).join(', ') : 'this machine';
      return (
        `${row.time}  ${row.user}@${row.machine}  ${row.run} (${row.task})  ${row.result}: ` +
        `applied ${row.applied}, failed ${row.failed}  on ${hosts}  run ` +
        `${row.runId}${row.report ? `  ${row.report}` : ''}`
      );
    })
    .join('\n');
}
