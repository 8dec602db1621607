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

export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError ? 2 : 1;
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
