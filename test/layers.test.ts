/**
 * The layers of lib/ (docs/architecture.md draws them): a folder imports only from itself and from
 * the layers beneath it, so no two folders import each other, directly or around a circle.
 * Read from the source itself; no engine needed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = resolve(import.meta.dirname, '..');

/** Bottom to top. `lib` is the files directly in lib/; each folder may import the layers before its own. */
const layers: string[][] = [
  ['lib'],
  ['lib/host', 'lib/inventory', 'lib/operations'],
  ['lib/pipeline', 'lib/registry', 'lib/server'],
  ['lib/deploy'],
];
const layerOf = new Map(layers.flatMap((folders, rank) => folders.map((folder) => [folder, rank])));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Every relative import of a file, as a path from the repository's root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(([, spec]) =>
    relative(root, resolve(root, dirname(file), spec)),
  );
}

const edges = ['lib', 'tasks', 'chain'].flatMap(sources).flatMap((file) => importsOf(file).map((to) => ({ file, to })));

test('every folder of lib/ has its layer', () => {
  const folders = new Set(sources('lib').map(dirname));
  assert.equal(
    [...folders].filter((folder) => !layerOf.has(folder)),
    [],
  );
});

test('lib/ imports only from its own folder or the layers beneath it', () => {
  const upward = edges
    .filter(({ file }) => file.startsWith('lib/'))
    .filter(({ file, to }) => {
      const from = dirname(file);
      const target = dirname(to);
      if (!to.startsWith('lib/')) return true; // tasks/, chain/, test/, sandbox/ are never imported by lib/
      return from !== target && layerOf.get(target)! >= layerOf.get(from)!;
    })
    .map(({ file, to }) => `${file} -> ${to}`);
  assert.equal(upward, []);
});

test('no task imports another task: what two tasks share lives in lib/', () => {
  const between = edges.filter(({ file, to }) => file.startsWith('tasks/') && to.startsWith('tasks/'));
  assert.equal(between, []);
});

test.run();
