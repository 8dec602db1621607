/**
 * `npm run audit [-- --json] [-- --host H] [-- --last N]`: what was applied, by whom, where:
 * the local audit log and the logs on the hosts it names (lib/operations/audit-read.ts).
 */
import { parseArgs } from 'node:util';
import { exitCodeOf, messageOf, UsageError } from '../lib/errors.ts';
import { auditTable, readAudit } from '../lib/operations/audit-read.ts';
import { isEntryPoint, pipelineSettings } from '../lib/pipeline/run.ts';
import { redact } from '../lib/redact.ts';
import { serverRunner, serverSettings } from '../lib/server/settings.ts';
import { readSettings, readSettingsFile, settingsError, type SettingProblem } from '../lib/settings-read.ts';
import { sshSafetySettings } from '../lib/ssh-settings.ts';

export const auditSettings = {
  REPORTS_DIR: pipelineSettings.REPORTS_DIR,
  SSH_IDENTITY_FILE: serverSettings.SSH_IDENTITY_FILE,
  SSH_KNOWN_HOSTS_FILE: serverSettings.SSH_KNOWN_HOSTS_FILE,
  ...sshSafetySettings,
};

const usage = `Usage: npm run audit [-- --json] [-- --host HOST] [-- --last N]
Shows the last N (default 20) audit entries: this machine's log (REPORTS_DIR/audit.jsonl) and
the logs on the hosts it names. --host shows only the runs that changed HOST (as the settings name it).`;

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        host: { type: 'string' },
        last: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        'settings-file': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${messageOf(error)}\n${usage}`);
  }
  const last = parsed.last === undefined ? 20 : Number(parsed.last);
  if (!Number.isInteger(last) || last < 1)
    throw new UsageError(`--last must be a whole number (1 or more), not "${parsed.last}". Example: --last 50`);
  return { ...parsed, last };
}

export async function auditMain(argv: string[]): Promise<number> {
  try {
    const flags = parse(argv);
    if (flags.help) {
      process.stdout.write(usage + '\n');
      return 0;
    }
    const file = readSettingsFile(flags['settings-file']);
    const problems: SettingProblem[] = [];
    const settings = readSettings(auditSettings, { ...file.values, ...process.env }, problems);
    if (problems.length) throw settingsError(problems);
    const { rows, warnings } = await readAudit({
      reportsDir: settings.REPORTS_DIR,
      host: flags.host,
      last: flags.last,
      runnerFor: (host) => serverRunner(settings, host),
    });
    for (const warning of warnings) process.stderr.write(redact(warning) + '\n');
    process.stdout.write(redact(flags.json ? JSON.stringify(rows, null, 2) : auditTable(rows)) + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(redact(messageOf(error)) + '\n');
    return exitCodeOf(error);
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await auditMain(process.argv.slice(2));
