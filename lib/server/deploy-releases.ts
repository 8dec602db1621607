/**
 * On the deploy host, the images of the releases the deploy keeps for rollback (DEPLOY_KEEP_RELEASES,
 * recorded in DEPLOY_DIR/deploy-state.json). clean:server keeps them whatever SERVER_ROLLBACK_KEEP
 * says, so the two tasks never undo each other: after a deploy, the next run finds nothing to remove.
 */
import { paths, readDeployState } from '../deploy/deployer.ts';
import { messageOf, TaskError } from '../errors.ts';
import type { Runner } from '../runner.ts';

export async function retainedReleaseImages(runner: Runner, deployDir: string): Promise<string[]> {
  let state;
  try {
    state = await readDeployState(runner, deployDir);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new TaskError(
      `${runner.name}: ${paths(deployDir).state} is not valid JSON (${messageOf(error)}), so the releases the deploy keeps for rollback are unknown and no image there is safe to remove. Fix the file, or move it away if no deploy uses it. Nothing was changed there.`,
    );
  }
  return [state.current, ...state.previous].flatMap((release) => (release ? [release.image] : []));
}
