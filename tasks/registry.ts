/**
 * Plan section 4: Docker registry clean-up.
 *
 *   1. Keep the last 3 versions of each image.
 *   2. Delete every test image (tags with a delete token of lib/registry/cleanup-policy.ts as a
 *      whole part: test2, ci-test-3, temp_1; never latest, attestation, contest, temperature).
 *   3. Keep the production images (latest and final in every repository; webhook-api:final,
 *      nginx-webhook:latest).
 *
 * And what the deploy host and the servers run or keep for rollback is never deleted (read over
 * ssh before planning). Deleting an index takes its children no kept image needs. Garbage
 * collection, a planned step of its own, gives the space back; every kept tag is then checked to
 * still pull. Each deletion is journaled first, so `--restore REPORT` undoes a run until then.
 * The policy is lib/registry/cleanup-policy.ts, in the plan's words; the mechanisms live in
 * lib/registry/ too (this task's steps: task-steps.ts; the plan phase, shared with deploy and verify: cleanup.ts).
 */
import { isEntryPoint, main } from '../lib/pipeline/run.ts';
import { defineTask } from '../lib/task.ts';
import {
  applyCleanup,
  collectionHost,
  planCleanup,
  planUndo,
  registryTaskSettings,
} from '../lib/registry/task-steps.ts';

export const registryTask = defineTask({
  name: 'registry',
  title: 'Registry clean-up (plan section 4)',
  settings: registryTaskSettings,
  options: {
    'no-gc': {
      type: 'boolean',
      help: 'delete now, collect garbage in a later run (the run stays undoable until then)',
    },
    restore: {
      type: 'string',
      alone: true,
      help: 'put back what the run of this report deleted (until garbage collection removed its blobs)',
    },
  },

  async plan(ctx) {
    // Undo of an earlier run: its journal, against what the registry holds now.
    if (typeof ctx.options.restore === 'string') return planUndo(ctx, ctx.options.restore);
    // Read every tag, and what the hosts run or keep for rollback; then 1. keep the last 3 versions,
    // 2. delete the test images, 3. keep the production images; and collect the garbage they leave.
    // A registry left stopped by a killed collection is started first.
    return planCleanup(ctx);
  },

  // Each deletion journaled, then made; the collection; every kept tag then checked to still pull.
  apply: (plan, ctx) => applyCleanup(plan, ctx),

  // The audit line goes to the registry host when the collection ran there.
  auditPlaces: (_plan, outcome, ctx) => collectionHost(outcome, ctx),
});

if (isEntryPoint(import.meta.url)) await main('clean:registry', [registryTask]);
