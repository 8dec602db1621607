/**
 * Plan section 6: clean deploy of the webhook API + nginx only.
 *
 *   1. Stop all services (of the project that the compose file does not have).
 *   2. Clean old containers and images (through the server task's own policy).
 *   3. Build a new webhook-api image (tagged with the backend's git revision), push it.
 *   4. Deploy nginx + webhook API (docker-compose.webhook.prod.yml).
 *   5. Check that it works: every health URL answers, or the previous version is booted again.
 *   6. Run the full tests: that is `npm run verify` (plan section 7).
 *
 * A lock on the server keeps two deploys apart. `npm run deploy:rollback` boots the previous
 * version on demand. When the server already runs this revision, healthy, nothing is done.
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { TaskError } from '../lib/errors.ts';
import { isEntryPoint, main } from '../lib/pipeline.ts';
import { emptyPlan, type Plan } from '../lib/plan.ts';
import { localRunner, type Runner } from '../lib/runner.ts';
import { defineTask, emptyOutcome, type TaskContext } from '../lib/task.ts';
import { bootGated, buildAndPush, lock, readState, running, writeState, type Server } from '../lib/deploy/deployer.ts';
import { waitHealthy } from '../lib/deploy/health.ts';
import { deploySettings, type DeploySettings } from '../lib/deploy/settings.ts';
import { advance, rollBack } from '../lib/deploy/state.ts';
import { applyHostChanges } from '../lib/server/apply.ts';
import { planHost } from '../lib/server/policy.ts';
import { serverRunner } from '../lib/server/settings.ts';
import { detectCompose, readHost } from '../lib/server/state.ts';
import { applyRegistryPlan } from '../lib/registry/apply.ts';
import { registryClient } from '../lib/registry/settings.ts';
import { planRegistryCleanup, registryPolicy } from './registry.ts';
import { serverPolicy } from './server.ts';

type Ctx = TaskContext<typeof deploySettings>;

/** registry.example:5000/team/webhook-api → team/webhook-api (the repository name in the registry API). */
export function imageRepository(image: string): string {
  const [first, ...rest] = image.split('/');
  return rest.length && /[.:]|^localhost$/.test(first) ? rest.join('/') : image;
}
type DeployOp = { kind: 'build'; tags: string[] } | { kind: 'deploy'; image: string; fallback?: string } | { kind: 'clean' } | { kind: 'rollback'; image: string; fallback?: string };

/** The backend's revision: the image tag. A dirty work tree gets -dirty, so it is never mistaken for the commit. */
async function revision(settings: DeploySettings): Promise<string> {
  const git = localRunner();
  const rev = (await git.run(['git', '-C', settings.BACKEND_DIR, 'rev-parse', '--short=12', 'HEAD'])).stdout.trim();
  const dirty = (await git.run(['git', '-C', settings.BACKEND_DIR, 'status', '--porcelain'])).stdout.trim();
  return dirty ? `${rev}-dirty` : rev;
}

async function server(ctx: Ctx): Promise<Server> {
  const runner = ctx.memo<Runner>('deploy:runner', () => {
    const r = serverRunner(ctx.settings, ctx.settings.DEPLOY_HOST);
    ctx.onClose(() => r.close());
    return r;
  });
  const found = await ctx.memo('deploy:compose', () => detectCompose(runner));
  if (!found) throw new TaskError(`${runner.name}: neither \`docker compose\` nor \`docker-compose\` is installed. Install one of them there.`);
  return { runner, dir: ctx.settings.DEPLOY_DIR, target: { compose: found, project: ctx.settings.SERVER_COMPOSE_PROJECT, file: join(ctx.settings.DEPLOY_DIR, 'docker-compose.yml') } };
}

export const deployTask = defineTask({
  name: 'deploy',
  title: 'Clean deploy of the webhook API + nginx (plan section 6)',
  settings: deploySettings,
  options: { rollback: { type: 'boolean', help: 'boot the previous version instead of deploying a new one' } },
  dependsOn: ['server'],

  async plan(ctx) {
    const plan: Plan<DeployOp> = emptyPlan('deploy');
    const s = await server(ctx);
    const state = await readState(s);
    if (ctx.options.rollback) {
      if (!state.previous.length) plan.refused.push({ target: s.runner.name, reason: 'no previous version is recorded on the server, so there is nothing to roll back to' });
      else plan.changes.push({ action: 'roll back', target: `${state.current} → ${state.previous[0]}`, reason: 'asked with --rollback', bytes: 0, host: s.runner.name, op: { kind: 'rollback', image: state.previous[0], fallback: state.current } });
      return plan;
    }
    const wanted = `${ctx.settings.DEPLOY_IMAGE}:${await revision(ctx.settings)}`;
    const now = await running(s);
    const healthy = (await waitHealthy(ctx.settings.DEPLOY_HEALTH_URLS, 0)).healthy;
    if (state.current === wanted && now.allRunning && now.images.includes(wanted) && healthy) {
      plan.kept.push({ host: s.runner.name, target: wanted, reason: 'already deployed, running and healthy' });
      return plan;
    }
    const why = state.current ? `the server runs ${state.current}${now.allRunning ? '' : ' (not all containers running)'}${healthy ? '' : ' (not healthy)'}` : 'nothing deployed yet';
    if (wanted.endsWith('-dirty')) plan.notes.push('BACKEND_DIR has uncommitted changes: the image is tagged -dirty.');
    const tags = [wanted, ...ctx.settings.DEPLOY_EXTRA_TAGS.map((t) => `${ctx.settings.DEPLOY_IMAGE}:${t}`)];
    plan.changes.push(
      { action: 'build and push', target: tags.join(', '), reason: `${ctx.settings.DEPLOY_BUILD_CONTEXT}/${ctx.settings.DEPLOY_DOCKERFILE} at this revision`, bytes: 0, op: { kind: 'build', tags } },
      { action: 'deploy', target: wanted, reason: `${why}; services not in the compose file are removed; rolled back to the previous version if unhealthy`, bytes: 0, host: s.runner.name, op: { kind: 'deploy', image: wanted, fallback: state.current } },
      { action: 'clean old containers and images', target: 'stopped containers and unused images; old versions in the registry', reason: `after the deploy, by the server task's policy (rollback keeps the ${ctx.settings.SERVER_ROLLBACK_KEEP} newest) and the registry's (keep the last ${registryPolicy.keepVersions} versions)`, bytes: 0, host: s.runner.name, op: { kind: 'clean' } },
    );
    plan.figures.push({ label: 'wanted', value: wanted }, { label: 'deployed now', value: state.current ?? 'nothing' });
    return plan;
  },

  async apply(plan, ctx) {
    const outcome = emptyOutcome();
    const s = await server(ctx);
    const release = await lock(s, `${userInfo().username}@${hostname()} pid ${process.pid} since ${new Date().toISOString()}`);
    ctx.onClose(release);
    try {
      const composeText = readFileSync(join(ctx.settings.BACKEND_DIR, ctx.settings.DEPLOY_COMPOSE_FILE), 'utf8');
      // In the chain, the inventory may have committed to the backend since the plan: deploy what is there now.
      const now = `${ctx.settings.DEPLOY_IMAGE}:${await revision(ctx.settings)}`;
      const planned = plan.changes.find((c) => c.op.kind === 'deploy')?.op as { image: string } | undefined;
      const retag = (ref: string) => (planned && ref === planned.image ? now : ref);
      if (planned && planned.image !== now) outcome.notes.push(`the backend moved on since the plan (${planned.image}); deployed ${now}`);
      const timeout = ctx.settings.DEPLOY_HEALTH_TIMEOUT_SECONDS * 1000;
      for (const change of plan.changes) {
        if (ctx.signal.aborted) break;
        const op = change.op;
        if (op.kind === 'build') {
          ctx.progress(`building ${op.tags[0]}`);
          await buildAndPush(localRunner(), ctx.settings.DEPLOY_BUILD_DOCKER_HOST, join(ctx.settings.BACKEND_DIR, ctx.settings.DEPLOY_BUILD_CONTEXT), ctx.settings.DEPLOY_DOCKERFILE, op.tags.map(retag));
        } else if (op.kind === 'deploy' || op.kind === 'rollback') {
          ctx.progress(`booting ${op.image} and waiting for health`);
          const target = op.kind === 'deploy' ? retag(op.image) : op.image;
          const probes = await bootGated(s, composeText, target, ctx.settings.DEPLOY_COMPOSE_ENV, ctx.settings.DEPLOY_HEALTH_URLS, timeout, op.fallback, op.kind === 'deploy');
          const state = await readState(s);
          await writeState(s, op.kind === 'deploy' ? advance(state, target, ctx.settings.SERVER_ROLLBACK_KEEP) : rollBack(state));
          outcome.figures.push({ label: 'health', value: probes.join('; ') });
        } else {
          ctx.progress('cleaning old containers and images');
          // What a rollback needs stays, whatever its creation date says (cached builds keep old dates).
          const deployed = await readState(s);
          const rollbackImages = [deployed.current, ...deployed.previous].filter((i): i is string => Boolean(i));
          const policy = serverPolicy(ctx.settings);
          const hostPlan = planHost(await readHost(s.runner), { ...policy, protectImages: [...policy.protectImages, ...rollbackImages] });
          const cleaning = hostPlan.changes.filter((c) => c.op.kind === 'remove-container' || c.op.kind === 'remove-image' || c.op.kind === 'stop-container');
          const result = await applyHostChanges(s.runner, cleaning, ctx.signal);
          outcome.failed.push(...result.failed);
          outcome.notes.push(...result.done.map((c) => `cleaned: ${c.action} ${c.target} (${c.reason})`));
          // The new version counts among the registry's "last 3": apply section 4 to this image now,
          // so the next registry clean-up finds nothing left to do.
          const repository = imageRepository(ctx.settings.DEPLOY_IMAGE);
          // The deployed image is simply the newest version; the ones before it are what a rollback pulls.
          const protect = [...registryPolicy.protect, ...deployed.previous.map((ref) => `${repository}:${ref.slice(ref.lastIndexOf(':') + 1)}`)];
          const pruned = await planRegistryCleanup(ctx.settings, { repositories: [repository], policy: { ...registryPolicy, protect } });
          const client = registryClient(ctx.settings);
          try {
            const applied = await applyRegistryPlan(client, pruned.plan, ctx.settings.REGISTRY_CONCURRENCY, ctx.signal);
            outcome.failed.push(...applied.failed);
            outcome.notes.push(...applied.done.map((c) => `registry: ${c.action} ${c.target} (${c.reason})`));
          } finally {
            await client.close();
          }
        }
        outcome.done.push(change);
      }
    } finally {
      await release();
    }
    return outcome;
  },
});

if (isEntryPoint(import.meta.url)) await main(process.argv.includes('--rollback') ? 'deploy:rollback' : 'deploy:clean', [deployTask]);
