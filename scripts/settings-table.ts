/** Prints the README's settings table from the tasks' own setting declarations (run: npx tsx scripts/settings-table.ts). */
import { formatBytes } from '../lib/bytes.ts';
import { deploySettings } from '../lib/deploy/settings.ts';
import { pipelineSettings } from '../lib/pipeline/run.ts';
import { markdownRows } from '../lib/report.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { serverSettings } from '../lib/server/settings.ts';
import type { Setting } from '../lib/settings.ts';
import { inventorySettings } from '../tasks/inventory.ts';
import { verifySettings } from '../tasks/verify.ts';

const groups: [string, Record<string, Setting<unknown>>][] = [
  ['every task', pipelineSettings],
  ['inventory (sections 1–3)', inventorySettings],
  ['registry (section 4)', registrySettings],
  ['server (section 5)', serverSettings],
  ['deploy (section 6)', deploySettings],
  ['verify (section 7)', verifySettings],
];
// A setting several tasks declare (the deploy lock's, the registry's in the deploy) is listed once, with each of them.
const usedBy = new Map<string, { definition: Setting<unknown>; groups: string[] }>();
for (const [group, spec] of groups) {
  for (const [key, definition] of Object.entries(spec)) {
    const row = usedBy.get(key) ?? usedBy.set(key, { definition, groups: [] }).get(key)!;
    row.groups.push(group);
  }
}
const rows: string[][] = [];
for (const [key, { definition, groups: by }] of usedBy) {
  const parsed = definition.parse(undefined);
  const value = 'value' in parsed ? parsed.value : undefined;
  const shown =
    'problem' in parsed
      ? '**required**'
      : value === undefined
        ? '(empty)'
        : Array.isArray(value)
          ? value.length
            ? `\`${value.join(',')}\``
            : '(empty)'
          : key.endsWith('_LIMIT')
            ? formatBytes(value as number)
            : `\`${String(value)}\``;
  rows.push([
    `\`${key}\``,
    key.startsWith('SSH_') ? 'every task that uses ssh' : by.join('; '),
    shown,
    `${definition.help}${definition.secret ? ' (secret: never printed)' : ''}`,
  ]);
}
process.stdout.write(markdownRows(['setting', 'used by', 'default', 'meaning'], rows) + '\n');
