/** Whether the plan shown is applied: --check, --dry-run, nothing to do, --yes, or the user's answer. */
import type { ParsedOptions } from '../cli.ts';
import { createInterface } from 'node:readline/promises';
import { say } from './steps.ts';
import type { Mode, RunItem } from './steps.ts';

export async function decideMode(
  name: string,
  items: RunItem[],
  pending: number,
  options: ParsedOptions,
  interrupted: boolean,
): Promise<Mode> {
  const unplanned = items.filter((item) => item.error).map((item) => item.task.name);
  if (unplanned.length) say(`Planning failed for ${unplanned.join(', ')}: nothing was changed there.`);
  if (interrupted) {
    say(`Interrupted while planning: nothing was changed.`);
  } else if (options.check) {
    say(
      pending
        ? `Check: ${pending} change${pending === 1 ? '' : 's'} pending (exit 3); nothing was changed.`
        : 'Check: nothing to do.',
    );
  } else if (options.dryRun) {
    say('Dry run: nothing was changed.');
  } else if (pending === 0) {
    if (unplanned.length < items.length) {
      say('Nothing to change.');
      return 'apply';
    }
  } else if (options.yes) {
    return 'apply';
  } else if (canAsk()) {
    if (await confirm(`Apply these ${pending} change${pending === 1 ? '' : 's'}?`)) return 'apply';
    say('Not applied: nothing was changed.');
  } else {
    say(
      `No terminal to confirm on, so nothing was changed. To apply this plan, run again with --yes (npm run ${name} -- --yes).`,
    );
  }
  return 'plan';
}

export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** Asks on the terminal (stderr, so stdout stays clean for --json); only an explicit yes counts. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
