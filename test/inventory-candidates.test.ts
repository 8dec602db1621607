/**
 * The inventory reads only the files git finds holding a target's name or a script's line
 * (lib/inventory/candidates.ts). On a real git repository with traps, the uses and the closest
 * twins it finds that way are exactly those found by reading every text file, as it did before:
 * names with regex characters and spaces, a reference only in an unstaged edit, one only in an
 * assume-unchanged file's edit, one removed by an edit (still in the blob), an untracked file,
 * a staged file, a binary file holding a name, and a twin sharing lines only through an edit.
 * Legacy-looking names are found by a walk that matches each entry's name, as the glob did.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { globbySync } from 'globby';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filesToRead, firstTextFile, searchable, searchIndex } from '../lib/inventory/candidates.ts';
import { analyze, unlistedCandidates, type FindingsInput } from '../lib/inventory/findings.ts';
import { LEGACY_PATTERNS } from '../lib/inventory/lists.ts';
import { readRepository } from '../lib/inventory/reads.ts';
import { mentionsOf } from '../lib/inventory/references.ts';
import { meaningful } from '../lib/inventory/similarity.ts';
import { useNeedles } from '../lib/inventory/uses.ts';
import { localRunner } from '../lib/runner.ts';

const dirs: string[] = [];
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};

const TARGETS = [
  'scripts/run[1]+.sh',
  'scripts/old tool.sh',
  'api/legacy_main.py',
  'scripts/deploy-local.sh',
  'docs/lonely.md',
];
const ANALYZED = ['scripts/deploy-local.sh', 'docs/lonely.md'];

function repository(): string {
  const root = mkdtempSync(join(tmpdir(), 'cleanup-candidates-'));
  dirs.push(root);
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { env, stdio: 'pipe' });
  const write = (path: string, text: string | Buffer) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('scripts/run[1]+.sh', '#!/bin/sh\necho run\n');
  write('scripts/old tool.sh', '#!/bin/sh\necho old\n');
  write('api/legacy_main.py', 'print("legacy")\n');
  write(
    'scripts/deploy-local.sh',
    '#!/bin/sh\nset -eu\ndocker compose pull api\ndocker compose build api\ndocker compose up -d api\necho deployed\n',
  );
  write('docs/lonely.md', '# Lonely\n\nNothing shares this.\n');
  write('Makefile', 'all:\n\techo build\n');
  write('deploy/Dockerfile', 'FROM python:3.12\nCOPY api/legacy_main.py /app/\n');
  write('notes/how to run.md', 'Run `scripts/old tool.sh` first.\n');
  write('bin/blob.dat', Buffer.concat([Buffer.from('legacy_main run[1]+.sh\0'), Buffer.alloc(64, 1)]));
  write('cfg/hidden.sh', '#!/bin/sh\necho hidden\n');
  write('ops/deploy-copy.sh', '#!/bin/sh\necho copy\n');
  write('app.py', 'def main():\n    return 1\n');
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'start');
  // Uses that only the working tree holds, in every state git knows.
  write('Makefile', 'all:\n\tsh scripts/run[1]+.sh\n'); // unstaged edit
  write('deploy/Dockerfile', 'FROM python:3.12\n'); // the blob still names legacy_main.py, the working copy no longer
  write('staged.py', 'import api.legacy_main\n');
  git('add', 'staged.py'); // staged, new
  write('untracked.sh', '. "scripts/old tool.sh"\n'); // untracked
  git('update-index', '--assume-unchanged', 'cfg/hidden.sh');
  write('cfg/hidden.sh', '#!/bin/sh\npython api/legacy_main.py\n'); // git status does not look at it
  write(
    'ops/deploy-copy.sh',
    '#!/bin/sh\nset -eu\ndocker compose pull api\ndocker compose build api\ndocker compose up -d api\n',
  ); // a twin only through an edit
  return root;
}

async function bothWays(root: string) {
  const runner = localRunner();
  const read = (file: string) => readFileSync(join(root, file), 'utf8');
  const needles = [...TARGETS.flatMap(useNeedles), ...ANALYZED.flatMap((path) => meaningful(read(path)))];
  const { listing, tree, hits, commits } = await readRepository(runner, root, '', {
    removals: TARGETS,
    analyzed: ANALYZED,
    needles,
  });
  return {
    listing,
    read,
    commits,
    fast: filesToRead(root, listing, tree.unlikeIndex, hits),
    every: filesToRead(root, listing, tree.unlikeIndex, 'read all'),
  };
}

test('the files git finds hold every use that reading all text files finds, uncommitted edits included', async () => {
  const root = repository();
  const { read, fast, every } = await bothWays(root);
  assert.ok(!fast.includes('app.py'), 'a file naming no target is not read');
  assert.ok(!fast.includes('bin/blob.dat') && !every.includes('bin/blob.dat'), 'a binary file is read neither way');
  assert.ok(fast.length < every.length);
  for (const target of TARGETS) assert.equal(mentionsOf(target, fast, read), mentionsOf(target, every, read), target);
  const users = (target: string) => mentionsOf(target, fast, read).map((m) => m.file);
  assert.equal(users('scripts/run[1]+.sh'), ['Makefile']);
  assert.equal(users('scripts/old tool.sh').sort(), ['notes/how to run.md', 'untracked.sh']);
  assert.equal(users('api/legacy_main.py').sort(), ['cfg/hidden.sh', 'staged.py']);
});

test('the closest twin of an analyzed script is the same as when every file is compared', async () => {
  const root = repository();
  const { listing, read, commits, fast, every } = await bothWays(root);
  const input = (keptFiles: string[]): FindingsInput => ({
    root,
    now: Date.now(),
    targets: ANALYZED.map((path) => ({ path, verdict: 'ANALYZE', note: 'test' })),
    keptFiles,
    firstKept: (accept) => firstTextFile(root, listing, accept),
    exists: () => true,
    contents: read,
    commits,
  });
  const narrowed = analyze(input(fast));
  assert.equal(narrowed, analyze(input(every)));
  assert.match(narrowed[0].reason, 'suggest MERGE into ops/deploy-copy.sh: 80% the same');
  // Nothing shares a line with docs/lonely.md: the first comparable file is the closest, at 0%.
  assert.match(narrowed[1].reason, 'closest file notes/how to run.md (0% overlap)');
});

test('unlisted legacy candidates: the walk by name finds what the glob of the patterns found', async () => {
  const root = repository();
  const touch = (path: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), 'x\n');
  };
  for (const path of [
    'a/b/run_LEGACY.sh',
    '.hidden/legacy_x',
    'x.bak',
    'deep/1/2/3/y.orig',
    'notes~',
    'cache/ignored_LEGACY.pyc',
    'node_modules/pkg/z_LEGACY.js',
    'lib/node_modules/w_LEGACY.js',
    'a/legacy-not.txt',
    'a/LEGACY.txt',
  ])
    touch(path);
  writeFileSync(join(root, '.gitignore'), 'cache/\n');
  mkdirSync(join(root, 'empty_LEGACY'));
  symlinkSync(join(root, 'a'), join(root, 'linked_dir'));
  symlinkSync(join(root, 'nowhere'), join(root, 'dangling_LEGACY'));
  const listed = new Set(['x.bak']);
  const globbed = globbySync(LEGACY_PATTERNS, {
    cwd: root,
    dot: true,
    onlyFiles: false,
    ignore: ['.git/**', '.cleanup-trash/**', 'node_modules/**'],
  })
    .filter((c) => !listed.has(c))
    .sort();
  assert.equal(unlistedCandidates(root, listed), globbed);
  assert.ok(
    globbed.includes('linked_dir/b/run_LEGACY.sh') &&
      globbed.includes('empty_LEGACY') &&
      globbed.includes('dangling_LEGACY') &&
      globbed.includes('cache/ignored_LEGACY.pyc'),
  );
});

test('strings git cannot search as the finders do, or a configured filter, mean every file is read', async () => {
  assert.ok(searchable(['legacy_main', 'run[1]+', 'old tool', 'docker compose up -d api']));
  for (const bad of [[''], ['a\nb'], ['a\rb'], ['a\0b'], ['echo $Id$'], ['x'.repeat(70_000)]])
    assert.not.ok(searchable(bad), JSON.stringify(bad).slice(0, 40));
  const root = repository();
  execFileSync('git', ['-C', root, 'config', 'filter.crypt.clean', 'cat'], { env });
  assert.is(await searchIndex(localRunner(), root, ['legacy_main']), 'read all');
});

test.run();
