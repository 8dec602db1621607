import { redact } from '../redact.ts';

/** Every line of a run goes to stderr, redacted, so that `--json` leaves stdout to the report. */
export function say(text: string): void {
  process.stderr.write(redact(text) + '\n');
}
