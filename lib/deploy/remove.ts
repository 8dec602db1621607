import { commandLine, type Command } from '../command.ts';
import { CommandFailed, type Runner } from '../runner.ts';
import type { ApplyOutcome } from '../task.ts';

/**
 * A removal whose object is already gone has its planned effect: in clean:all the server task,
 * which runs first, may have removed the same stopped container or image. Said in a note.
 */
export async function removeUnlessGone(
  runner: Runner,
  command: Command,
  gone: RegExp,
  outcome: Pick<ApplyOutcome, 'notes'>,
): Promise<void> {
  const result = await runner.run(command, { allowFailure: true });
  if (result.exitCode === 0) return;
  if (!gone.test(result.stderr)) throw new CommandFailed(runner.name, command, result);
  outcome.notes.push(`\`${commandLine(command)}\`: already gone (removed earlier in this run), nothing to do`);
}
