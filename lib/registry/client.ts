/**
 * The HTTP client of the registry API: one undici Agent with keep-alive connections (a plan over
 * thousands of tags must not open a connection per request), authentication, timeouts, and
 * retries with backoff on 5xx answers and dropped connections (undici's retry interceptor). It
 * counts its requests, retries included, so the report and the benchmark can say how many were made.
 * About 250 lines: one class, since auth, redirects and retries share each request's state.
 */
import { rootCertificates } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Agent, Dispatcher } from 'undici';
import { TaskError } from '../errors.ts';
import { sharedDeadlines } from './deadline.ts';
import { basicHeader, parseChallenge, scopeFor, TokenCache, type Challenge } from './auth.ts';
import { errorCode, header, RegistryError, RegistryUnavailable, unreachable } from './http-errors.ts';

export interface ClientOptions {
  url: URL;
  username?: string;
  password?: string;
  /** PEM file of a private CA; TLS is always verified. */
  caFile?: string;
  /** Connections kept open to the registry; also the request concurrency callers should use. */
  connections: number;
  /** Longest wait for one request: its answer's headers, its body, and the whole exchange. */
  timeoutMs: number;
  retries: number;
  /**
   * After this many transient failures in a row (5xx, resets, timeouts, each after its own
   * retries), the registry is deemed down: the client stops sending and `unavailable` aborts.
   */
  maxConsecutiveFailures?: number;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Attempts the retry made for this answer: after more than one, an earlier attempt may have done the work. */
  attempts: number;
}

/** Rides along in a request's options through the retry, which sends the same options on each attempt. */
interface AttemptCount {
  attempts?: { sent: number };
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Answers the caller handles itself instead of raising RegistryError. */
  accept?: number[];
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_ERRORS = new RegExp(
  [
    ...['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'],
    ...['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'],
    ...['other side closed', 'TimeoutError', 'timed out'],
  ].join('|'),
);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** A failure worth another attempt: a 429/5xx answer (undici's RequestRetryError), a reset, a timeout. */
function isTransient(error: Error & { statusCode?: number; code?: string }): boolean {
  if (error.statusCode !== undefined) return RETRYABLE_STATUS.has(error.statusCode);
  return RETRYABLE_ERRORS.test(`${error.code ?? ''} ${error.name} ${error.message}`);
}

/**
 * A private CA is trusted besides Node's roots, not instead of them: a token server or a redirect
 * to storage signed by a public CA still verifies once REGISTRY_CA_FILE is set.
 */
export function trustedCertificates(caFile: string): string[] {
  return [...rootCertificates, readFileSync(caFile, 'utf8')];
}

export class RegistryClient {
  readonly base: string;
  requests = 0;
  /**
   * The agent, and in front of it undici's retry: every request of this client goes through it.
   * undici loads with the first request: a run that never asks the registry skips its start-up,
   * and one that does loads it while its other reads (ssh, compose) are under way.
   */
  private connection?: Promise<{ agent: Agent; dispatcher: Dispatcher; request: typeof import('undici').request }>;
  private readonly tokens = new TokenCache();
  /** Token requests under way, per scope: concurrent 401s for one scope share one request. */
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** Set once the registry has asked for basic auth, so later requests send it up front. */
  private basic = false;
  /** Transient failures in a row; any answer that is not one resets it. */
  private consecutiveFailures = 0;
  private readonly down = new AbortController();
  /** The bound of each whole exchange (see wholeExchangeMs), shared per second of start times. */
  private readonly deadline: () => AbortSignal;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.href.replace(/\/+$/, '');
    this.deadline = sharedDeadlines(this.wholeExchangeMs);
  }

  private connect() {
    return (this.connection ??= import('undici').then(({ Agent, interceptors, request }) => {
      const { options } = this;
      const agent = new Agent({
        connections: options.connections,
        keepAliveTimeout: 30_000,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        connect: {
          timeout: Math.min(options.timeoutMs, 10_000),
          ...(options.caFile ? { ca: trustedCertificates(options.caFile) } : {}),
        },
      });
      // Last is outermost: retry wraps the counter, so every attempt is counted.
      const dispatcher = agent.compose(
        this.countRequests,
        interceptors.retry({
          maxRetries: options.retries,
          statusCodes: [...RETRYABLE_STATUS],
          retry: this.retryTransient,
        }),
      );
      return { agent, dispatcher, request };
    }));
  }

  private readonly countRequests: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    this.requests++;
    const count = (opts as AttemptCount).attempts;
    if (count) count.sent++;
    return dispatch(opts, handler);
  };

  /**
   * The retry decision undici asks for after each failed attempt (`counter` of them so far):
   * again, after a backoff with jitter, while it is transient (a 429/5xx answer, a reset, a
   * timeout), the retries are not spent, and the registry is not deemed down.
   */
  private readonly retryTransient = (
    error: Error,
    { state }: { state: { counter: number } },
    again: (stop?: Error | null) => void,
  ): void => {
    if (!isTransient(error) || state.counter > this.options.retries || this.down.signal.aborted) return again(error);
    setTimeout(() => again(null), Math.min(200 * 2 ** (state.counter - 1), 5_000) * (0.75 + Math.random() / 2));
  };

  /**
   * The bound on one exchange with its retries: each attempt's own bounds are the agent's header
   * and body timeouts; this one stops an answer that trickles forever, attempts and backoffs included.
   */
  private get wholeExchangeMs(): number {
    return (this.options.retries + 1) * this.options.timeoutMs + this.options.retries * 5_000;
  }

  /** A client of its own with the same settings, e.g. to wait through a restart without its failures counting against this one. */
  sibling(overrides: Partial<ClientOptions> = {}): RegistryClient {
    return new RegistryClient({ ...this.options, ...overrides });
  }

  /** Aborts (with a RegistryUnavailable) once the registry failed too many times in a row. */
  get unavailable(): AbortSignal {
    return this.down.signal;
  }

  get hasCredentials(): boolean {
    return Boolean(this.options.username && this.options.password);
  }

  async close(): Promise<void> {
    if (this.connection) await (await this.connection).agent.close();
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
      throw new RegistryError(
        `${method} ${path} answered ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`,
        response.status,
        code,
      );
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
      ? new TaskError(
          `The registry at ${this.base} refused the credentials (401). Check REGISTRY_USERNAME and REGISTRY_PASSWORD.`,
        )
      : new TaskError(
          `The registry at ${this.base} requires authentication (401). Set REGISTRY_USERNAME and REGISTRY_PASSWORD.`,
        );
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
    if (!realm)
      throw new TaskError(
        `The registry at ${this.base} asked for a bearer token without naming a realm; it cannot be authenticated against.`,
      );
    const tokenUrl = new URL(realm);
    this.checkRealm(tokenUrl);
    if (service) tokenUrl.searchParams.set('service', service);
    const wanted = scope ?? scopeFor(method, path);
    if (wanted) for (const part of wanted.split(' ')) tokenUrl.searchParams.append('scope', part);
    const response = await this.withRetries('GET', tokenUrl, {
      authorization: basicHeader(this.options.username!, this.options.password!),
    });
    if (response.status === 401 || response.status === 403) throw this.refused();
    if (response.status >= 400)
      throw new TaskError(`The token server ${tokenUrl.origin} answered ${response.status}; so no token was issued.`);
    const body = JSON.parse(response.body.toString('utf8')) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new TaskError(`The token server ${tokenUrl.origin} answered without a token.`);
    if (key) this.tokens.set(key, token, body.expires_in);
    return `Bearer ${token}`;
  }

  /**
   * Basic credentials go to the registry's own origin, or to a token realm over https: a realm
   * elsewhere over plain http would carry the password unencrypted to another server.
   */
  private checkRealm(realm: URL): void {
    if (realm.protocol === 'https:' || realm.origin === new URL(this.base).origin) return;
    throw new TaskError(
      `The registry at ${this.base} names the token realm ${realm.origin}${realm.pathname}: another origin, over plain ${realm.protocol.replace(':', '')}. ` +
        'REGISTRY_USERNAME and REGISTRY_PASSWORD were not sent there, since they would cross the network unencrypted to a different server. ' +
        "Serve the token realm over https (the registry's auth.token.realm), or on the registry's own origin; nothing was changed.",
    );
  }

  private send(
    method: Dispatcher.HttpMethod,
    path: string,
    options: RequestOptions,
    authorization: string | undefined,
  ): Promise<Response> {
    const url = new URL(path, this.base + '/');
    return this.withRetries(
      method,
      url,
      { ...options.headers, ...(authorization ? { authorization } : {}) },
      options.body,
    );
  }

  /** One exchange, retried by the dispatcher; counts the registry's failures in a row across calls. */
  private async withRetries(
    method: Dispatcher.HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body?: Buffer | string,
  ): Promise<Response> {
    if (this.down.signal.aborted) throw this.down.signal.reason;
    try {
      const response = await this.fetch(method, url, headers, body);
      if (RETRYABLE_STATUS.has(response.status))
        this.failedInARow(`${method} ${url.pathname} answered ${response.status}`);
      else this.consecutiveFailures = 0;
      return response;
    } catch (error) {
      const failure = this.unreachable(error, method, url);
      if (isTransient(error as Error)) this.failedInARow(failure.message);
      throw failure;
    }
  }

  private failedInARow(what: string): void {
    const limit = this.options.maxConsecutiveFailures;
    if (!limit || ++this.consecutiveFailures < limit) return;
    this.down.abort(
      new RegistryUnavailable(
        `The registry at ${this.base} failed ${this.consecutiveFailures} requests in a row (each ` +
          `after ${this.options.retries} retries; last: ${what}), so this run stopped sending to ` +
          `it. Run again once it is healthy.`,
      ),
    );
  }

  /** One exchange, following redirects itself: a redirect never carries the Authorization header. */
  private async fetch(
    method: Dispatcher.HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body?: Buffer | string,
  ): Promise<Response> {
    const { dispatcher, request } = await this.connect();
    let target = url;
    let sent = headers;
    let verb = method;
    for (let hop = 0; ; hop++) {
      let response: Dispatcher.ResponseData;
      const attempts = { sent: 0 };
      try {
        const options = {
          method: verb,
          headers: sent,
          body: verb === method ? body : undefined,
          dispatcher,
          signal: this.deadline(),
          attempts,
        };
        response = await request(target, options);
      } catch (error) {
        // A 429/5xx still failing after the retries comes as undici's RequestRetryError: it is the
        // registry's last answer, handed on as one (its body is gone; the status says enough).
        const { statusCode, headers = {} } = error as { statusCode?: number; headers?: Response['headers'] };
        if (statusCode === undefined) throw error;
        return { status: statusCode, headers, body: Buffer.alloc(0), attempts: attempts.sent };
      }
      const location = header(response.headers, 'location');
      if (REDIRECTS.has(response.statusCode) && location && hop < MAX_REDIRECTS) {
        await response.body.dump();
        target = new URL(location, target);
        sent = Object.fromEntries(Object.entries(sent).filter(([name]) => name.toLowerCase() !== 'authorization'));
        if (response.statusCode === 303) verb = 'GET';
        continue;
      }
      const chunks = verb === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await response.body.arrayBuffer());
      if (verb === 'HEAD') await response.body.dump();
      return { status: response.statusCode, headers: response.headers, body: chunks, attempts: attempts.sent };
    }
  }

  private unreachable(error: unknown, method: string, url: URL): TaskError {
    return unreachable(error, method, url, this.base, this.options);
  }
}
