/** The deploy task's settings (.env keys). */
import { setting, type SettingsOf } from '../settings.ts';
import { registrySettings } from '../registry/settings.ts';
import { serverSettings } from '../server/settings.ts';

export const deploySettings = {
  ...registrySettings,
  ...serverSettings,
  BACKEND_DIR: setting.path('the backend repository (a path on this machine)', 'folder'),
  DEPLOY_HOST: setting.host('the production server: ssh destination [user@]host[:port], or local'),
  DEPLOY_DIR: setting.remotePath(
    'folder on the server for the compose file, its .env and the deploy state',
    '/srv/webhook',
  ),
  DEPLOY_COMPOSE_FILE: setting.string(
    'the compose file in BACKEND_DIR; it must name the API image as ${WEBHOOK_IMAGE}',
    'docker-compose.webhook.prod.yml',
  ),
  DEPLOY_COMPOSE_ENV: setting.list('extra KEY=value lines for the compose project .env (e.g. WEBHOOK_PORT=8001)'),
  DEPLOY_IMAGE: setting.string(
    'repository of the webhook API image in the registry, e.g. registry.example:5000/webhook-api',
  ),
  DEPLOY_EXTRA_TAGS: setting.list(
    'tags moved to a new release only after it passed the health gate (final; add latest when the project uses it)',
    ['final'],
  ),
  DEPLOY_KEEP_RELEASES: setting.int(
    'releases kept for rollback (their tags in the registry and images on the server); older ones are cleaned up',
    5,
    { min: 1 },
  ),
  DEPLOY_PROBE_URL: setting.optionalString(
    'the front URL a probe asks every 20 ms during deploy and rollback, to measure downtime (empty: not measured)',
  ),
  DEPLOY_BUILD_CONTEXT: setting.string('build context, relative to BACKEND_DIR', 'api_server'),
  DEPLOY_DOCKERFILE: setting.string('Dockerfile, relative to the build context', 'Dockerfile.webhook'),
  DEPLOY_BUILD_DOCKER_HOST: setting.optionalString('Docker engine that builds and pushes (empty: the default one)'),
  DEPLOY_BUILD_TIMEOUT_SECONDS: setting.int(
    'seconds the image build, and then its push, may each run before it is stopped as hung (nothing on the server has changed by then)',
    1800,
    { min: 1 },
  ),
  DEPLOY_HEALTH_URLS: setting.urlList(
    'URLs that must answer 2xx after the deploy, e.g. http://prod-1.example:8001/health,http://prod-1.example:8002/health',
  ),
  DEPLOY_HEALTH_TIMEOUT_SECONDS: setting.int(
    'seconds the new version has to become healthy before it is rolled back',
    60,
    { min: 1 },
  ),
  DEPLOY_HEALTH_PROBE_TIMEOUT_SECONDS: setting.int(
    'seconds one health probe waits for an answer before it counts as failed (the gate asks again until DEPLOY_HEALTH_TIMEOUT_SECONDS)',
    3,
    { min: 1 },
  ),
  DEPLOY_SECOND_PORT: setting.optionalString(
    "on the host's network: KEY=PORT, the DEPLOY_COMPOSE_ENV variable of the API's port and a second " +
      'free port, so a new release starts beside the old one (blue/green), e.g. WEBHOOK_PORT=8011',
  ),
  DEPLOY_DRAIN_SECONDS: setting.int(
    'seconds the old API container keeps running after the front moved to the new one, so requests it took finish',
    2,
    { min: 0 },
  ),
  DEPLOY_COMPOSE_TIMEOUT_SECONDS: setting.int(
    'seconds one compose step on the deploy host (pull, up, down) may run before it is stopped as hung; then what served before is brought back',
    900,
    { min: 1 },
  ),
};

export type DeploySettings = SettingsOf<typeof deploySettings>;
