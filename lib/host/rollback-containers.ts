/**
 * The one rule for stopped containers of the deployed compose project. clean:server (section 5)
 * and the deploy's clean-up (section 6) both apply it, so neither removes what the other keeps
 * for rollback, and a second run finds nothing left to do: of each service the newest few stay
 * for rollback, those stopped within the grace period stay, the rest go.
 */
import { ago } from '../units.ts';

export const RUNNING = new Set(['running', 'restarting', 'paused']);
export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';

export interface StoppedContainer {
  name: string;
  state: string;
  created: number;
  /** When it stopped; undefined while running or never started. */
  finished?: number;
}

/** A container of the deployed compose project, as the deploy and clean:server read it. */
export interface ProjectContainer extends StoppedContainer {
  id: string;
  /** The image reference it was created from. */
  image: string;
  service: string;
  labels: Record<string, string>;
}

export interface RollbackRule {
  composeProject: string;
  rollbackKeep: number;
  gracePeriodHours: number;
}

export interface StoppedDecision<C> {
  container: C;
  remove: boolean;
  reason: string;
}

const HOUR = 3_600_000;

export function newestFirst<T extends { created: number }>(items: T[]): T[] {
  return [...items].sort((a, b) => b.created - a.created);
}

export const stoppedAt = (c: StoppedContainer) => c.finished ?? c.created;

/** "exited 3 weeks ago", "created 2 days ago, never started", "running". */
export function status(c: StoppedContainer, now: number): string {
  if (RUNNING.has(c.state)) return c.state;
  return c.finished
    ? `${c.state} ${ago(c.finished, now)}`
    : `${c.state}, created ${ago(c.created, now)}, never started`;
}

/** Keep or remove, with the reason, for the stopped containers of each service of the project (protected ones already set apart). */
export function decideStoppedProjectContainers<C extends StoppedContainer>(
  byService: Map<string, C[]>,
  rule: RollbackRule,
  now: number,
): StoppedDecision<C>[] {
  const decisions: StoppedDecision<C>[] = [];
  for (const [service, stopped] of byService) {
    newestFirst(stopped).forEach((container, rank) => {
      const state = status(container, now);
      const of = `${rule.composeProject}/${service}`;
      if (rank < rule.rollbackKeep)
        decisions.push({
          container,
          remove: false,
          reason: `${state}, kept for rollback: #${rank + 1} of the ${rule.rollbackKeep} newest stopped containers of ${of}`,
        });
      else if (now - stoppedAt(container) < rule.gracePeriodHours * HOUR)
        decisions.push({
          container,
          remove: false,
          reason: `${state}, within the ${rule.gracePeriodHours}h grace period`,
        });
      else
        decisions.push({
          container,
          remove: true,
          reason: `${state}, older than the ${rule.rollbackKeep} newest stopped containers of ${of} a rollback may need`,
        });
    });
  }
  return decisions;
}
