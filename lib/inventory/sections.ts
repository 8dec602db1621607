/**
 * The plan's own lists, sections 1–3, verdict by verdict: edit them here. tasks/inventory.ts
 * plans and applies them; verify's criteria (lib/inventory/criteria.ts) check them.
 */
import { entry, type Section } from './lists.ts';

const KEEP = entry('KEEP');
const DELETE = entry('DELETE');
const ANALYZE = entry('ANALYZE');
const UPDATE = entry('UPDATE');
const CONSOLIDATE = entry('CONSOLIDATE');

export const sections: Section[] = [
  {
    title: '1. Inventory of api_server',
    folder: 'api_server',
    entries: [
      KEEP('webhook_main.py', 'the main webhook server'),
      KEEP('Dockerfile.webhook', 'Docker image for the webhook API'),
      KEEP('requirements.txt', 'Python dependencies'),
      KEEP('README.md', 'API server documentation'),
      KEEP('env.example', 'configuration example'),
      KEEP('ssl/', 'SSL certificates'),
      DELETE('main_LEGACY.py', 'outdated main file'),
      DELETE('test_main_LEGACY.py', 'a simple test'),
      DELETE('run_api_server_LEGACY.py', 'outdated launcher'),
      DELETE('app_LEGACY/', 'duplicate structure'),
      DELETE('legacy_main.py', 'already marked legacy'),
    ],
  },
  {
    title: '2. Inventory of scripts',
    folder: 'scripts',
    entries: [
      KEEP('test_webhook_system.py', 'the test system'),
      KEEP('deploy/webhook-remote-deploy.sh', 'remote deploy'),
      KEEP('production/manage-webhook.sh', 'webhook management'),
      KEEP('production/safe-cleanup.sh', 'safe clean-up'),
      ANALYZE('deploy-local.sh', 'local deploy'),
      ANALYZE('local-dev-setup.sh', 'local development'),
      ANALYZE('quick-dev.sh', 'quick development'),
      ANALYZE('production/deploy_production_minimal.sh', 'a big script'),
      ANALYZE('production/fix-telegram-webhook.sh', 'telegram fix'),
      ANALYZE('production/deploy-transcription-fix.sh', 'transcription fix'),
      CONSOLIDATE('**/deploy*.sh', 'many deploy scripts'),
    ],
    merge: [{ keep: 'deploy/setup-registry.sh', remove: 'setup-registry.sh', note: 'duplicate scripts' }],
  },
  {
    title: '3. Inventory of documentation',
    folder: 'docs',
    entries: [
      KEEP('WEBHOOK_DEPLOYMENT.md', 'webhook deploy'),
      KEEP('architecture.md', 'project architecture'),
      KEEP('best_practices.md', 'best practices'),
      KEEP('TASK.md', 'current tasks'),
      UPDATE('STATUS_CURRENT.md', 'current status'),
      UPDATE('PLANNING.md', 'planning'),
      UPDATE('DEPLOYMENT.md', 'general deploy'),
      UPDATE('README.md', 'main documentation'),
      DELETE('GALLERY_FIXES.md', 'gallery fixes'),
      ANALYZE('PAYMENT_SYSTEM.md', 'payment system'),
    ],
  },
];

/** Where the clean-up records what it removed. */
export const statusDocument = 'docs/STATUS_CURRENT.md';
