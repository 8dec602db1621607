/** The server task's settings (.env keys) and the runners they name. */
import { deployLockDefaults } from '../host/deploy-lock.ts';
import { UsageError } from '../errors.ts';
import { runnerFor, type Runner } from '../runner.ts';
import { describeTarget, parseSshTarget } from '../ssh.ts';
import { setting, type SettingsOf } from '../settings.ts';
import { sshSafetyDefaults, sshSafetySettings } from '../ssh-settings.ts';

export const serverSettings = {
  SERVER_HOSTS: setting.hostList(
    'Docker hosts to clean: ssh destinations [user@]host[:port], comma-separated (local: this machine)',
  ),
  SERVER_DISK_MAX_PERCENT: setting.int('disk use each host must end under, in percent (plan section 7)', 80, {
    min: 1,
    max: 100,
  }),
  SERVER_CONCURRENCY: setting.int('hosts cleaned at once', 4, { min: 1, max: 64 }),
  SERVER_COMPOSE_PROJECT: setting.string(
    'the deployed compose project: its containers are kept running (e.g. webhook)',
  ),
  SERVER_STOP_NAMES: setting.list(
    'running containers outside the deployed project to stop, as name globs, e.g. old-worker-*,tmp-* (running containers are otherwise kept)',
  ),
  SERVER_REMOVE_NAMES: setting.list(
    'stopped containers that hold data (a named volume, a host folder, a data store image) and may still be removed, as name globs',
  ),
  SERVER_DATA_IMAGES: setting.list(
    'more data store images whose containers are kept, besides postgres, mysql, mariadb, mongo, redis, elasticsearch, e.g. clickhouse,minio',
  ),
  SERVER_PROTECT_NAMES: setting.list('container names never stopped or removed, e.g. postgres,redis'),
  SERVER_PROTECT_LABELS: setting.list('container labels that protect, key=value or key, e.g. role=database'),
  SERVER_PROTECT_IMAGES: setting.list('image references never removed, besides those tasks/server.ts protects'),
  SERVER_ROLLBACK_KEEP: setting.int(
    'newest stopped containers per service of the deployed project, and newest images per repository still in use, kept for rollback',
    3,
    { min: 0 },
  ),
  SERVER_GRACE_HOURS: setting.int('containers stopped less than this many hours ago are kept', 24, { min: 0 }),
  SERVER_REMOVE_VOLUMES: setting.list('named volumes that may be removed when unused (others never are)'),
  SERVER_BUILD_CACHE_MAX_AGE_HOURS: setting.int('build cache unused for longer than this many hours is cleared', 168, {
    min: 0,
  }),
  SERVER_BUILD_CACHE_MAX_SIZE: setting.bytes(
    'unused build cache above this size is cleared, oldest first (0: no size bound)',
    0,
  ),
  DEPLOY_HOST: setting.optionalHost(
    'the production server: while the SERVER_HOSTS entry naming the same host (user aside, ' +
      'port 22 when none is written, localhost = 127.0.0.1 = ::1) is pruned, the deploy lock ' +
      'there is held, so no deploy runs meanwhile',
  ),
  DEPLOY_DIR: setting.remotePath(
    'folder on the server for the compose file, its .env, the deploy state and the deploy lock',
    '/srv/webhook',
  ),
  DEPLOY_LOCK_WAIT_SECONDS: setting.int(
    'seconds a deploy or rollback waits for the deploy lock held by another run, and ' +
      'clean:server waits for it on the deploy host, before it stops naming the holder',
    deployLockDefaults.waitSeconds,
    { min: 0 },
  ),
  DEPLOY_LOCK_TTL_SECONDS: setting.int(
    'seconds after which a deploy lock whose holder never released it counts as stale (then --force takes it over)',
    deployLockDefaults.ttlSeconds,
    { min: 60 },
  ),
  SSH_IDENTITY_FILE: setting.optionalPath('private key for ssh (empty: ssh defaults)', 'file'),
  SSH_KNOWN_HOSTS_FILE: setting.optionalPath(
    'known_hosts file for ssh (empty: ~/.ssh/known_hosts); host keys are always checked',
    'file',
  ),
  // A host that hangs is stopped at SSH_COMMAND_TIMEOUT_SECONDS, named with its step; the others go on.
  ...sshSafetySettings,
};

export type ServerSettings = SettingsOf<typeof serverSettings>;

/**
 * The hosts this run cleans: all of SERVER_HOSTS, or the one `--host` names: as written there,
 * or without its user (host[:port]), or its host name alone, when that names only one.
 * Anything else is a usage error listing the known hosts.
 */
export function selectHosts(hosts: string[], wanted: string | undefined): string[] {
  if (wanted === undefined) return hosts;
  const shortForms = (entry: string) => {
    const target = parseSshTarget(entry);
    return target ? [describeTarget({ host: target.host, port: target.port }), target.host] : [];
  };
  const exact = hosts.filter((h) => h === wanted);
  const found = exact.length ? exact : hosts.filter((h) => shortForms(h).includes(wanted));
  if (found.length === 1) return found;
  const why = found.length
    ? `names ${found.length} hosts of SERVER_HOSTS (${found.join(', ')}); give the one you mean as written there`
    : 'is not one of SERVER_HOSTS';
  throw new UsageError(`--host ${wanted} ${why}. Known hosts: ${hosts.join(', ')}. Nothing was changed.`);
}

export function serverRunner(
  settings: Pick<ServerSettings, 'SSH_IDENTITY_FILE' | 'SSH_KNOWN_HOSTS_FILE'> &
    Partial<SettingsOf<typeof sshSafetySettings>>,
  host: string,
): Runner {
  return runnerFor(
    host,
    {
      identityFile: settings.SSH_IDENTITY_FILE,
      knownHostsFile: settings.SSH_KNOWN_HOSTS_FILE,
      ...sshSafetyDefaults(settings),
    },
    'SERVER_HOSTS',
  );
}
