/** The one top-level catch: every error becomes one line and an exit code (stack only with --debug). */
import { InputError } from "../core/errors.ts";

export const EXIT = { ok: 0, failed: 1, input: 2 } as const;

export function handleError(err: unknown, debug: boolean): number {
  if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  if (err instanceof InputError) {
    for (const p of err.problems) process.stderr.write(`muster: ${p}\n`);
    return EXIT.input;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`muster: ${msg.split("\n")[0]}\n`);
  if (!debug && !(err instanceof Error && ["RunError", "TimeoutError"].includes(err.name)))
    process.stderr.write("muster: (an unexpected error; run again with --debug for the stack trace)\n");
  return EXIT.failed;
}
