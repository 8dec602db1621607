/**
 * Where the sandbox lives and which loopback ports it takes (override with SANDBOX_* variables).
 * Two hosts: the production host (`sshPort`) and the registry host (`registrySshPort`, the
 * registry container on `registryPort`). Two folders: `dir` (in the clone by default) holds what
 * only root uses: the registry's configuration and CA, the backend repository, the settings and
 * the reports. `shared` holds what the sandbox's ssh user must reach: its keys and
 * authorized_keys, the Docker engines' sockets, the deploy folder. It is outside the clone, mode 0755, so the sandbox works from a clone in a folder only root can enter
 * (root's home is 0700), without changing the clone's modes.
 */
import { resolve } from 'node:path';

const sshPort = Number(process.env.SANDBOX_SSH_PORT ?? 2222);

export const sandbox = {
  dir: resolve(process.env.SANDBOX_DIR ?? '.sandbox'),
  shared: resolve(process.env.SANDBOX_SHARED_DIR ?? `/var/lib/aisha-cleanup-sandbox-${sshPort}`),
  registryPort: Number(process.env.SANDBOX_REGISTRY_PORT ?? 5000),
  sshPort,
  /** sshd of the registry host (the second host), for the same user. */
  registrySshPort: Number(process.env.SANDBOX_REGISTRY_SSH_PORT ?? 2223),
  webhookPort: Number(process.env.SANDBOX_WEBHOOK_PORT ?? 8001),
  frontPort: Number(process.env.SANDBOX_FRONT_PORT ?? 8002),
  user: 'aisha',
};
