/**
 * What one deploy run opens once and shares between plan and apply: the ssh connection to the
 * deploy host (with the compose command found there) and the registry client. Both close when
 * the run ends.
 */
import { join } from 'node:path';
import { TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import type { TaskContext } from '../task.ts';
import type { RegistryClient } from '../registry/client.ts';
import { registryClient } from '../registry/settings.ts';
import { withoutRegistry } from '../host/names.ts';
import { serverRunner } from '../server/settings.ts';
import { detectCompose } from '../server/state.ts';
import type { Server } from './deployer.ts';
import type { deploySettings } from './settings.ts';

export type DeployCtx = TaskContext<typeof deploySettings>;

/** registry.example:5000/team/webhook-api → team/webhook-api (the repository name in the registry API). */
export function imageRepository(image: string): string {
  return withoutRegistry(image);
}

export async function deployServer(ctx: DeployCtx): Promise<Server> {
  const runner = ctx.memo<Runner>('deploy:runner', () => {
    const r = serverRunner(ctx.settings, ctx.settings.DEPLOY_HOST);
    ctx.onClose(() => r.close());
    return r;
  });
  const found = await ctx.memo('deploy:compose', () => detectCompose(runner));
  if (!found)
    throw new TaskError(
      `${runner.name}: neither \`docker compose\` nor \`docker-compose\` is installed. Install one of them there.`,
    );
  return {
    runner,
    dir: ctx.settings.DEPLOY_DIR,
    target: {
      compose: found,
      project: ctx.settings.SERVER_COMPOSE_PROJECT,
      file: join(ctx.settings.DEPLOY_DIR, 'docker-compose.yml'),
    },
    composeTimeoutMs: ctx.settings.DEPLOY_COMPOSE_TIMEOUT_SECONDS * 1000,
  };
}

export function deployRegistry(ctx: DeployCtx): RegistryClient {
  return ctx.memo('deploy:registry', () => {
    const client = registryClient(ctx.settings);
    ctx.onClose(() => client.close());
    return client;
  });
}
