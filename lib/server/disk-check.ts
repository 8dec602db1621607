import type { Runner } from '../runner.ts';
import type { Check } from '../task.ts';
import { usedPercent } from '../host/parse.ts';
import { readDisks } from './state.ts';

/** Plan section 7: "the server uses less than N% of its disk", on / and on the Docker root. */
export async function diskCheck(runner: Runner, host: string, dockerRoot: string, maxPercent: number): Promise<Check> {
  const disks = await readDisks(runner, dockerRoot);
  const worst = disks.reduce((a, b) => (usedPercent(b) > usedPercent(a) ? b : a));
  return {
    name: `${host} disk under ${maxPercent}%`,
    passed: usedPercent(worst) < maxPercent,
    figure: `${usedPercent(worst).toFixed(1)}% used on ${worst.mount} (${worst.path})`,
  };
}
