import { afterEach, describe, expect, it, vi } from "vitest";
import { InputError, RunError, TimeoutError } from "../core/errors.ts";
import { EXIT, handleError } from "./errors.ts";

const HINT = "muster: (an unexpected error; run again with --debug for the stack trace)\n";

/** What handleError writes to stderr for `err`, and its exit code. */
function handled(err: unknown): { code: number; stderr: string } {
  let stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  const code = handleError(err, false);
  vi.restoreAllMocks();
  return { code, stderr };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("handleError", () => {
  it("bad input: every problem on its own line, exit 2", () => {
    expect(handled(new InputError(["a.json: x: wrong", "a.json: y: wrong"]))).toEqual({
      code: EXIT.input,
      stderr: "muster: a.json: x: wrong\nmuster: a.json: y: wrong\n",
    });
  });

  it("an expected failure (a RunError of any kind) is one line with no hint of a bug", () => {
    class StepError extends RunError {
      override name = "StepError";
    }
    for (const err of [
      new RunError("git failed"),
      new TimeoutError("git failed"),
      new StepError("git failed"),
    ])
      expect(handled(err), err.name).toEqual({ code: EXIT.failed, stderr: "muster: git failed\n" });
  });

  it("anything else is unexpected, whatever it calls itself", () => {
    const impostor = Object.assign(new Error("boom"), { name: "RunError" });
    for (const err of [new Error("boom"), impostor])
      expect(handled(err)).toEqual({ code: EXIT.failed, stderr: `muster: boom\n${HINT}` });
  });
});
