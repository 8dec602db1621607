/** `deploy:lock [--release]`: who holds the deploy lock since when; frees one whose holder is gone. */
import { hostname } from 'node:os';
import { processAlive } from '../lock.ts';
import { emptyPlan } from '../plan.ts';
import { defineTask, emptyOutcome } from '../task.ts';
import { deployServer } from './context.ts';
import * as deployer from './deployer.ts';
import { deploySettings } from './settings.ts';

type LockOp = { kind: 'release-lock'; holder: string };

export const lockTask = defineTask({
  name: 'deploy-lock',
  title: 'The deploy lock (deploy:lock [--release])',
  settings: deploySettings,
  options: { release: { type: 'boolean', help: 'release a lock whose holder is gone (another machine\'s: with --force)' } },
  async plan(ctx) {
    const plan = emptyPlan<LockOp>('deploy-lock');
    const s = await deployServer(ctx);
    const held = await deployer.lockHolder(s);
    if (!held) {
      plan.kept.push({ host: s.runner.name, target: 'deploy lock', reason: 'free: no deploy holds it' });
      return plan;
    }
    plan.figures.push({ label: 'held by', value: held.text });
    if (!ctx.options.release) return plan;
    const h = held.holder;
    const here = h && h.host === hostname();
    const alive = here && processAlive(h.pid);
    if (alive) plan.refused.push({ target: 'deploy lock', reason: `its holder, pid ${h!.pid} on this machine, is still running`, remedy: 'wait for that deploy to finish' });
    else if (!here && !ctx.options.force) plan.refused.push({ target: 'deploy lock', reason: `held from ${h ? h.host : 'an unknown machine'}: whether its holder still runs cannot be seen from here`, remedy: 'check there, then rerun with --force' });
    else plan.changes.push({ action: 'release lock', target: `${s.runner.name} deploy lock`, reason: here ? `its holder, pid ${h!.pid} on this machine, is gone` : 'asked with --force', bytes: 0, host: s.runner.name, op: { kind: 'release-lock', holder: held.text } });
    return plan;
  },
  async apply(plan, ctx) {
    const outcome = emptyOutcome();
    for (const change of plan.changes) {
      await deployer.unlock(await deployServer(ctx));
      outcome.done.push(change);
    }
    return outcome;
  },
});
