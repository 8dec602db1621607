/** What the deploy takes from the backend repository: the compose file, the files it needs, what the content key hashes. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { UsageError } from '../errors.ts';
import { checkSources, composeServices, composeSources, listFiles, type ShippedFile } from './compose-files.ts';
import type { ContentInputs } from './content.ts';
import type { DeploySettings } from './settings.ts';

export interface Backend {
  /** The folder of the compose file (its relative paths start here). */
  projectDir: string;
  composeFile: string;
  services: string[];
  files: ShippedFile[];
  inputs: ContentInputs;
}

export function readBackend(settings: DeploySettings): Backend {
  const composePath = join(settings.BACKEND_DIR, settings.DEPLOY_COMPOSE_FILE);
  if (!existsSync(composePath))
    throw new UsageError(
      `DEPLOY_COMPOSE_FILE: ${composePath} does not exist. Set it to the compose file, relative to BACKEND_DIR.`,
    );
  const text = readFileSync(composePath, 'utf8');
  const projectDir = dirname(composePath);
  const env = Object.fromEntries(
    settings.DEPLOY_COMPOSE_ENV.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const needed = checkSources(projectDir, composeSources(text, env), (rel) => existsSync(join(projectDir, rel)));
  const files: ShippedFile[] = listFiles(projectDir, needed);
  const inRepo = (rel: string) => relative(settings.BACKEND_DIR, join(projectDir, rel)) || '.';
  const inputs: ContentInputs = {
    trees: [settings.DEPLOY_BUILD_CONTEXT],
    blobs: [
      `${settings.DEPLOY_BUILD_CONTEXT}/${settings.DEPLOY_DOCKERFILE}`,
      settings.DEPLOY_COMPOSE_FILE,
      ...files.map((f) => inRepo(f.path)),
    ],
  };
  return { projectDir, composeFile: basename(composePath), services: composeServices(text), files, inputs };
}
