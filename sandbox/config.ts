/** Where the sandbox lives and which loopback ports it takes (override with SANDBOX_* variables). */
import { resolve } from 'node:path';

export const sandbox = {
  dir: resolve(process.env.SANDBOX_DIR ?? '.sandbox'),
  registryPort: Number(process.env.SANDBOX_REGISTRY_PORT ?? 5000),
  sshPort: Number(process.env.SANDBOX_SSH_PORT ?? 2222),
  webhookPort: Number(process.env.SANDBOX_WEBHOOK_PORT ?? 8001),
  frontPort: Number(process.env.SANDBOX_FRONT_PORT ?? 8002),
  user: 'aisha',
};
