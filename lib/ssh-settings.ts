/**
 * The ssh safety settings every task that reaches a host reads (spread them into its settings
 * spec beside SSH_IDENTITY_FILE and SSH_KNOWN_HOSTS_FILE), and the runner defaults made from them.
 * Host keys are always checked; an unknown key is trusted on first use only when
 * SSH_ACCEPT_NEW_HOST_KEYS says so, and a changed key never is.
 */
import type { SshDefaults } from './runner.ts';
import { setting, type SettingsOf } from './settings.ts';

export const sshSafetySettings = {
  SSH_ACCEPT_NEW_HOST_KEYS: setting.bool(
    'trust the key of a host never seen before on first use (StrictHostKeyChecking=accept-new) and record it; a CHANGED key is always refused',
    false,
  ),
  SSH_CONNECT_TIMEOUT_SECONDS: setting.int('seconds to wait for an ssh connection (ConnectTimeout)', 10, {
    min: 1,
    max: 600,
  }),
  SSH_COMMAND_TIMEOUT_SECONDS: setting.int(
    'seconds a remote command may run before it is stopped as hung (long steps such as garbage collection set their own)',
    600,
    { min: 1 },
  ),
};

/** Missing values (a caller that does not declare these settings) leave the runner's own defaults. */
export function sshSafetyDefaults(settings: Partial<SettingsOf<typeof sshSafetySettings>>): SshDefaults {
  return {
    acceptNewHostKeys: settings.SSH_ACCEPT_NEW_HOST_KEYS,
    connectTimeoutSeconds: settings.SSH_CONNECT_TIMEOUT_SECONDS,
    commandTimeoutSeconds: settings.SSH_COMMAND_TIMEOUT_SECONDS,
  };
}
