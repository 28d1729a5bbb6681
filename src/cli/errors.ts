/**
 * The `keyward` command's exit codes, declared once (README "CLI" lists them):
 * 0 success, 1 the API (or the store) refused or could not be reached,
 * 2 usage error (flags, settings, missing confirmation), 3 the answer is
 * "no" (a key that does not verify; `rotation due`: keys are due), 4
 * `rotation due --bump`: keys were due and were bumped.
 */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  NOT_VALID: 3,
  DUE: 3,
  DUE_BUMPED: 4,
} as const;

/** A mistake in how the command was called: exit code 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** A refusal found by the CLI itself (e.g. a duplicate organization name): exit code 1, with what to do. */
export class CliError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'CliError';
    this.hint = hint;
  }
}
