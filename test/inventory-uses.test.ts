/**
 * The inventory's pure functions, without I/O: what counts as using a file (usesIn), and how a
 * document naming a removed file is edited (editDocument).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { editDocument } from '../lib/inventory/doc-edits.ts';
import { usesIn } from '../lib/inventory/uses.ts';

const lines = (file: string, text: string, target: string) =>
  usesIn(file, text, target).map((u) => `${u.line} ${u.how}`);

test('python: import, from-import, relative import and package folders are uses', () => {
  assert.equal(
    lines('api_server/handlers.py', 'import os\nfrom legacy_main import handler\n', 'api_server/legacy_main.py'),
    ['2 python import'],
  );
  assert.equal(lines('api_server/handlers.py', 'import legacy_main as old, json\n', 'api_server/legacy_main.py'), [
    '1 python import',
  ]);
  assert.equal(lines('api_server/pkg/views.py', 'from ..legacy_main import handler\n', 'api_server/legacy_main.py'), [
    '1 python import',
  ]);
  assert.equal(lines('api_server/views.py', 'from .legacy_main import handler\n', 'api_server/legacy_main.py'), [
    '1 python import',
  ]);
  assert.equal(lines('api_server/views.py', 'from . import legacy_main\n', 'api_server/legacy_main.py'), [
    '1 python import',
  ]);
  // A package folder: importing it, a module inside it, or a name from it.
  assert.equal(lines('api_server/webhook_main.py', 'import app_LEGACY.routes\n', 'api_server/app_LEGACY'), [
    '1 python import',
  ]);
  assert.equal(
    lines('api_server/webhook_main.py', 'from app_LEGACY import routes\n', 'api_server/app_LEGACY/routes.py'),
    ['1 python import'],
  );
  assert.equal(lines('api_server/webhook_main.py', 'import app_LEGACY\n', 'api_server/app_LEGACY/__init__.py'), [
    '1 python import',
  ]);
  // From the repository root, as `python -m api_server.x` would import it.
  assert.equal(
    lines('tests/test_api.py', 'from api_server.legacy_main import handler\n', 'api_server/legacy_main.py'),
    ['1 python import'],
  );
  assert.equal(lines('Makefile', 'run:\n\tpython3 -m api_server.legacy_main\n', 'api_server/legacy_main.py'), [
    '2 runs it',
  ]);
});

test('python: look-alike names and other modules are not uses', () => {
  assert.equal(
    lines(
      'api_server/handlers.py',
      'import legacy_main_v2\nfrom legacy import main\nfrom webhook_main import app\n',
      'api_server/legacy_main.py',
    ),
    [],
  );
  assert.equal(
    lines('other/handlers.py', 'from .legacy_main import x\n', 'api_server/legacy_main.py'),
    [],
    'a relative import resolves in its own folder only',
  );
});

test('shell source, and running a script from scripts, Makefiles, Dockerfiles, compose, CI, units, crontabs', () => {
  assert.equal(
    lines(
      'scripts/deploy.sh',
      '#!/bin/sh\n. ./lib/common_LEGACY.sh\nsource lib/common_LEGACY.sh\n',
      'scripts/lib/common_LEGACY.sh',
    ),
    ['2 shell source', '3 shell source'],
  );
  assert.equal(lines('Makefile', 'deploy:\n\tbash scripts/old-deploy.sh\n', 'scripts/old-deploy.sh'), ['2 runs it']);
  assert.equal(
    lines(
      'api_server/Dockerfile.webhook',
      'RUN python3 /app/run_api_server_LEGACY.py --check\n',
      'api_server/run_api_server_LEGACY.py',
    ),
    ['1 runs it'],
  );
  assert.equal(
    lines(
      'docker-compose.yml',
      'services:\n  api:\n    command: ["python", "run_api_server_LEGACY.py"]\n',
      'api_server/run_api_server_LEGACY.py',
    ),
    ['3 names it'],
  );
  assert.equal(
    lines('.github/workflows/ci.yml', '      - run: sh ./scripts/old-deploy.sh\n', 'scripts/old-deploy.sh'),
    ['1 runs it'],
  );
  assert.equal(
    lines(
      'deploy/webhook.service',
      'ExecStart=/usr/bin/python3 /srv/webhook/api_server/legacy_main.py\n',
      'api_server/legacy_main.py',
    ),
    ['1 runs it'],
  );
  assert.equal(lines('deploy/crontab', '*/5 * * * * node "$APP/tools/sweep_LEGACY.js"\n', 'tools/sweep_LEGACY.js'), [
    '1 runs it',
  ]);
  assert.equal(lines('api_server/Dockerfile.webhook', 'COPY legacy_main.py /app/\n', 'api_server/legacy_main.py'), [
    '1 names it',
  ]);
  // A script of the same name in another folder is another script.
  assert.equal(lines('docs/x.sh', 'bash scripts/deploy/setup-registry.sh\n', 'scripts/setup-registry.sh'), []);
});

test('JS and TS: import, export-from, dynamic import and require of a relative path', () => {
  assert.equal(lines('web/app.ts', "import { a } from './legacy/api.js';\n", 'web/legacy/api.ts'), ['1 import']);
  assert.equal(lines('web/app.ts', "export * from './legacy';\n", 'web/legacy/index.ts'), ['1 import']);
  assert.equal(lines('web/app.js', "const old = require('../tools/old_LEGACY');\n", 'tools/old_LEGACY.js'), [
    '1 import',
  ]);
  assert.equal(lines('web/app.mjs', "await import('./legacy')\n", 'web/legacy'), ['1 import']);
  assert.equal(lines('web/app.ts', "import x from 'legacy';\nimport y from './legacy-new';\n", 'web/legacy.ts'), []);
});

test('documents: a line naming a deleted file is dropped; one naming a merged copy points at the kept one', () => {
  const gone = [
    { path: 'docs/GALLERY_FIXES.md' },
    { path: 'scripts/setup-registry.sh', keep: 'scripts/deploy/setup-registry.sh' },
  ];
  const text =
    '# Docs\n\n- [Gallery](GALLERY_FIXES.md)\n- Registry: [setup](../scripts/setup-registry.sh)\n- run `setup-registry.sh` once\n- see scripts/deploy/setup-registry.sh\n';
  const edit = editDocument('docs/README.md', text, gone);
  assert.is(
    edit.text,
    '# Docs\n\n- Registry: [setup](../scripts/deploy/setup-registry.sh)\n- run `scripts/deploy/setup-registry.sh` once\n- see scripts/deploy/setup-registry.sh\n',
  );
  assert.equal(edit.diff, [
    '@@ line 3',
    '- - [Gallery](GALLERY_FIXES.md)',
    '@@ line 4',
    '- - Registry: [setup](../scripts/setup-registry.sh)',
    '+ - Registry: [setup](../scripts/deploy/setup-registry.sh)',
    '@@ line 5',
    '- - run `setup-registry.sh` once',
    '+ - run `scripts/deploy/setup-registry.sh` once',
  ]);
});

test('documents: a kept path containing the removed one is rewritten once, and untouched text stays byte for byte', () => {
  const edit = editDocument('README.md', 'run a.sh\nthen x/a.sh\r\nend', [{ path: 'a.sh', keep: 'x/a.sh' }]);
  assert.is(edit.text, 'run x/a.sh\nthen x/a.sh\r\nend');
  assert.equal(editDocument('README.md', 'nothing here\n', [{ path: 'a.sh' }]), { text: 'nothing here\n', diff: [] });
});

test('code: only written paths of a merged copy are rewritten, never a bare name', () => {
  const edit = editDocument(
    'Makefile',
    'setup:\n\tsh scripts/setup-registry.sh\n\tsh setup-registry.sh\n',
    [{ path: 'scripts/setup-registry.sh', keep: 'scripts/deploy/setup-registry.sh' }],
    { bareName: false },
  );
  assert.is(edit.text, 'setup:\n\tsh scripts/deploy/setup-registry.sh\n\tsh setup-registry.sh\n');
});

test.run();
