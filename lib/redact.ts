/**
 * Secrets are registered once, when settings are read, and every line the tool prints or writes
 * (renderer output, reports, error messages) passes through `redact`. Registering at the source
 * means a new output path cannot forget a secret it never heard of.
 */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short values would blank out ordinary words in the output.
  if (value && value.length >= 3) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** Deep-redacts a JSON-able value (used for reports). */
export function redactValue<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value))) as T;
}
