/**
 * The HTTP client of the registry API: one undici Agent with keep-alive connections (a plan over
 * thousands of tags must not open a connection per request), authentication, timeouts, and
 * retries with backoff on 5xx answers and dropped connections. It counts its requests, so the
 * report and the benchmark can say how many were made.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { sleep } from '../concurrency.ts';
import { TaskError } from '../errors.ts';
import { basicHeader, parseChallenge, scopeFor, TokenCache, type Challenge } from './auth.ts';

export interface ClientOptions {
  url: URL;
  username?: string;
  password?: string;
  /** PEM file of a private CA; TLS is always verified. */
  caFile?: string;
  /** Connections kept open to the registry; also the request concurrency callers should use. */
  connections: number;
  timeoutMs: number;
  retries: number;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Answers the caller handles itself instead of raising RegistryError. */
  accept?: number[];
}

/** An answer the registry gave, with its error code from the JSON body when there is one. */
export class RegistryError extends TaskError {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_ERRORS = /ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|UND_ERR_CONNECT_TIMEOUT|other side closed/;

export function errorCode(body: Buffer): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return parsed.errors?.[0] ?? {};
  } catch {
    return {};
  }
}

export function header(headers: Response['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export class RegistryClient {
  readonly base: string;
  requests = 0;
  private readonly agent: Agent;
  private readonly tokens = new TokenCache();
  /** Token requests under way, per scope: concurrent 401s for one scope share one request. */
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** Set once the registry has asked for basic auth, so later requests send it up front. */
  private basic = false;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.href.replace(/\/+$/, '');
    this.agent = new Agent({
      connections: options.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: Math.min(options.timeoutMs, 10_000), ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) },
    });
  }

  get hasCredentials(): boolean {
    return Boolean(this.options.username && this.options.password);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** One API call: path is absolute (`/v2/…`); retries transient failures; handles 401 once. */
  async call(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<Response> {
    let response = await this.send(method, path, options, this.authorization(method, path));
    if (response.status === 401) {
      const challenge = parseChallenge(header(response.headers, 'www-authenticate'));
      const authorization = await this.answer(challenge, method, path);
      response = await this.send(method, path, options, authorization);
      if (response.status === 401) throw this.refused();
    }
    if (response.status >= 400 && !options.accept?.includes(response.status)) {
      const { code, message } = errorCode(response.body);
      throw new RegistryError(`${method} ${path} answered ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, response.status, code);
    }
    return response;
  }

  private authorization(method: string, path: string): string | undefined {
    const token = this.tokens.get(scopeFor(method, path));
    if (token) return `Bearer ${token}`;
    if (this.basic && this.hasCredentials) return basicHeader(this.options.username!, this.options.password!);
    return undefined;
  }

  private refused(): TaskError {
    return this.hasCredentials
      ? new TaskError(`The registry at ${this.base} refused the credentials (401). Check REGISTRY_USERNAME and REGISTRY_PASSWORD.`)
      : new TaskError(`The registry at ${this.base} requires authentication (401). Set REGISTRY_USERNAME and REGISTRY_PASSWORD.`);
  }

  private async answer(challenge: Challenge | undefined, method: string, path: string): Promise<string> {
    if (!this.hasCredentials) throw this.refused();
    if (!challenge || challenge.scheme === 'basic') {
      this.basic = true;
      return basicHeader(this.options.username!, this.options.password!);
    }
    const key = scopeFor(method, path) ?? challenge.params.scope ?? '';
    const cached = this.tokens.get(key);
    if (cached) return `Bearer ${cached}`;
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(challenge, method, path, key).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    return pending;
  }

  private async fetchToken(challenge: Challenge, method: string, path: string, key: string): Promise<string> {
    const { realm, service, scope } = challenge.params;
    if (!realm) throw new TaskError(`The registry at ${this.base} asked for a bearer token without naming a realm; it cannot be authenticated against.`);
    const tokenUrl = new URL(realm);
    if (service) tokenUrl.searchParams.set('service', service);
    const wanted = scope ?? scopeFor(method, path);
    if (wanted) for (const part of wanted.split(' ')) tokenUrl.searchParams.append('scope', part);
    const response = await this.fetch('GET', tokenUrl, { authorization: basicHeader(this.options.username!, this.options.password!) });
    if (response.status === 401 || response.status === 403) throw this.refused();
    if (response.status >= 400) throw new TaskError(`The token server ${tokenUrl.origin} answered ${response.status}; so no token was issued.`);
    const body = JSON.parse(response.body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new TaskError(`The token server ${tokenUrl.origin} answered without a token.`);
    if (key) this.tokens.set(key, token, body.expires_in);
    return `Bearer ${token}`;
  }

  private async send(method: Dispatcher.HttpMethod, path: string, options: RequestOptions, authorization: string | undefined): Promise<Response> {
    const url = new URL(path, this.base + '/');
    const headers = { ...options.headers, ...(authorization ? { authorization } : {}) };
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.fetch(method, url, headers, options.body);
        if (!RETRYABLE_STATUS.has(response.status) || attempt >= this.options.retries) return response;
      } catch (error) {
        if (!RETRYABLE_ERRORS.test(String((error as { code?: string }).code ?? '') + (error as Error).message) || attempt >= this.options.retries) throw this.unreachable(error);
      }
      await sleep(Math.min(200 * 2 ** attempt, 5_000) * (0.75 + Math.random() / 2));
    }
  }

  private async fetch(method: Dispatcher.HttpMethod, url: URL, headers: Record<string, string>, body?: Buffer | string): Promise<Response> {
    this.requests++;
    const response = await request(url, { method, headers, body, dispatcher: this.agent });
    const chunks = method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await response.body.arrayBuffer());
    if (method === 'HEAD') await response.body.dump();
    return { status: response.statusCode, headers: response.headers, body: chunks };
  }

  private unreachable(error: unknown): TaskError {
    const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`.trim();
    if (/CERT|certificate|self.signed|SSL|TLS/i.test(text))
      return new TaskError(`The TLS certificate of ${this.base} could not be verified (${text}). If the registry uses a private CA, set REGISTRY_CA_FILE to its PEM file.`, { cause: error });
    return new TaskError(`Cannot reach the registry at ${this.base} (${text}). Check REGISTRY_URL and that the registry is running.`, { cause: error });
  }
}
