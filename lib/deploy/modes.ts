/**
 * One entry file, four commands: the first flag names which (`--rollback`, `--releases`, `--lock`;
 * none: the deploy). `deploy:rollback -- VERSION` takes the version as a positional word, passed on
 * as `--to VERSION` for the common flag parser. Pure, for tests.
 */
export type DeployMode = 'deploy:clean' | 'deploy:rollback' | 'deploy:releases' | 'deploy:lock';

const modeFlags: Record<string, DeployMode> = {
  '--rollback': 'deploy:rollback',
  '--releases': 'deploy:releases',
  '--lock': 'deploy:lock',
};

/** Flags whose next word is their value, not the rollback's version. */
const takesValue = ['--env-file', '--settings-file', '--to'];

export function chooseMode(argv: string[]): { mode: DeployMode; args: string[] } {
  const chosen = modeFlags[argv[0]];
  const rest = chosen ? argv.slice(1) : argv;
  const mode = chosen ?? 'deploy:clean';
  const positional =
    mode === 'deploy:rollback'
      ? rest.findIndex((a, i) => !a.startsWith('-') && !(i > 0 && takesValue.includes(rest[i - 1])))
      : -1;
  const args =
    positional >= 0 ? [...rest.slice(0, positional), '--to', rest[positional], ...rest.slice(positional + 1)] : rest;
  return { mode, args };
}
