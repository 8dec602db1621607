/** `deploy:releases`: the releases the deploy host keeps for rollback, which one serves, where final points. */
import { emptyPlan } from '../plan.ts';
import { defineTask, emptyOutcome } from '../task.ts';
import { imageRepository } from './context.ts';
import { readServer } from './reading.ts';
import { deploySettings } from './settings.ts';
import { tagOf } from '../host/deploy-state.ts';

export const releasesTask = defineTask({
  name: 'deploy-releases',
  title: 'Releases kept for rollback (deploy:releases)',
  settings: deploySettings,
  async plan(ctx) {
    const plan = emptyPlan<never>('deploy-releases');
    const world = await readServer(ctx);
    const repository = imageRepository(ctx.settings.DEPLOY_IMAGE);
    const promoted = (digest?: string) =>
      ctx.settings.DEPLOY_EXTRA_TAGS.filter((t) => digest && world.registryDigests.get(t) === digest);
    for (const [i, r] of [world.state.current, ...world.state.previous].filter(Boolean).entries()) {
      const tags = promoted(r!.digest);
      plan.kept.push({
        host: world.s.runner.name,
        target: `${repository}:${tagOf(r!.image)} ${r!.digest ?? '(digest unknown)'}`,
        reason: `revision ${r!.revision}, deployed ${r!.deployedAt}${i === 0 ? ', SERVING' : ''}${tags.length ? `, ${tags.join(' and ')} point here` : ''}`,
      });
    }
    if (!plan.kept.length) plan.notes.push(`no release is recorded on ${world.s.runner.name}`);
    return plan;
  },
  async apply() {
    return emptyOutcome();
  },
});
