/** Stage checks: HTTP checks against the converged app that must pass before the gate opens. */
import { errorMessage, RunError, TimeoutError } from "../../core/errors.ts";
import { redactUrl } from "../../resources/git-env.ts";

export interface HttpCheck {
  url: string;
  status: number;
  timeoutMs: number;
}

export async function runCheck(check: HttpCheck): Promise<void> {
  const url = redactUrl(check.url);
  let status: number;
  try {
    const res = await fetch(check.url, { signal: AbortSignal.timeout(check.timeoutMs), redirect: "manual" });
    status = res.status;
    await res.body?.cancel();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    // AbortSignal.timeout aborts with a DOMException whose name says which abort it was
    if (e instanceof DOMException && e.name === "TimeoutError")
      throw new TimeoutError(`check ${url} did not answer within ${check.timeoutMs / 1000} s`);
    const why = e.cause?.code === "ECONNREFUSED" ? "connection refused" : errorMessage(e.cause ?? e);
    throw new RunError(`check ${url} failed: ${why}`);
  }
  if (status !== check.status)
    throw new RunError(`check ${url} answered ${status}, expected ${check.status}`);
}

export async function runChecks(checks: HttpCheck[]): Promise<void> {
  for (const c of checks) await runCheck(c);
}
