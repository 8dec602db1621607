/**
 * Registry authentication: HTTP basic, and bearer tokens (realm, service, scope) fetched with
 * the basic credentials. A token is kept per scope until shortly before it expires, so a plan
 * over thousands of tags asks the token server once per repository and action, not per request.
 */
export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const param of match[2].matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[param[1].toLowerCase()] = (param[2] ?? param[3]).replace(/\\(.)/g, '$1');
  return { scheme, params };
}

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** The scope a request needs, so a cached token can be sent before any 401. */
export function scopeFor(method: string, path: string): string | undefined {
  if (path.startsWith('/v2/_catalog')) return 'registry:catalog:*';
  const match = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(path);
  if (!match) return undefined;
  const actions = method === 'DELETE' ? 'delete' : method === 'GET' || method === 'HEAD' ? 'pull' : 'pull,push';
  return `repository:${match[1]}:${actions}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  get(scope: string | undefined, now = Date.now()): string | undefined {
    if (!scope) return undefined;
    const cached = this.tokens.get(scope);
    return cached && cached.expiresAt > now ? cached.token : undefined;
  }

  /** Keeps the token until 30 s before it expires (60 s lifetime when the server names none). */
  set(scope: string, token: string, expiresInSeconds: number | undefined, issuedAt = Date.now()): void {
    const lifetime = (expiresInSeconds && expiresInSeconds > 0 ? expiresInSeconds : 60) * 1000;
    this.tokens.set(scope, { token, expiresAt: issuedAt + Math.max(lifetime - 30_000, lifetime / 2) });
  }
}
