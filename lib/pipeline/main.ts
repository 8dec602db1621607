/**
 * The entry of every task file and of the chain: `if (isEntryPoint(import.meta.url)) await
 * main('clean:mytask', [myTask])`. The run itself (settings → plan → confirm → apply → check →
 * report) is lib/pipeline/, one file per step; lib/pipeline/run.ts puts them in order.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { runPipeline } from './run.ts';
import type { AnyTask } from './steps.ts';

export { runPipeline, type PipelineResult } from './run.ts';
export { pipelineSettings } from './settings.ts';

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === moduleUrl;
  } catch {
    return false;
  }
}

/** The standalone entry of a task file or of the chain: runs, then sets the exit code. */
export async function main(name: string, tasks: AnyTask[]): Promise<void> {
  const result = await runPipeline(name, tasks, process.argv.slice(2));
  process.exitCode = result.exitCode;
}
