/** Where a deploy or rollback leaves its audit line: in the deploy folder, beside deploy-state.json (Kamal keeps its log in the app's folder too). */
import { join } from 'node:path';
import type { ApplyOutcome, AuditPlace } from '../task.ts';
import { serverRunner } from '../server/settings.ts';
import type { DeploySettings } from './settings.ts';

export const deployAuditFile = 'cleanup-audit.jsonl';

export function deployAuditPlaces(outcome: ApplyOutcome, settings: DeploySettings): AuditPlace[] {
  if (!outcome.done.length && !outcome.failed.length) return [];
  return [
    {
      host: settings.DEPLOY_HOST,
      path: join(settings.DEPLOY_DIR, deployAuditFile),
      runner: () => serverRunner(settings, settings.DEPLOY_HOST),
    },
  ];
}
