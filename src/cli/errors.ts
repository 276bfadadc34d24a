/** The one top-level catch: every error becomes one line and an exit code (stack only with --debug). */
import { InputError, RunError } from "../core/errors.ts";
import { flushHeldOutput } from "./coalesced-output.ts";

export const EXIT = { ok: 0, failed: 1, input: 2 } as const;

/**
 * `--json` runs also get the error on stdout, as one JSON object: a script that reads stdout
 * finds JSON there whatever happened (the lines on stderr are for people).
 */
export function jsonError(exitCode: number, problems: string[]): string {
  return `${JSON.stringify({ ok: false, exitCode, problems })}\n`;
}

export function handleError(err: unknown, debug: boolean, json = false): number {
  flushHeldOutput();
  if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  if (err instanceof InputError) {
    for (const p of err.problems) process.stderr.write(`muster: ${p}\n`);
    if (json) process.stdout.write(jsonError(EXIT.input, err.problems));
    return EXIT.input;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`muster: ${msg.split("\n")[0]}\n`);
  if (json) process.stdout.write(jsonError(EXIT.failed, [msg.split("\n")[0]!]));
  // a RunError (a TimeoutError is one) is expected: a step failed and its message says why
  if (!debug && !(err instanceof RunError))
    process.stderr.write("muster: (an unexpected error; run again with --debug for the stack trace)\n");
  return EXIT.failed;
}
