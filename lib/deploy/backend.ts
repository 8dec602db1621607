/**
 * What the deploy takes from the backend repository: the compose file as compose reads it, the
 * files it needs (tracked ones and secrets git does not track), the host paths it expects, and
 * what the content key hashes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { UsageError } from '../errors.ts';
import { localRunner, type Runner } from '../runner.ts';
import { detectCompose } from '../server/state.ts';
import {
  composeServices,
  composeSources,
  listFiles,
  sortSources,
  writtenSources,
  type HostPath,
  type ShippedFile,
} from './compose-files.ts';
import { composeModel } from './compose-model.ts';
import {
  filesNaming,
  portPattern,
  secondPortOf,
  serviceFacts,
  upstreamPattern,
  type RolloutInputs,
} from './rollout.ts';
import { trackedFiles, type ContentInputs } from './content.ts';
import type { DeploySettings } from './settings.ts';
import { composeEnv } from '../host/deploy-state.ts';

export interface Backend {
  /** The folder of the compose file (its relative paths start here). */
  projectDir: string;
  composeFile: string;
  services: string[];
  files: ShippedFile[];
  /** Absolute paths the compose file mounts from the host: checked there, never shipped. */
  hostPaths: HostPath[];
  inputs: ContentInputs;
  /** A shipped file's path in the repository (the content key's name for it). */
  repoPath: (projectPath: string) => string;
  /** What decides whether the new release can start beside the old one (lib/deploy/rollout.ts). */
  rollout: RolloutInputs;
}

/** The backend as the plan read it: apply ships and records exactly that (and compose is asked once). */
export function plannedBackend(ctx: { settings: DeploySettings; memo<T>(key: string, make: () => T): T }) {
  return ctx.memo('deploy:backend', () => readBackend(ctx.settings));
}

export async function readBackend(settings: DeploySettings, runner: Runner = localRunner()): Promise<Backend> {
  const composePath = join(settings.BACKEND_DIR, settings.DEPLOY_COMPOSE_FILE);
  if (!existsSync(composePath))
    throw new UsageError(
      `DEPLOY_COMPOSE_FILE: ${composePath} does not exist. Set it to the compose file, relative to BACKEND_DIR.`,
    );
  const projectDir = dirname(composePath);
  const written = writtenSources(composePath);
  // Checked before compose reads the file: compose's own message for a missing env_file names no service.
  const sorted = (model: Record<string, unknown>) =>
    sortSources(projectDir, composeSources(model), written, (rel) => existsSync(join(projectDir, rel)));
  sorted({});
  const compose = await detectCompose(runner);
  if (!compose)
    throw new UsageError(
      'Neither `docker compose` nor `docker-compose` is installed on this machine: the plan reads the compose file with compose. Install one of them here.',
    );
  const planned = `${settings.DEPLOY_IMAGE}:planned`;
  const model = await composeModel(runner, compose, composePath, composeEnv(planned, settings.DEPLOY_COMPOSE_ENV));
  const { shipped, host } = sorted(model);
  // The deploy writes DEPLOY_DIR/.env itself (the image, DEPLOY_COMPOSE_ENV): a shipped .env would be overwritten.
  if (shipped.has('.env'))
    throw new UsageError(
      `service ${shipped.get('.env')!.join(', ')}: reads .env, the file the deploy writes on ` +
        `the host itself (WEBHOOK_IMAGE and DEPLOY_COMPOSE_ENV). Rename it (e.g. .env.prod) in ` +
        `the compose file, or move its lines to DEPLOY_COMPOSE_ENV. Nothing was done.`,
    );
  const repoPath = (rel: string) => relative(settings.BACKEND_DIR, join(projectDir, rel)) || '.';
  const listed = listFiles(projectDir, shipped);
  const tracked = await trackedFiles(
    runner,
    settings.BACKEND_DIR,
    listed.map((f) => repoPath(f.path)),
  );
  const files = listed.map((f) => (tracked.has(repoPath(f.path)) ? f : { ...f, secret: true }));
  const inputs: ContentInputs = {
    trees: [settings.DEPLOY_BUILD_CONTEXT],
    blobs: [
      `${settings.DEPLOY_BUILD_CONTEXT}/${settings.DEPLOY_DOCKERFILE}`,
      settings.DEPLOY_COMPOSE_FILE,
      ...files.filter((f) => !f.secret).map((f) => repoPath(f.path)),
    ],
    secrets: files.filter((f) => f.secret).map((f) => repoPath(f.path)),
  };
  const facts = serviceFacts(model);
  const api = facts.find((f) => f.image === planned);
  const secondPort = secondPortOf(settings.DEPLOY_SECOND_PORT, settings.DEPLOY_COMPOSE_ENV);
  const read = (path: string) => readFileSync(join(projectDir, path), 'utf8');
  return {
    projectDir,
    composeFile: basename(composePath),
    services: composeServices(model),
    files,
    hostPaths: host,
    inputs,
    repoPath,
    rollout: {
      ...(api ? { api } : {}),
      facts,
      frontFiles: api ? filesNaming(upstreamPattern(api.name), files, read) : [],
      ...(secondPort ? { secondPort, portFiles: filesNaming(portPattern(secondPort.first), files, read) } : {}),
    },
  };
}
