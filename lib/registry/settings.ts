/** The registry task's settings (.env keys), and the client and GC commands built from them. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseCommandSetting } from '../command.ts';
import { messageOf } from '../errors.ts';
import { runnerFor, type Runner, type SshDefaults } from '../runner.ts';
import { setting, type Setting, type SettingsOf } from '../settings.ts';
import { sshSafetyDefaults, sshSafetySettings } from '../ssh-settings.ts';
import { registryPolicy } from './cleanup-policy.ts';
import { RegistryClient } from './client.ts';
import type { GcCommands } from './gc.ts';
import { TAG_SYNTAX, TOKEN_SYNTAX } from './policy.ts';

/** The policy's own tokens, as the help shows them: written once, in lib/registry/cleanup-policy.ts. */
const TOKENS = registryPolicy.deleteTagTokens.join(',');

/** A comma-separated list whose every item must have a syntax; a wrong item names itself and the fix. */
function checkedList(
  help: string,
  fallback: string[] | undefined,
  syntax: RegExp,
  what: string,
): Setting<string[] | undefined> {
  return {
    help,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return { value: fallback };
      const items = raw.split(',').map((item) => item.trim());
      const wrong = items.filter((item) => !syntax.test(item));
      if (wrong.length)
        return {
          problem: `has ${wrong.map((w) => `"${w}"`).join(', ')}, which ${wrong.length === 1 ? 'is' : 'are'} not ${what}`,
        };
      return { value: items };
    },
  };
}

/** A PEM file of one or more CA certificates; anything else names itself (a key, a bundle typo). */
function caFile(help: string): Setting<string | undefined> {
  const path = setting.optionalPath(help, 'file');
  return {
    ...path,
    example: '/etc/ssl/private-ca.pem',
    parse(raw) {
      const parsed = path.parse(raw);
      if (!('value' in parsed) || parsed.value === undefined) return parsed;
      const certificates = readFileSync(parsed.value, 'utf8').match(PEM_CERTIFICATE) ?? [];
      try {
        if (!certificates.length) throw new Error('no BEGIN CERTIFICATE block in it');
        for (const pem of certificates) new X509Certificate(pem);
      } catch (error) {
        return { problem: `${parsed.value} is not a PEM certificate (${messageOf(error)})` };
      }
      return parsed;
    },
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export const registrySettings = {
  REGISTRY_URL: setting.url('base URL of the registry, e.g. http://127.0.0.1:5000 (https is verified)'),
  REGISTRY_USERNAME: setting.optionalString('user for basic or token auth (empty: no auth)'),
  REGISTRY_PASSWORD: setting.secret('password for that user (needs REGISTRY_USERNAME)', 'REGISTRY_USERNAME'),
  REGISTRY_CA_FILE: caFile(
    'PEM file of a private CA that signed the registry certificate (trusted besides the system roots)',
  ),
  REGISTRY_CONCURRENCY: setting.int('requests in flight at once (and connections kept open)', 64, { min: 1, max: 256 }),
  REGISTRY_TIMEOUT_SECONDS: setting.int('seconds before a request with no answer is retried', 30, { min: 1 }),
  REGISTRY_RETRIES: setting.int('retries of a request after a 5xx or a dropped connection', 4, { min: 0, max: 10 }),
  REGISTRY_MAX_CONSECUTIVE_FAILURES: setting.int(
    'requests failing in a row (5xx, resets, timeouts; each after its retries) after which apply stops instead of pressing on',
    8,
    { min: 1, max: 1000 },
  ),
  REGISTRY_CATALOG_PAGE_SIZE: setting.int('repositories per catalog page', 100, { min: 1, max: 1000 }),
  REGISTRY_PROTECT_TAGS: checkedList(
    'tags never deleted in any repository, whatever the rules say (comma-separated)',
    ['latest', 'final'],
    TAG_SYNTAX,
    'a tag (letters, digits, _ . -, at most 128 characters, not starting with . or -)',
  ) as Setting<string[]>,
  REGISTRY_DELETE_TAG_TOKENS: checkedList(
    'tokens that make a tag a test image, matched as a whole part of the tag split on - _ . ' +
      `and optionally followed by digits (empty: the list in lib/registry/cleanup-policy.ts, ${TOKENS})`,
    undefined,
    TOKEN_SYNTAX,
    'a token: one word of letters and digits starting with a letter, without separators or wildcards ' +
      `(e.g. ${TOKENS})`,
  ),
  REGISTRY_MIN_AGE_HOURS: setting.int(
    'age floor: a tag whose image was created less than this many hours ago is kept, ' +
      'whatever rule would delete it (a CI pipeline may still use it; 0: no floor). 24 covers ' +
      'a pipeline in flight and a night between push and deploy',
    24,
    { min: 0 },
  ),
  REGISTRY_ALIASES: setting.list(
    'other names the Docker hosts use for this registry, host:port, comma-separated (localhost and 127.0.0.1 are one already), e.g. registry.example:5000',
  ),
  REGISTRY_SIZE_LIMIT: setting.bytes('the size the registry must stay under (plan section 7)', 5e9),
  REGISTRY_HOST: setting.optionalHost('where garbage collection runs: local, or an ssh destination [user@]host[:port]'),
  REGISTRY_GC_STOP_COMMAND: setting.command(
    'command that stops the registry (or makes it read-only) before GC, e.g. docker stop registry',
  ),
  REGISTRY_GC_COMMAND: setting.command(
    'the GC command, e.g. docker run --rm -v /srv/registry:/var/lib/registry registry:2 ' +
      'garbage-collect /etc/docker/registry/config.yml (empty: no GC, space is not reclaimed)',
  ),
  REGISTRY_GC_START_COMMAND: setting.command(
    'command that starts the registry again after GC, e.g. docker start registry',
  ),
  REGISTRY_LOCK_DIR: setting.remotePath(
    'folder on the registry host for the lock around deletion and collection, and the marker of a collection under way',
    '/tmp',
  ),
  REGISTRY_LOCK_WAIT_SECONDS: setting.int(
    'seconds a run waits for the registry lock held by another run before it stops',
    60,
    { min: 0 },
  ),
  REGISTRY_LOCK_TTL_SECONDS: setting.int(
    'seconds after which a lock whose holder never released it counts as stale (then --force takes it over)',
    4 * 3600,
    { min: 60 },
  ),
  REGISTRY_STORAGE_PATH: setting.optionalString(
    'storage folder on the registry host, measured with du before and after GC',
  ),
  REGISTRY_STORAGE_VOLUME: setting.optionalString(
    'named Docker volume holding the storage on the registry host (a registry in a container): measured before and ' +
      "after GC as docker system df -v counts it, which needs no access to Docker's data root",
  ),
  REGISTRY_STATE_DIR: setting.string(
    'folder on this machine for the undo journals of registry runs and the record of deletions not yet collected',
    '.cleanup-state',
  ),
  SSH_IDENTITY_FILE: setting.optionalPath('private key for ssh (empty: ssh defaults)', 'file'),
  SSH_KNOWN_HOSTS_FILE: setting.optionalPath(
    'known_hosts file for ssh (empty: ~/.ssh/known_hosts); host keys are always checked',
    'file',
  ),
  ...sshSafetySettings,
};

export type RegistrySettings = SettingsOf<typeof registrySettings>;

/**
 * The hosts whose images the registry task keeps ("in use means kept"). Optional here: the
 * server and deploy tasks, which need them, declare them required.
 */
export const registryInUseSettings = {
  DEPLOY_HOST: setting.optionalString(
    'the production server, whose running images and retained releases the registry keeps',
  ),
  DEPLOY_DIR: setting.string(
    'folder on the server for the compose file, its .env and the deploy state',
    '/srv/webhook',
  ),
  SERVER_HOSTS: setting.list('Docker hosts whose images the registry keeps'),
};

export type RegistryInUseSettings = SettingsOf<typeof registryInUseSettings>;

export function registryClient(settings: RegistrySettings): RegistryClient {
  return new RegistryClient({
    url: settings.REGISTRY_URL,
    username: settings.REGISTRY_USERNAME,
    password: settings.REGISTRY_PASSWORD,
    caFile: settings.REGISTRY_CA_FILE,
    connections: settings.REGISTRY_CONCURRENCY,
    timeoutMs: settings.REGISTRY_TIMEOUT_SECONDS * 1000,
    retries: settings.REGISTRY_RETRIES,
    maxConsecutiveFailures: settings.REGISTRY_MAX_CONSECUTIVE_FAILURES,
  });
}

export function gcCommands(settings: RegistrySettings): GcCommands | undefined {
  if (!settings.REGISTRY_GC_COMMAND) return undefined;
  const optional = (text: string | undefined, name: string) => (text ? parseCommandSetting(text, name) : undefined);
  return {
    stop: optional(settings.REGISTRY_GC_STOP_COMMAND, 'REGISTRY_GC_STOP_COMMAND'),
    collect: parseCommandSetting(settings.REGISTRY_GC_COMMAND, 'REGISTRY_GC_COMMAND'),
    start: optional(settings.REGISTRY_GC_START_COMMAND, 'REGISTRY_GC_START_COMMAND'),
    storagePath: settings.REGISTRY_STORAGE_PATH,
    storageVolume: settings.REGISTRY_STORAGE_VOLUME,
  };
}

export function sshDefaults(
  settings: Pick<RegistrySettings, 'SSH_IDENTITY_FILE' | 'SSH_KNOWN_HOSTS_FILE'> &
    Partial<SettingsOf<typeof sshSafetySettings>>,
): SshDefaults {
  return {
    identityFile: settings.SSH_IDENTITY_FILE,
    knownHostsFile: settings.SSH_KNOWN_HOSTS_FILE,
    ...sshSafetyDefaults(settings),
  };
}

export function registryHostRunner(settings: RegistrySettings): Runner {
  return runnerFor(settings.REGISTRY_HOST, sshDefaults(settings), 'REGISTRY_HOST');
}
