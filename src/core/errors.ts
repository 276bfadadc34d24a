/**
 * The error vocabulary. The CLI has one top-level catch (src/cli/main.ts) that maps these
 * to exit codes: InputError -> 2 (bad input, nothing changed), everything else -> 1.
 * Messages are one line that names the file, field or resource and says what to do.
 */

/** Bad input: a config file, flag, role, recipe or prop is wrong. Exit code 2. */
export class InputError extends Error {
  override name = "InputError";
  /** Every problem found, one line each (the message is their join). */
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join("\n"));
    this.problems = list;
  }
}

/** A converge or boot step failed at run time (a resource, a network call). Exit code 1. */
export class RunError extends Error {
  override name = "RunError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A run-time failure that trying again cannot fix (exit 1, as any RunError): what the instance
 * is (its security groups, its user data) contradicts the config repo. The boot stops at once
 * instead of spending its retries and its lifecycle hook's time on it.
 */
export class PermanentRunError extends RunError {
  override name = "PermanentRunError";
}

/** A bounded wait ran out (lock, network call, check). Exit code 1. */
export class TimeoutError extends RunError {
  override name = "TimeoutError";
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
