/**
 * Plan sections 1–3: inventory of the backend repository (BACKEND_DIR).
 *
 * The plan's own lists, verdict by verdict. DELETE goes (through git, in one commit holding only
 * the plan's paths, so history keeps it); MERGE keeps one copy and points references at it;
 * documents naming what goes are updated (section 3); ANALYZE and CONSOLIDATE get a report with a
 * suggested verdict; the status document records the run. Nothing outside BACKEND_DIR is ever
 * touched; a file with uncommitted edits, or one a kept file still uses, is held back unless
 * --force. Every run can be undone with --restore RUN, and a killed run is finished by the next.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isEntryPoint, main } from '../lib/pipeline.ts';
import { localRunner } from '../lib/runner.ts';
import { setting } from '../lib/settings.ts';
import { defineTask, type Check } from '../lib/task.ts';
import { applyInventory } from '../lib/inventory/apply.ts';
import { entry, type Section } from '../lib/inventory/lists.ts';
import { planInventory, type InventoryOp } from '../lib/inventory/planner.ts';
import { kindOf, mentionsOf, textFiles } from '../lib/inventory/references.ts';
import { applyRestore, planRestore, type RestoreOp } from '../lib/inventory/restore.ts';
import type { Change, Plan } from '../lib/plan.ts';

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

export const inventorySettings = {
  BACKEND_DIR: setting.path('the backend repository to clean (a path on this machine)', 'folder'),
};

function listedPaths(verdict: 'DELETE' | 'MERGE'): string[] {
  return sections.flatMap((s) => {
    const at = (p: string) => (s.folder === '.' ? p : `${s.folder}/${p}`).replace(/\/+$/, '');
    return verdict === 'DELETE' ? s.entries.filter((e) => e.verdict === 'DELETE').map((e) => at(e.path)) : (s.merge ?? []).map((m) => at(m.remove));
  });
}

/** Section 7: "All legacy files deleted". */
export function legacyFilesDeleted(root: string): Check {
  const left = listedPaths('DELETE').filter((p) => existsSync(join(root, p)));
  return { name: 'all legacy files deleted', passed: left.length === 0, figure: `${left.length} of ${listedPaths('DELETE').length} listed legacy paths left`, ...(left.length ? { detail: left.join(', ') } : {}) };
}

/** Section 7: "Only the necessary scripts remain": no merged-away duplicate is left. */
export function onlyNecessaryScripts(root: string): Check {
  const left = listedPaths('MERGE').filter((p) => existsSync(join(root, p)));
  const scripts = textFiles(root).filter((f) => f.startsWith('scripts/') && /\.(sh|py)$/.test(f));
  return { name: 'only the necessary scripts remain', passed: left.length === 0, figure: `${scripts.length} scripts, ${left.length} duplicates left`, ...(left.length ? { detail: left.join(', ') } : {}) };
}

/** Section 7: "Documentation brought up to date": no document mentions a removed path. */
export function documentationUpToDate(root: string): Check {
  const files = textFiles(root);
  const docs = files.filter((f) => kindOf(f) === 'doc' && f !== statusDocument);
  const read = (f: string) => readFileSync(join(root, f), 'utf8');
  const stale = [...listedPaths('DELETE'), ...listedPaths('MERGE')].flatMap((p) => mentionsOf(p, docs, read).map((m) => `${m.file}:${m.line} mentions ${p}`));
  return { name: 'documentation up to date', passed: stale.length === 0, figure: `${stale.length} stale mentions in ${docs.length} documents`, ...(stale.length ? { detail: stale.slice(0, 10).join('\n') } : {}) };
}

type Op = InventoryOp | RestoreOp;

export const inventoryTask = defineTask({
  name: 'inventory',
  title: 'Inventory of files, scripts and docs (plan sections 1-3)',
  settings: inventorySettings,
  options: {
    restore: { type: 'string', alone: true, help: 'undo one earlier inventory run (its name is in the report, the status document and .cleanup-trash/)' },
  },

  async plan(ctx): Promise<Plan<Op>> {
    const root = ctx.settings.BACKEND_DIR;
    const restore = ctx.options.restore;
    const plan: Plan<Op> = typeof restore === 'string' ? await planRestore(localRunner(), root, restore) : await planInventory(localRunner(), { root, sections, statusDocument, force: ctx.options.force });
    ctx.memo('inventory:plan', () => plan);
    return plan;
  },

  async apply(plan, ctx) {
    const root = ctx.settings.BACKEND_DIR;
    if (typeof ctx.options.restore === 'string') return applyRestore(localRunner(), root, ctx.options.restore, plan.changes as Change<RestoreOp>[]);
    return applyInventory(localRunner(), plan.changes as Change<InventoryOp>[], { root, now: new Date() });
  },

  async check(ctx, mode) {
    // Every removal the plan made is done. Section 7's checks (above) are verify's: they also
    // count what was held back for a person to settle.
    const plan = ctx.memo<Plan<Op> | undefined>('inventory:plan', () => undefined);
    if (mode === 'plan' || !plan || typeof ctx.options.restore === 'string') return [];
    const removals = plan.changes.flatMap((c) => (c.op.kind === 'remove' ? [c.op.path] : []));
    const left = removals.filter((p) => existsSync(join(ctx.settings.BACKEND_DIR, p)));
    return [{ name: 'every planned removal done', passed: left.length === 0, figure: `${removals.length - left.length} of ${removals.length} removed, ${plan.refused.length} held back (see refused)`, ...(left.length ? { detail: left.join(', ') } : {}) }];
  },
});

if (isEntryPoint(import.meta.url)) await main('clean:inventory', [inventoryTask]);
