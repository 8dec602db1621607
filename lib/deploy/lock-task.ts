/**
 * `deploy:lock [--release]`: who holds the deploy lock, where and since when, and whether that
 * holder is gone; `--release` frees a lock whose holder is gone (dead pid on this machine, or past
 * its time to live). A lock held from another machine and not yet past its TTL is freed only with
 * --force, since whether its holder runs cannot be seen from here. A live holder here never is.
 */
import { hostname } from 'node:os';
import { describeOwner, processAlive } from '../lock.ts';
import { emptyPlan } from '../plan.ts';
import { defineTask, emptyOutcome } from '../task.ts';
import { deployServer } from './context.ts';
import { deployLockState, removeDeployLock } from '../host/deploy-lock.ts';
import { deploySettings } from './settings.ts';

/** The token of the holder the plan names: apply removes the lock only while it still has it. */
type LockOp = { kind: 'release-lock'; token?: string };

export const lockTask = defineTask({
  name: 'deploy-lock',
  title: 'The deploy lock (deploy:lock [--release])',
  settings: deploySettings,
  options: {
    release: {
      type: 'boolean',
      help: "release a lock whose holder is gone (another machine's, or one without an owner: with --force)",
    },
  },
  async plan(ctx) {
    const plan = emptyPlan<LockOp>('deploy-lock');
    const s = await deployServer(ctx);
    const held = await deployLockState(s.runner, s.dir);
    if (!held) {
      plan.kept.push({ host: s.runner.name, target: 'deploy lock', reason: 'free: no deploy holds it' });
      return plan;
    }
    const h = held.owner;
    plan.figures.push({
      label: 'held by',
      value: `${h ? describeOwner(h) : 'unknown (the lock has no readable owner file)'} (${held.path} on ${s.runner.name})`,
    });
    if (held.stale) plan.figures.push({ label: 'holder gone', value: held.stale });
    if (!ctx.options.release) return plan;
    const release = (reason: string) =>
      plan.changes.push({
        action: 'release lock',
        target: `${s.runner.name} deploy lock`,
        reason,
        bytes: 0,
        host: s.runner.name,
        op: { kind: 'release-lock', token: h?.token },
      });
    if (held.stale) release(`its holder is gone: ${held.stale}`);
    else if (h && h.host === hostname() && processAlive(h.pid))
      plan.refused.push({
        target: 'deploy lock',
        reason: `its holder, pid ${h.pid} on this machine, is still running`,
        remedy: 'wait for that run to finish',
      });
    else if (ctx.options.force) release(`asked with --force (held ${h ? `from ${h.host}` : 'without an owner file'})`);
    else
      plan.refused.push({
        target: 'deploy lock',
        reason: h
          ? `held from ${h.host}, within its time to live: whether its holder still runs cannot be seen from here`
          : 'it has no readable owner file',
        remedy: 'check there, then rerun with --force',
      });
    return plan;
  },
  async apply(plan, ctx) {
    const outcome = emptyOutcome();
    const s = await deployServer(ctx);
    for (const change of plan.changes) {
      await removeDeployLock(s.runner, s.dir, change.op.token);
      outcome.done.push(change);
    }
    return outcome;
  },
});
