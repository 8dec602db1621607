/** What the registry client raises, and the words for it: the registry's own error codes, the unreachable host. */
import { TaskError } from '../errors.ts';

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

const TIMEOUT_ERRORS = /UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|UND_ERR_CONNECT_TIMEOUT|TimeoutError|timed out/;

/** The registry failed too many times in a row: nothing more is sent to it in this run. */
export class RegistryUnavailable extends TaskError {}

export function errorCode(body: Buffer): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return parsed.errors?.[0] ?? {};
  } catch {
    return {};
  }
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function unreachable(
  error: unknown,
  method: string,
  url: URL,
  base: string,
  options: { timeoutMs: number; retries: number },
): TaskError {
  const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`.trim();
  const step = `${method} ${url.pathname}`;
  if (/CERT|certificate|self.signed|SSL|TLS/i.test(text))
    return new TaskError(
      `The TLS certificate of ${url.origin} could not be verified (${text}). If it uses a private CA, set REGISTRY_CA_FILE to its PEM file.`,
      { cause: error },
    );
  if (TIMEOUT_ERRORS.test(`${text} ${(error as Error).name}`))
    return new TaskError(
      `${url.host}: ${step} got no answer within ${options.timeoutMs / 1000} s ` +
        `(REGISTRY_TIMEOUT_SECONDS), also after ${options.retries} retries. The host may hang; ` +
        `check it, or raise the timeout.`,
      { cause: error },
    );
  return new TaskError(
    `Cannot reach ` +
      `${url.origin === new URL(base).origin ? `the registry at ${base}` : url.origin} ` +
      `(${step}: ${text}). Check REGISTRY_URL and that the registry is running.`,
    { cause: error },
  );
}
