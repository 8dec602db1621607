/**
 * `npm run docs`: writes the blocks of README.md, docs/registry.md and .env.example that repeat
 * what the code declares (the settings table, the registry's tag tokens and protected tags), so
 * a list the user extends is written in one place: lib/registry/cleanup-policy.ts for the tokens
 * and the protected pairs, the REGISTRY_PROTECT_TAGS default in lib/registry/settings.ts, each
 * setting's help beside its declaration. test/docs.test.ts fails when a block is stale.
 *
 * A block is `<!-- docs:NAME -->…<!-- /docs:NAME -->` in Markdown (inline or around lines) and
 * the lines between `# docs:NAME` and `# /docs:NAME` in .env.example.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { formatBytes } from '../lib/units.ts';
import { deploySettings } from '../lib/deploy/settings.ts';
import { isEntryPoint, pipelineSettings } from '../lib/pipeline/run.ts';
import { registryPolicy } from '../lib/registry/cleanup-policy.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { markdownRows } from '../lib/report.ts';
import { serverSettings } from '../lib/server/settings.ts';
import type { Setting } from '../lib/settings.ts';
import { inventorySettings } from '../tasks/inventory.ts';
import { verifySettings } from '../tasks/verify.ts';

/** The README's settings table, from the tasks' own setting declarations. */
function settingsTable(): string {
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
  return markdownRows(['setting', 'used by', 'default', 'meaning'], rows);
}

/** The files that hold generated blocks. */
export const DOC_FILES = ['README.md', 'docs/registry.md', '.env.example'];

const code = (items: readonly string[]) => items.map((item) => `\`${item}\``).join(', ');
const defaultOf = <T>(definition: Setting<T>): T => {
  const parsed = definition.parse(undefined);
  if (!('value' in parsed)) throw new Error('a setting without a default has no list to show');
  return parsed.value;
};
const protectTags = () => defaultOf(registrySettings.REGISTRY_PROTECT_TAGS);

/** Each block's text, from the code that declares it. */
const blocks: Record<string, () => string> = {
  // The blank line ends the table before the closing marker.
  'settings-table': () => `\n${settingsTable()}\n\n`,
  'delete-tag-tokens': () => code(registryPolicy.deleteTagTokens),
  'protect-tags': () => code(protectTags()),
  'protect-pairs': () => code(registryPolicy.protect),
  'env-registry-lists': () =>
    [
      '# Tags never deleted in any repository, whatever a rule says.',
      `REGISTRY_PROTECT_TAGS=${protectTags().join(',')}`,
      '# Tokens that make a tag a test image: the tag split on - _ . has a part that is the token,',
      '# optionally followed by digits (test2, ci-test-3, temp_1; never latest or attestation).',
      `# Empty: the list in lib/registry/cleanup-policy.ts (${registryPolicy.deleteTagTokens.join(',')}).`,
      'REGISTRY_DELETE_TAG_TOKENS=',
      '',
    ].join('\n'),
};

const MARKDOWN = /(<!-- docs:([\w-]+) -->)([^]*?)(<!-- \/docs:\2 -->)/g;
const SHELL = /^(# docs:([\w-]+)[^\n]*\n)([^]*?)^(# \/docs:\2)$/gm;

/** The text with every block written afresh, and the names of the blocks it holds. */
export function writeBlocks(text: string): { text: string; names: string[] } {
  const names: string[] = [];
  const fresh = (_: string, open: string, name: string, _old: string, close: string) => {
    const block = blocks[name];
    if (!block) throw new Error(`unknown generated block ${name}: the blocks are ${Object.keys(blocks).join(', ')}`);
    names.push(name);
    return `${open}${block()}${close}`;
  };
  return { text: text.replace(MARKDOWN, fresh).replace(SHELL, fresh), names };
}

if (isEntryPoint(import.meta.url)) {
  for (const file of DOC_FILES) {
    const text = readFileSync(file, 'utf8');
    const written = writeBlocks(text).text;
    if (written !== text) writeFileSync(file, written);
    console.log(`${file}: ${written === text ? 'up to date' : 'rewritten'}`);
  }
}
