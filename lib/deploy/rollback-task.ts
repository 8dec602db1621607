/** `deploy:rollback [VERSION]`: boots a retained release again, through the same steps as a deploy. */
import { UsageError } from '../errors.ts';
import { emptyPlan } from '../plan.ts';
import { defineTask } from '../task.ts';
import { plannedBackend } from './backend.ts';
import { readDeploy, readServer } from './reading.ts';
import { deployAuditPlaces } from './run.ts';
import { applyMeasured } from './run.ts';
import { deploySettings } from './settings.ts';
import { findRelease, tagOf } from '../host/deploy-state.ts';
import { planRollback, type DeployOp, type DeployPlan } from './steps.ts';

export const rollbackTask = defineTask({
  name: 'deploy',
  title: 'Rollback to a retained release (deploy:rollback [VERSION])',
  settings: deploySettings,
  options: {
    to: { type: 'string', help: 'the release to boot: its tag or revision (default: the one before the current)' },
  },

  async plan(ctx) {
    const [backend, server] = await Promise.all([plannedBackend(ctx), readServer(ctx)]);
    const read = await readDeploy(
      ctx,
      { backend, statement: { kind: 'head', revision: '' }, allowedDirty: [] },
      server,
    );
    const wanted = ctx.options.to as string | undefined;
    const release = findRelease(read.state, wanted);
    if (!release) {
      const retained = [read.state.current, ...read.state.previous].filter(Boolean).map((r) => tagOf(r!.image));
      throw new UsageError(
        wanted
          ? `${wanted} is not a retained release. Retained: ${retained.join(', ') || 'none'} (see npm run deploy:releases).`
          : `No previous release is recorded on ${read.host}, so there is nothing to roll back to.`,
      );
    }
    if (release.image === read.state.current?.image && read.healthy && !read.marker) {
      const plan: DeployPlan = { ...emptyPlan<DeployOp>('deploy'), allowedDirty: [] };
      plan.kept.push({ host: read.host, target: release.image, reason: 'already serving, healthy' });
      return plan;
    }
    return planRollback(read, release);
  },

  async apply(plan, ctx) {
    return applyMeasured(plan, ctx, 'deploy:rollback');
  },

  auditPlaces: (_plan, outcome, ctx) => deployAuditPlaces(outcome, ctx.settings),
});
