/**
 * Plan section 6: clean deploy of the webhook API + nginx only.
 *
 *   1. Stop all services (of the project that the compose file no longer has).
 *   2. Clean old containers and images: those of releases beyond the ones kept for rollback.
 *   3. Build a new webhook-api image, tagged with the backend's git revision; push it.
 *   4. Deploy nginx + webhook API (docker-compose.webhook.prod.yml), with every file it mounts.
 *   5. Check that it works: every health URL answers; only then `final` moves to the new image.
 *      Otherwise what ran before is brought back (or, on a first deploy, nothing is left half-started).
 *   6. Run the full tests: that is `npm run verify` (plan section 7).
 *
 * Every step is an item of the plan (lib/deploy/steps.ts), applied in order (lib/deploy/apply.ts).
 * Also from this entry, as Kamal has them: `deploy:rollback [VERSION]`, `deploy:releases`, `deploy:lock`
 * (lib/deploy/rollback-task.ts, releases-task.ts, lock-task.ts; the flag that picks one: lib/deploy/modes.ts).
 */
import { isEntryPoint, runPipeline } from '../lib/pipeline/run.ts';
import { defineTask } from '../lib/task.ts';
import { deployAuditPlaces } from '../lib/deploy/run.ts';
import { lockTask } from '../lib/deploy/lock-task.ts';
import { chooseMode } from '../lib/deploy/modes.ts';
import { readDeploy, readServer } from '../lib/deploy/reading.ts';
import { releasesTask } from '../lib/deploy/releases-task.ts';
import { rollbackTask } from '../lib/deploy/rollback-task.ts';
import { applyMeasured } from '../lib/deploy/run.ts';
import { deploySettings } from '../lib/deploy/settings.ts';
import { planDeploy } from '../lib/deploy/steps.ts';
import { readWanted } from '../lib/deploy/wanted.ts';

export const deployTask = defineTask({
  name: 'deploy',
  title: 'Clean deploy of the webhook API + nginx (plan section 6)',
  settings: deploySettings,
  options: {
    'allow-dirty': {
      type: 'boolean',
      help: 'build uncommitted changes in the build context (the plan says so; the tag gets -dirty)',
    },
  },
  dependsOn: ['server'],

  async plan(ctx, earlier) {
    // What to run: the backend's build context, Dockerfile and compose file (with every file it
    // mounts or reads) at HEAD, or at the revision the inventory's commit makes in clean:all;
    // and, read meanwhile, what the server runs now and the releases it keeps.
    const server = readServer(ctx);
    const [wanted, world] = await Promise.all([readWanted(ctx, earlier, server), server]);
    // Then the steps: 1. stop the services the file no longer has, 2. clean old containers and
    // images, 3. build and push, 4. deploy nginx + the API, 5. check it works, and only then
    // move final (lib/deploy/steps.ts).
    return planDeploy(await readDeploy(ctx, wanted, world));
  },

  apply: (plan, ctx) => applyMeasured(plan, ctx, 'deploy:clean'),

  auditPlaces: (_plan, outcome, ctx) => deployAuditPlaces(outcome, ctx.settings),
});

if (isEntryPoint(import.meta.url)) {
  const { mode, args } = chooseMode(process.argv.slice(2));
  const task = {
    'deploy:clean': deployTask,
    'deploy:rollback': rollbackTask,
    'deploy:releases': releasesTask,
    'deploy:lock': lockTask,
  }[mode];
  const result = await runPipeline(mode, [task], args);
  process.exitCode = result.exitCode;
}
