/**
 * The releases a host keeps, beside the compose file (deploy-state.json): the one serving and
 * the ones before it, newest first, so a rollback knows where to go back to and the clean-up
 * knows which release tags are no longer needed. The deploy writes it; clean:server and the
 * registry's in-use read it, so it lives beneath all three.
 */
import { join } from 'node:path';
import { messageOf, TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import { files } from './commands.ts';

/** The deploy folder on the deploy host (DEPLOY_DIR), file by file. */
export const paths = (dir: string) => ({
  compose: join(dir, 'docker-compose.yml'),
  env: join(dir, '.env'),
  state: join(dir, 'deploy-state.json'),
  before: join(dir, '.before-deploy.tar'),
});

export interface Release {
  /** The image reference deployed: repository:content-tag. */
  image: string;
  /** The registry digest of that tag when it was pushed. */
  digest?: string;
  /** The backend revision built. */
  revision: string;
  /** Hash of the build context, Dockerfile, compose file and shipped files (lib/deploy/content.ts). */
  contentKey?: string;
  /** The id of each shipped file (blob id, or a secret's hash), by its path in the deploy folder: what changed next time. */
  files?: Record<string, string>;
  deployedAt: string;
}

export interface DeployState {
  current?: Release;
  previous: Release[];
}

/** Reads the state; a state from before releases had digests (plain image strings) is read as such. */
export function parseState(text: string | undefined): DeployState {
  if (!text?.trim()) return { previous: [] };
  const parsed = JSON.parse(text) as {
    current?: Release | string;
    previous?: (Release | string)[];
    deployedAt?: string;
  };
  const release = (r: Release | string): Release =>
    typeof r === 'string' ? { image: r, revision: tagOf(r), deployedAt: parsed.deployedAt ?? '' } : r;
  return {
    current: parsed.current ? release(parsed.current) : undefined,
    previous: (parsed.previous ?? []).map(release),
  };
}

export function tagOf(image: string): string {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? image.slice(at + 1) : 'latest';
}

/** After `release` passed its gate: it serves, the old one heads the history; `keep` are retained in all. */
export function advance(
  state: DeployState,
  release: Release,
  keep: number,
): { state: DeployState; dropped: Release[] } {
  const all = [
    release,
    ...[state.current, ...state.previous].filter((r): r is Release => Boolean(r) && r!.image !== release.image),
  ];
  return {
    state: { current: release, previous: all.slice(1, Math.max(keep, 1)) },
    dropped: all.slice(Math.max(keep, 1)),
  };
}

/** After a rollback to a retained release: it serves again, the others keep their order. */
export function rollBackTo(state: DeployState, image: string, now = new Date()): DeployState {
  const all = [state.current, ...state.previous].filter((r): r is Release => Boolean(r));
  const target = all.find((r) => r.image === image);
  if (!target) return state;
  return { current: { ...target, deployedAt: now.toISOString() }, previous: all.filter((r) => r.image !== image) };
}

/** A retained release by its tag, revision or image reference; no name: the one before the current. */
export function findRelease(state: DeployState, name: string | undefined): Release | undefined {
  if (!name) return state.previous[0];
  return [state.current, ...state.previous].find(
    (r) => r && (r.image === name || tagOf(r.image) === name || r.revision === name || r.revision.startsWith(name)),
  );
}

/** The compose project's environment file: the image to run and the extra variables. */
export function composeEnv(image: string, extra: string[]): string {
  return [`WEBHOOK_IMAGE=${image}`, ...extra].join('\n') + '\n';
}

/** The deploy's record on a host (DEPLOY_DIR/deploy-state.json); empty where it never deployed. */
export async function readDeployState(runner: Runner, dir: string): Promise<DeployState> {
  return parseState((await runner.run(files.read(paths(dir).state), { allowFailure: true })).stdout);
}

/**
 * The images of the releases the deploy keeps for rollback (DEPLOY_KEEP_RELEASES). clean:server
 * keeps them whatever SERVER_ROLLBACK_KEEP says, so the two tasks never undo each other.
 */
export async function retainedReleaseImages(runner: Runner, deployDir: string): Promise<string[]> {
  let state;
  try {
    state = await readDeployState(runner, deployDir);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new TaskError(
      `${runner.name}: ${paths(deployDir).state} is not valid JSON (${messageOf(error)}), so the releases the ` +
        'deploy keeps for rollback are unknown and no image there is safe to remove. Fix the file, or move it ' +
        'away if no deploy uses it. Nothing was changed there.',
    );
  }
  return [state.current, ...state.previous].flatMap((release) => (release ? [release.image] : []));
}
