/**
 * How hosts and images are named, and when two names are one.
 *
 * Whether two host settings name the same machine, however they are written: the deploy lock
 * is taken on DEPLOY_HOST, and clean:server must know that the SERVER_HOSTS entry it prunes is
 * that host even when one says `aisha@prod-1:22` and the other `prod-1`.
 *
 * The user does not matter (the engine and the deploy folder belong to the host, not to the
 * login); a missing port is ssh's default, 22; host names compare without case and without a
 * trailing dot; localhost, 127.0.0.1 and ::1 are one loopback host. `local` (this machine,
 * without ssh) is the loopback host on the default port.
 *
 * Image references as Docker writes them: [registry[:port]/]path[:tag][@digest].
 */
import { parseSshTarget } from '../ssh.ts';

export const DEFAULT_SSH_PORT = 22;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** One spelling per machine and port (`loopback:22`, `prod-1.example:2222`); undefined for what is not a host. */
export function hostIdentity(destination: string): string | undefined {
  const text = destination.trim();
  const target = text === 'local' ? { host: 'localhost', port: DEFAULT_SSH_PORT } : parseSshTarget(text);
  if (!target) return undefined;
  const host = target.host.toLowerCase().replace(/\.$/, '');
  return `${LOOPBACK.has(host) ? 'loopback' : host}:${target.port ?? DEFAULT_SSH_PORT}`;
}

export function sameHost(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const identity = hostIdentity(a);
  return identity !== undefined && identity === hostIdentity(b);
}

/** Repository of an image reference: registry:5000/webhook-api:1.2 → registry:5000/webhook-api. */
export function repositoryOf(ref: string): string {
  const name = ref.split('@')[0];
  const at = name.lastIndexOf(':');
  return at > name.lastIndexOf('/') ? name.slice(0, at) : name;
}

/**
 * The reference without its registry: registry.example:5000/team/webhook-api:r1 → team/webhook-api:r1.
 * The first part names a registry when it has a dot or a port, or is localhost (Docker's own rule).
 */
export function withoutRegistry(ref: string): string {
  const [first, ...rest] = ref.split('/');
  return rest.length && /[.:]|^localhost$/.test(first) ? rest.join('/') : ref;
}
