/**
 * `docker … inspect` of what a listing named a moment before. A container, image or volume removed
 * in between (by a deploy running beside the read, a restart policy, a person) is gone, not a
 * failure: docker still prints the others' JSON, one "No such …" line per missing one, and exits 1.
 * The read takes what is there; a missing object needs no decision. Any other error fails it.
 */
import type { Command } from '../command.ts';
import { CommandFailed, type Runner } from '../runner.ts';

const gone =
  /^Error(?: response from daemon)?: (?:No such (?:container|image|object|volume)\b|no such image\b|get \S+: no such volume$)/i;

/** The JSON of those listed that still exist, when the only failures are objects gone meanwhile. */
export function presentOnly(result: { exitCode: number; stdout: string; stderr: string }): string | undefined {
  if (result.exitCode === 0) return result.stdout;
  const errors = result.stderr.split('\n').filter((line) => line.trim());
  if (!errors.length || !errors.every((line) => gone.test(line.trim()))) return undefined;
  return result.stdout.trim() || '[]';
}

export async function inspectListed(runner: Runner, command: Command): Promise<string> {
  const result = await runner.run(command, { allowFailure: true });
  const json = presentOnly(result);
  if (json === undefined) throw new CommandFailed(runner.name, command, result);
  return json;
}
