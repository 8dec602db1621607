/**
 * The whole plan as one pipeline: inventory (sections 1–3), registry (4), server (5), deploy (6),
 * verify (7). One plan is shown for all, one confirmation, then each applies in this order; a
 * failed step stops the steps that depend on it, and the report says what ran.
 * It lives outside tasks/ because it imports every task, and no task imports another.
 */
import { isEntryPoint, main } from '../lib/pipeline/run.ts';
import { deployTask } from '../tasks/deploy.ts';
import { inventoryTask } from '../tasks/inventory.ts';
import { registryTask } from '../tasks/registry.ts';
import { serverTask } from '../tasks/server.ts';
import { verifyTask } from '../tasks/verify.ts';

export const pipeline = [inventoryTask, registryTask, serverTask, deployTask, verifyTask];

if (isEntryPoint(import.meta.url)) await main('clean:all', pipeline);
