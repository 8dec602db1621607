/**
 * A backend repository laid out as the clean-up plan describes (sections 1–3), as a git
 * repository with history, for the inventory tests and the sandbox. Traps are optional.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BackendRepoOptions {
  /** A kept Dockerfile that still COPYs a DELETE file (legacy_main.py). */
  dockerfileUsesLegacy?: boolean;
  /** Uncommitted edits in a DELETE file (run_api_server_LEGACY.py). */
  uncommittedEdit?: boolean;
  /** A symlink inside the repo pointing out of it, listed nowhere. */
  symlinkOut?: string;
  /** Commit date of the initial history, so "untouched for a year" can be seeded. */
  oldDate?: string;
  /** A kept module that imports a DELETE module: `from legacy_main import handler`. */
  pythonImport?: boolean;
  /** Ignored byte code in the DELETE folder app_LEGACY/ (a .gitignore for __pycache__ and *.pyc). */
  pycache?: boolean;
  /**
   * The user's own work, uncommitted: an unstaged edit and a staged edit in documents the
   * clean-up rewrites (DEPLOYMENT.md, README.md), a staged and an unstaged change in unrelated
   * files (TASK.md, architecture.md), and a new untracked file.
   */
  userWork?: boolean;
}

/** The user's uncommitted work that `userWork` seeds: path, text, and whether it is staged. */
export const USER_WORK: { path: string; text: string; staged: boolean }[] = [
  { path: 'docs/DEPLOYMENT.md', text: '# Deployment\n\nFirst run `scripts/setup-registry.sh`, then deploy.\nMy draft of the next step.\n', staged: false },
  { path: 'docs/README.md', text: '# Documentation\n\n- [Planning](PLANNING.md)\n- Registry: [setup](../scripts/setup-registry.sh)\n- staged by me\n', staged: true },
  { path: 'docs/TASK.md', text: '# Tasks\n\n- a task I staged\n', staged: true },
  { path: 'docs/architecture.md', text: '# Architecture\n\nhalf-written, not staged\n', staged: false },
  { path: 'notes/ideas.txt', text: 'a new file nobody added\n', staged: false },
];

const setupRegistry = (extra: string) => `#!/bin/sh
# Set up the private Docker registry on the registry host.
set -e
REGISTRY_PORT=5000
docker volume create registry-data
docker run -d --restart=always --name registry -p "$REGISTRY_PORT:5000" -v registry-data:/var/lib/registry registry:2
${extra}echo "registry up on port $REGISTRY_PORT"
`;

const deployScript = (name: string) => `#!/bin/sh
# ${name}
set -e
docker compose -f docker-compose.webhook.prod.yml pull
docker compose -f docker-compose.webhook.prod.yml up -d
curl -fsS http://localhost:8001/health
`;

export function backendFiles(options: BackendRepoOptions = {}): Record<string, string> {
  return {
    'api_server/webhook_main.py': 'from http.server import HTTPServer\n# the main webhook server\n',
    'api_server/Dockerfile.webhook': `FROM python:3.11-slim\nCOPY requirements.txt webhook_main.py /app/\n${options.dockerfileUsesLegacy ? 'COPY legacy_main.py /app/\n' : ''}CMD ["python", "/app/webhook_main.py"]\n`,
    'api_server/requirements.txt': 'aiohttp==3.9.1\n',
    'api_server/README.md': '# API server\n\nRun `webhook_main.py`.\n',
    'api_server/env.example': 'WEBHOOK_PORT=8001\n',
    'api_server/ssl/README': 'certificates go here\n',
    'api_server/main_LEGACY.py': 'print("old main")\n',
    'api_server/test_main_LEGACY.py': 'def test_main():\n    assert True\n',
    'api_server/run_api_server_LEGACY.py': 'import main_LEGACY\n',
    'api_server/app_LEGACY/__init__.py': '',
    'api_server/app_LEGACY/routes.py': 'ROUTES = []\n',
    'api_server/legacy_main.py': 'print("legacy")\n',
    'api_server/notes_LEGACY.txt': 'an unlisted legacy file\n',
    'scripts/test_webhook_system.py': '#!/usr/bin/env python3\nprint("webhook system tests")\n',
    'scripts/deploy/webhook-remote-deploy.sh': deployScript('remote deploy of the webhook API'),
    'scripts/production/manage-webhook.sh': '#!/bin/sh\ndocker compose -f docker-compose.webhook.prod.yml "$@"\n',
    'scripts/production/safe-cleanup.sh': '#!/bin/sh\ndocker image prune -f\n',
    'scripts/deploy-local.sh': deployScript('local deploy'),
    'scripts/local-dev-setup.sh': '#!/bin/sh\npython3 -m venv .venv\n. .venv/bin/activate\npip install -r api_server/requirements.txt\n',
    'scripts/quick-dev.sh': '#!/bin/sh\npython3 api_server/webhook_main.py\n',
    'scripts/production/deploy_production_minimal.sh': deployScript('minimal production deploy') + 'echo done\n'.repeat(40),
    'scripts/production/fix-telegram-webhook.sh': '#!/bin/sh\ncurl -fsS "https://api.telegram.org/bot$TOKEN/setWebhook?url=$URL"\n',
    'scripts/production/deploy-transcription-fix.sh': deployScript('transcription fix'),
    'scripts/setup-registry.sh': setupRegistry(''),
    'scripts/deploy/setup-registry.sh': setupRegistry('docker ps --filter name=registry\n'),
    'docs/WEBHOOK_DEPLOYMENT.md': '# Webhook deploy\n\nUse [the deploy script](../scripts/deploy/webhook-remote-deploy.sh).\n',
    'docs/architecture.md': '# Architecture\n',
    'docs/best_practices.md': '# Best practices\n',
    'docs/TASK.md': '# Tasks\n',
    'docs/STATUS_CURRENT.md': '# Current status\n',
    'docs/PLANNING.md': '# Planning\n\nSee [gallery fixes](GALLERY_FIXES.md).\n',
    'docs/DEPLOYMENT.md': '# Deployment\n\nFirst run `scripts/setup-registry.sh`, then deploy.\n',
    'docs/README.md': '# Documentation\n\n- [Planning](PLANNING.md)\n- Registry: [setup](../scripts/setup-registry.sh)\n',
    'docs/GALLERY_FIXES.md': '# Gallery fixes\n',
    'docs/PAYMENT_SYSTEM.md': '# Payment system\n',
    'docker-compose.webhook.prod.yml': 'services:\n  webhook-api:\n    build:\n      context: api_server\n      dockerfile: Dockerfile.webhook\n',
    ...(options.pythonImport ? { 'api_server/handlers.py': 'import json\nfrom legacy_main import handler\n' } : {}),
    ...(options.pycache ? { '.gitignore': '__pycache__/\n*.pyc\n' } : {}),
  };
}

export function createBackendRepo(dir: string, options: BackendRepoOptions = {}): string {
  for (const [path, content] of Object.entries(backendFiles(options))) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  if (options.symlinkOut) symlinkSync(options.symlinkOut, join(dir, 'api_server', 'outside_link'));
  const date = options.oldDate ?? '2024-12-11T10:00:00Z';
  const env = { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_AUTHOR_NAME: 'aisha', GIT_AUTHOR_EMAIL: 'aisha@example.invalid', GIT_COMMITTER_NAME: 'aisha', GIT_COMMITTER_EMAIL: 'aisha@example.invalid' };
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'aisha');
  git('config', 'user.email', 'aisha@example.invalid');
  git('add', '-A');
  git('commit', '-q', '-m', 'backend as of the clean-up plan');
  if (options.uncommittedEdit) writeFileSync(join(dir, 'api_server/run_api_server_LEGACY.py'), 'import main_LEGACY\n# a local edit nobody committed\n');
  if (options.pycache) {
    mkdirSync(join(dir, 'api_server/app_LEGACY/__pycache__'), { recursive: true });
    writeFileSync(join(dir, 'api_server/app_LEGACY/__pycache__/routes.cpython-311.pyc'), Buffer.from([0x6f, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]));
  }
  if (options.userWork) {
    for (const work of USER_WORK) {
      mkdirSync(dirname(join(dir, work.path)), { recursive: true });
      writeFileSync(join(dir, work.path), work.text);
      if (work.staged) git('add', '--', work.path);
    }
  }
  return dir;
}
