/** The server task's settings (.env keys) and the runners they name. */
import { runnerFor, type Runner } from '../runner.ts';
import { setting, type SettingsOf } from '../settings.ts';

export const serverSettings = {
  SERVER_HOSTS: setting.hostList('Docker hosts to clean: ssh destinations [user@]host[:port], comma-separated (local: this machine)'),
  SERVER_DISK_MAX_PERCENT: setting.int('disk use each host must end under, in percent (plan section 7)', 80, { min: 1, max: 100 }),
  SERVER_CONCURRENCY: setting.int('hosts cleaned at once', 4, { min: 1, max: 64 }),
  SERVER_COMPOSE_PROJECT: setting.string('the deployed compose project: its containers are kept running (e.g. webhook)'),
  SERVER_PROTECT_NAMES: setting.list('container names never stopped or removed, e.g. postgres,redis'),
  SERVER_PROTECT_LABELS: setting.list('container labels that protect, key=value or key, e.g. role=database'),
  SERVER_PROTECT_IMAGES: setting.list('image references never removed, besides those tasks/server.ts protects'),
  SERVER_ROLLBACK_KEEP: setting.int('newest stopped containers per service, and newest images per repository, kept for rollback', 3, { min: 0 }),
  SERVER_GRACE_HOURS: setting.int('stopped containers younger than this many hours are kept', 24, { min: 0 }),
  SERVER_REMOVE_VOLUMES: setting.list('named volumes that may be removed when unused (others never are)'),
  SERVER_BUILD_CACHE_MAX_AGE_HOURS: setting.int('build cache unused for longer than this many hours is cleared', 168, { min: 0 }),
  SERVER_BUILD_CACHE_MAX_SIZE: setting.bytes('unused build cache above this size is cleared, oldest first (0: no size bound)', 0),
  SSH_IDENTITY_FILE: setting.optionalPath('private key for ssh (empty: ssh defaults)', 'file'),
  SSH_KNOWN_HOSTS_FILE: setting.optionalPath('known_hosts file for ssh (empty: ~/.ssh/known_hosts); host keys are always checked', 'file'),
};

export type ServerSettings = SettingsOf<typeof serverSettings>;

export function serverRunner(settings: ServerSettings, host: string): Runner {
  return runnerFor(host, { identityFile: settings.SSH_IDENTITY_FILE, knownHostsFile: settings.SSH_KNOWN_HOSTS_FILE }, 'SERVER_HOSTS');
}
