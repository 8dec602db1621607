/**
 * The whole plan as one pipeline: inventory (sections 1–3), registry (4), server (5), deploy (6),
 * verify (7). One plan is shown for all, one confirmation, then each applies in this order; a
 * failed step stops the steps that depend on it, and the report says what ran.
 */
import { isEntryPoint, main } from '../lib/pipeline.ts';
import { deployTask } from './deploy.ts';
import { inventoryTask } from './inventory.ts';
import { registryTask } from './registry.ts';
import { serverTask } from './server.ts';
import { verifyTask } from './verify.ts';

export const pipeline = [inventoryTask, registryTask, serverTask, deployTask, verifyTask];

if (isEntryPoint(import.meta.url)) await main('clean:all', pipeline);
