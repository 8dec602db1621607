/**
 * Plan section 7: the success criteria, each checked with its figure.
 *
 *   [ ] All legacy files deleted
 *   [ ] Only the necessary scripts remain
 *   [ ] Docker registry cleaned (< 5 GB)
 *   [ ] Production server uses < 80% of its disk
 *   [ ] Webhook API works stably
 *   [ ] All tests pass
 *   [ ] Documentation brought up to date
 *
 * Read-only: it changes nothing, and any failed line fails the run.
 */
import { formatBytes } from '../lib/units.ts';
import { parseCommandSetting } from '../lib/command.ts';
import { stability } from '../lib/deploy/health.ts';
import { messageOf } from '../lib/errors.ts';
import { isEntryPoint, main } from '../lib/pipeline/run.ts';
import { emptyPlan } from '../lib/plan.ts';
import { documentationUpToDate, legacyFilesDeleted, onlyNecessaryScripts } from '../lib/inventory/criteria.ts';
import { measureRegistrySize } from '../lib/registry/cleanup.ts';
import { registrySettings } from '../lib/registry/settings.ts';
import { diskCheck } from '../lib/server/hosts.ts';
import { localRunner } from '../lib/runner.ts';
import { serverRunner, serverSettings } from '../lib/server/settings.ts';
import { readDockerRoot } from '../lib/server/state.ts';
import { setting } from '../lib/settings.ts';
import { defineTask, emptyOutcome, type Check } from '../lib/task.ts';

/** Run as `npm run verify` (read-only, so it checks even in plan mode), not inside the chain. */
const standalone = isEntryPoint(import.meta.url);

export const verifySettings = {
  ...registrySettings,
  ...serverSettings,
  BACKEND_DIR: setting.path('the backend repository (a path on this machine)', 'folder'),
  DEPLOY_HEALTH_URLS: setting.urlList(
    'URLs of the webhook endpoints, e.g. http://prod-1.example:8001/health,http://prod-1.example:8002/health',
  ),
  VERIFY_PROBES: setting.int('health probes per URL for "works stably"', 20, { min: 1 }),
  VERIFY_WINDOW_SECONDS: setting.int('seconds the probes are spread over', 10, { min: 0 }),
  VERIFY_TEST_COMMAND: setting.string(
    "the backend's own tests, run in BACKEND_DIR with WEBHOOK_URLS set",
    'python3 scripts/test_webhook_system.py',
  ),
  VERIFY_TEST_TIMEOUT_SECONDS: setting.int('seconds the tests may take', 600, { min: 1 }),
};

export const verifyTask = defineTask({
  name: 'verify',
  title: 'Success criteria (plan section 7)',
  settings: verifySettings,
  dependsOn: ['deploy'],

  async plan() {
    const plan = emptyPlan('verify');
    plan.notes.push('verify changes nothing; its checks run after the other tasks.');
    return plan;
  },

  async apply() {
    return emptyOutcome();
  },

  async check(ctx, mode) {
    // In a chain that only planned, the criteria would judge the state before the clean-up.
    if (mode === 'plan' && !standalone) return [];
    const s = ctx.settings;
    const guard = async (name: string, run: () => Promise<Check>): Promise<Check> =>
      run().catch((error) => ({ name, passed: false, figure: 'could not be checked', detail: messageOf(error) }));
    const checks: Check[] = [legacyFilesDeleted(s.BACKEND_DIR), onlyNecessaryScripts(s.BACKEND_DIR)];
    checks.push(
      await guard(`registry under ${formatBytes(s.REGISTRY_SIZE_LIMIT)}`, async () => {
        const size = await measureRegistrySize(s);
        return {
          name: `registry under ${formatBytes(s.REGISTRY_SIZE_LIMIT)}`,
          passed: size.bytes < s.REGISTRY_SIZE_LIMIT,
          figure: `${formatBytes(size.bytes)} (${size.basis})`,
        };
      }),
    );
    for (const host of s.SERVER_HOSTS) {
      checks.push(
        await guard(`${host} disk under ${s.SERVER_DISK_MAX_PERCENT}%`, async () => {
          const runner = serverRunner(s, host);
          try {
            return await diskCheck(runner, host, await readDockerRoot(runner), s.SERVER_DISK_MAX_PERCENT);
          } finally {
            await runner.close();
          }
        }),
      );
    }
    checks.push(await stability(s.DEPLOY_HEALTH_URLS, s.VERIFY_PROBES, s.VERIFY_WINDOW_SECONDS));
    const testCommand = parseCommandSetting(s.VERIFY_TEST_COMMAND, 'VERIFY_TEST_COMMAND');
    const tests = await localRunner().$({
      allowFailure: true,
      timeoutMs: s.VERIFY_TEST_TIMEOUT_SECONDS * 1000,
    })`env -C ${s.BACKEND_DIR} WEBHOOK_URLS=${s.DEPLOY_HEALTH_URLS.join(',')} ${testCommand}`;
    const output = `${tests.stdout}${tests.stderr}`.trim();
    checks.push({
      name: 'all tests pass',
      passed: tests.exitCode === 0,
      figure: `${s.VERIFY_TEST_COMMAND}: exit ${tests.exitCode}; ${output.split('\n').pop() ?? ''}`,
      detail: output.slice(-4000),
    });
    checks.push(documentationUpToDate(s.BACKEND_DIR));
    return checks;
  },
});

if (standalone) await main('verify', [verifyTask]);
