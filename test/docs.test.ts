/**
 * Lists the user extends are written once in the code; the README, docs/registry.md and
 * .env.example show them in blocks `npm run docs` writes. A block left stale fails here.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registryPolicy } from '../lib/registry/cleanup-policy.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { DOC_FILES, writeBlocks } from '../scripts/docs.ts';

test('every generated block of the README, docs/registry.md and .env.example is up to date', () => {
  for (const file of DOC_FILES) {
    const text = readFileSync(file, 'utf8');
    const { text: written, names } = writeBlocks(text);
    assert.ok(names.length, `${file} holds generated blocks`);
    assert.is(written, text, `${file} has a stale generated block: run npm run docs`);
  }
  const names = DOC_FILES.flatMap((file) => writeBlocks(readFileSync(file, 'utf8')).names);
  for (const name of ['settings-table', 'delete-tag-tokens', 'protect-tags', 'protect-pairs', 'env-registry-lists'])
    assert.ok(names.includes(name), `the block ${name} is shown somewhere`);
});

test('a list extended in the code makes its blocks stale, and npm run docs writes the new list', () => {
  const text =
    'tokens <!-- docs:delete-tag-tokens -->`test`<!-- /docs:delete-tag-tokens -->.\n' +
    '# docs:env-registry-lists\nREGISTRY_DELETE_TAG_TOKENS=\n# /docs:env-registry-lists\n';
  const { text: written, names } = writeBlocks(text);
  assert.equal(names, ['delete-tag-tokens', 'env-registry-lists']);
  assert.is.not(written, text);
  const tokens = registryPolicy.deleteTagTokens.map((t) => `\`${t}\``).join(', ');
  assert.ok(written.startsWith(`tokens <!-- docs:delete-tag-tokens -->${tokens}<!-- /docs:delete-tag-tokens -->.\n`));
  assert.match(
    written,
    `# Empty: the list in lib/registry/cleanup-policy.ts (${registryPolicy.deleteTagTokens.join(',')}).`,
  );
  assert.throws(() => writeBlocks('<!-- docs:nothing -->x<!-- /docs:nothing -->'), /unknown generated block nothing/);
});

test("the settings help names the policy's own tokens", () => {
  const help = registrySettings.REGISTRY_DELETE_TAG_TOKENS.help;
  assert.ok(
    help.endsWith(`(empty: the list in lib/registry/cleanup-policy.ts, ${registryPolicy.deleteTagTokens.join(',')})`),
  );
});

test.run();
