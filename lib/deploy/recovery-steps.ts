/**
 * What brings back the release that served, decided while planning: the recovery a failed gate,
 * ship, pull or up carries out, the marker step that leaves it on the host before anything there
 * changes, and the "bring back" step a later run plans when an interrupted run left that marker.
 * Pure; lib/deploy/apply.ts carries them out.
 */
import type { Change } from '../plan.ts';
import { describeMarker, MARKER_FILE } from './marker.ts';
import type { Container, Move, Rollout } from './rollout.ts';
import type { DeployOp, DeployReading } from './steps.ts';

/** What a failed health gate does, decided before anything starts. */
export type Recovery =
  /**
   * Restores the files saved before shipping and brings back the containers that were up. With
   * `beside`, the old API containers never stopped: the front is pointed back at them and what was
   * started beside them is removed, without a gap.
   */
  | { kind: 'restore-before'; serving: string[]; beside?: BesideRecovery }
  /** Nothing ran before from the deploy folder: stops and removes what this deploy started. */
  | { kind: 'stop-started'; replaced: string[] };

/** What a deploy beside the serving release brings back: those containers, by the front's files. */
export interface BesideRecovery {
  service: string;
  move: Move;
  keep: Container[];
  front: string;
  files: string[];
}

/** What brings back the release that served before, and how to check it answers again. */
export interface BringBack {
  recovery: Recovery;
  /** The image that served before (undefined on a first deploy). */
  release?: string;
  urls: string[];
  timeoutSeconds: number;
  /** Decided while planning from an interrupted run's marker: it shipped no compose file, so it started nothing. */
  startedNothing?: boolean;
}

export function recoveryFor(reading: DeployReading, rollout: Rollout): Recovery {
  // After the bring-back step, what serves is what served before the interrupted run.
  if (reading.marker) return reading.marker.recovery;
  const up = reading.containers.filter((c) => c.state === 'running');
  const names = up.map((c) => `${c.name} (${c.image})`);
  if (!reading.composeOnHost || !up.length) return { kind: 'stop-started', replaced: names };
  return rollout.kind === 'beside'
    ? {
        kind: 'restore-before',
        serving: names,
        beside: {
          service: rollout.service,
          move: rollout.move,
          keep: rollout.serving,
          front: rollout.front,
          files: rollout.frontFiles,
        },
      }
    : { kind: 'restore-before', serving: names };
}

export function describeRecovery(r: Recovery): string {
  if (r.kind === 'restore-before' && r.beside)
    return (
      `restores the files saved before shipping, points ${r.beside.front} back at ` +
      `${r.beside.keep.map((c) => c.name).join(', ')} (never stopped) and removes what was started beside it`
    );
  return r.kind === 'restore-before'
    ? `restores the files saved before shipping and brings back what was up: ${r.serving.join(', ')}`
    : r.replaced.length
      ? `the project's containers up now (${r.replaced.join(', ')}) were not started from the ` +
        `deploy folder's compose file, so they cannot be brought back: stops and removes what ` +
        `this deploy started (compose down), so nothing is left half-started`
      : 'nothing was up before: stops and removes what this deploy started (compose down), so nothing is left half-started';
}

/** First after the lock: bring back what an interrupted run left half-done, then go on. */
export function recoverSteps(reading: DeployReading): Change<DeployOp>[] {
  const m = reading.marker;
  if (!m) return [];
  // Killed after its marker but before its ship: the deploy folder holds no compose file, so nothing was started.
  const startedNothing = m.recovery.kind === 'stop-started' && !reading.composeOnHost;
  const recovery = startedNothing
    ? 'it had not shipped its compose file (none in the deploy folder), so it started nothing: nothing to stop, only its marker is removed'
    : describeRecovery(m.recovery);
  return [
    {
      action: 'bring back',
      target: m.release ?? 'nothing (it was a first deploy)',
      reason: `${describeMarker(m)} before its health gate passed (marker ${MARKER_FILE}): ${recovery}; then this run goes on`,
      bytes: 0,
      host: reading.host,
      op: {
        kind: 'recover',
        marker: m,
        startedNothing,
        urls: reading.healthUrls,
        timeoutSeconds: reading.healthTimeoutSeconds,
      },
    },
  ];
}

/** Before the step that changes what serves: the marker a later run finds if this one is killed. */
export function markStep(reading: DeployReading, recovery: Recovery, changing: string): Change<DeployOp> {
  const saveBefore = recovery.kind === 'restore-before';
  const release = reading.state.current?.image;
  return {
    action: 'mark deploy under way',
    target: `${MARKER_FILE} in the deploy folder`,
    reason:
      `${saveBefore ? 'saves what is there now, then ' : ''}names this run and ` +
      `${release ?? 'that nothing served before'}: if ${changing}, pull or up fails, this ` +
      `run's recovery is: ${describeRecovery(recovery)}; if it is killed, the next deploy or ` +
      `rollback does that recovery first`,
    bytes: 0,
    host: reading.host,
    op: {
      kind: 'mark',
      saveBefore,
      recovery,
      release,
      urls: reading.healthUrls,
      timeoutSeconds: reading.healthTimeoutSeconds,
    },
  };
}
