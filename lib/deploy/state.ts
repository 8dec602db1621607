/**
 * What a host has deployed, kept beside the compose file (deploy-state.json): the current
 * image and the ones before it, newest first, so a rollback knows where to go back to.
 */
export interface DeployState {
  current?: string;
  previous: string[];
  deployedAt?: string;
}

export function parseState(text: string | undefined): DeployState {
  if (!text?.trim()) return { previous: [] };
  const parsed = JSON.parse(text) as Partial<DeployState>;
  return { current: parsed.current, previous: parsed.previous ?? [], deployedAt: parsed.deployedAt };
}

/** After a successful deploy of `image`: it becomes current, the old current heads the history. */
export function advance(state: DeployState, image: string, keep: number, now = new Date()): DeployState {
  if (state.current === image) return state;
  const previous = [state.current, ...state.previous].filter((i): i is string => Boolean(i) && i !== image).slice(0, keep);
  return { current: image, previous, deployedAt: now.toISOString() };
}

/** After a rollback to the newest previous image. */
export function rollBack(state: DeployState, now = new Date()): DeployState {
  const [target, ...rest] = state.previous;
  return { current: target, previous: [...(state.current ? [state.current] : []), ...rest].filter((i) => i !== target), deployedAt: now.toISOString() };
}

/** The compose project's environment file: the image to run and the extra variables. */
export function composeEnv(image: string, extra: string[]): string {
  return [`WEBHOOK_IMAGE=${image}`, ...extra].join('\n') + '\n';
}
