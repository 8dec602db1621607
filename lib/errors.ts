/**
 * Two kinds of failure a user can act on, each with its exit code:
 * - UsageError (2): the settings or the command line are wrong; nothing was touched.
 * - TaskError (1): the world answered badly (unreachable host, refused credentials, a failed step).
 * Anything else is a bug and also exits 1, with its stack.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class TaskError extends Error {
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TaskError';
  }
}

/** Every exit code a script ends with, and what it means (shown by --help and in the README). */
export const exitCodes = {
  0: 'done: applied, planned, or nothing to do',
  1: 'a task or a check failed (the report says which)',
  2: 'bad flags or settings: nothing was touched',
  3: '--check only: changes are pending',
  130: 'interrupted by Ctrl-C (SIGINT); the report says what was done and what was not',
  143: 'interrupted by SIGTERM; as 130',
} as const;

export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError ? 2 : 1;
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
