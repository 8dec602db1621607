/**
 * Plan sections 1–3: inventory of the backend repository (BACKEND_DIR).
 *
 * The plan's own lists, verdict by verdict. DELETE goes (through git, in one commit holding only
 * the plan's paths, so history keeps it); MERGE keeps one copy and points references at it;
 * documents naming what goes are updated (section 3); ANALYZE and CONSOLIDATE get a report with a
 * suggested verdict; the status document records the run. Nothing outside BACKEND_DIR is ever
 * touched; a file with uncommitted edits, or one a kept file still uses, is held back unless
 * --force. Every run can be undone with --restore RUN, and a killed run is finished by the next.
 * The lists themselves are lib/inventory/sections.ts; section 7's checks of them are
 * lib/inventory/criteria.ts (verify's).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isEntryPoint, main } from '../lib/pipeline/run.ts';
import { localRunner } from '../lib/runner.ts';
import { setting } from '../lib/settings.ts';
import { defineTask } from '../lib/task.ts';
import { applyInventory } from '../lib/inventory/apply.ts';
import { planInventory, type InventoryOp } from '../lib/inventory/planner.ts';
import { sections, statusDocument } from '../lib/inventory/sections.ts';
import { applyRestore, planRestore, type RestoreOp } from '../lib/inventory/restore.ts';
import type { Change, Plan } from '../lib/plan.ts';

export const inventorySettings = {
  BACKEND_DIR: setting.path('the backend repository to clean (a path on this machine)', 'folder'),
};

type Op = InventoryOp | RestoreOp;

export const inventoryTask = defineTask({
  name: 'inventory',
  title: 'Inventory of files, scripts and docs (plan sections 1-3)',
  settings: inventorySettings,
  options: {
    restore: {
      type: 'string',
      alone: true,
      help: 'undo one earlier inventory run (its name is in the report, the status document and .cleanup-trash/)',
    },
  },

  async plan(ctx): Promise<Plan<Op>> {
    const root = ctx.settings.BACKEND_DIR;
    const restore = ctx.options.restore;
    const plan: Plan<Op> =
      typeof restore === 'string'
        ? await planRestore(localRunner(), root, restore)
        : await planInventory(localRunner(), {
            root,
            sections,
            statusDocument,
            force: ctx.options.force,
            now: ctx.now,
          });
    return plan;
  },

  // In clean:all the deploy builds after this task's commit, and its plan says so.
  handsOn: (plan) => (plan.changes.length ? { backendCommitBy: 'inventory' } : {}),

  async apply(plan, ctx) {
    const root = ctx.settings.BACKEND_DIR;
    if (typeof ctx.options.restore === 'string')
      return applyRestore(localRunner(), root, ctx.options.restore, plan.changes as Change<RestoreOp>[]);
    return applyInventory(localRunner(), plan.changes as Change<InventoryOp>[], { root, now: new Date() });
  },

  async check(ctx, mode, plan) {
    // Every removal the plan made is done. Section 7's checks (lib/inventory/criteria.ts) are verify's: they also
    // count what was held back for a person to settle.
    if (mode === 'plan' || typeof ctx.options.restore === 'string') return [];
    const removals = plan.changes.flatMap((c) => (c.op.kind === 'remove' ? [c.op.path] : []));
    const left = removals.filter((p) => existsSync(join(ctx.settings.BACKEND_DIR, p)));
    return [
      {
        name: 'every planned removal done',
        passed: left.length === 0,
        figure: `${removals.length - left.length} of ${removals.length} removed, ${plan.refused.length} held back (see refused)`,
        ...(left.length ? { detail: left.join(', ') } : {}),
      },
    ];
  },
});

if (isEntryPoint(import.meta.url)) await main('clean:inventory', [inventoryTask]);
