/**
 * Signals and clean-up hooks. The first SIGINT or SIGTERM lets the step under way finish and
 * starts nothing new; a second stops at once, after the clean-up hooks (locks released, a
 * stopped registry started again).
 */
import { messageOf, TaskError } from '../errors.ts';
import { say } from './steps.ts';
import type { Mode, RunItem } from './steps.ts';

export const signalExitCode = (signal: NodeJS.Signals) => (signal === 'SIGTERM' ? 143 : 130);

export interface RunControl {
  /** Clean-up hooks the tasks registered, run in reverse order when the run ends. */
  closers: (() => Promise<void> | void)[];
  /** Aborted by the first signal. */
  signal: AbortSignal;
  /** The signal that stopped the run, if one did. */
  readonly stoppedBy: NodeJS.Signals | undefined;
  /** Runs the clean-up hooks and stops listening for signals. */
  finish(): Promise<void>;
}

export function listenForSignals(): RunControl {
  const closers: (() => Promise<void> | void)[] = [];
  // Once, however many times it is asked for: a second signal waits for the closes under way
  // (a registry being started again) instead of running none.
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      for (const close of closers.splice(0).reverse())
        await Promise.resolve()
          .then(close)
          .catch((error) => say(`clean-up failed: ${messageOf(error)}`));
    })());
  const interrupt = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy) {
      say(`${signal} again: stopping now (after the clean-up hooks).`);
      void closeAll().finally(() => process.exit(signalExitCode(stoppedBy!)));
      return;
    }
    stoppedBy = signal;
    say(
      `\n${signal}: nothing new starts; finishing the step under way, then stopping (press Ctrl-C again to stop at once).`,
    );
    interrupt.abort(new TaskError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    closers,
    signal: interrupt.signal,
    get stoppedBy() {
      return stoppedBy;
    },
    async finish() {
      await closeAll();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** After a signal: every task that did not finish what it planned is reported as interrupted. */
export function markInterrupted(items: RunItem[], mode: Mode): void {
  for (const item of items) {
    const unfinished = !item.plan || (mode === 'apply' && item.plan.changes.length > 0 && !item.outcome);
    if (!item.error && !item.skipped && unfinished) item.interrupted = true;
    if (item.interrupted) item.skipped = undefined;
  }
}
