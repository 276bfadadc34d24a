import { describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import {
  AWS_DEFAULTS,
  applyVerdict,
  type CheckOutcome,
  type CheckVerdict,
  drainOutcome,
  FAST_DEFAULTS,
  isSuccess,
  judgeCheck,
  parseSuccessCodes,
  pickTarget,
  registeredHealth,
  resolveSettings,
  startDraining,
  type TargetHealth,
  type TargetState,
  type Thresholds,
} from "./target-health.ts";

const PASS: CheckVerdict = { pass: true, detail: "HTTP 200" };
const FAIL: CheckVerdict = { pass: false, reason: "Target.ResponseCodeMismatch", detail: "HTTP 503" };
const TIMEOUT: CheckVerdict = { pass: false, reason: "Target.Timeout", detail: "timed out" };

/** Run a sequence of verdicts ("P" pass, "F" fail) and list the states after each. */
function run(
  seq: string,
  t: Thresholds,
  start: TargetHealth = registeredHealth(),
): { states: TargetState[]; transitions: string[]; last: TargetHealth } {
  let h = start;
  const states: TargetState[] = [];
  const transitions: string[] = [];
  for (const c of seq) {
    const r = applyVerdict(h, c === "P" ? PASS : FAIL, t);
    h = r.health;
    states.push(h.state);
    if (r.transition) transitions.push(`${r.transition.from}->${r.transition.to}`);
  }
  return { states, transitions, last: h };
}

const T: Thresholds = { healthyThreshold: 3, unhealthyThreshold: 2, initialHealthyThreshold: 1 };

describe("presets", () => {
  it("AWS defaults are the documented ones", () => {
    expect(AWS_DEFAULTS.healthCheck).toMatchObject({
      intervalMs: 30_000,
      timeoutMs: 5_000,
      healthyThreshold: 5,
      unhealthyThreshold: 2,
      successCodes: "200",
      path: "/",
      port: "traffic-port",
    });
    expect(AWS_DEFAULTS.deregistrationDelayMs).toBe(300_000);
  });

  it("fast defaults keep the rules with short times", () => {
    expect(FAST_DEFAULTS.healthCheck).toMatchObject({
      intervalMs: 1000,
      timeoutMs: 500,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    expect(FAST_DEFAULTS.deregistrationDelayMs).toBe(2000);
    expect(FAST_DEFAULTS.failOpen).toBe(false);
  });
});

describe("resolveSettings", () => {
  it("layers overrides over a preset", () => {
    const s = resolveSettings({ healthCheck: { path: "/ping.html", healthyThreshold: 3 } }, "aws");
    expect(s.healthCheck.path).toBe("/ping.html");
    expect(s.healthCheck.healthyThreshold).toBe(3);
    expect(s.healthCheck.intervalMs).toBe(30_000);
    expect(s.deregistrationDelayMs).toBe(300_000);
    expect(resolveSettings().healthCheck.intervalMs).toBe(1000);
  });

  it("reports every problem at once, by field", () => {
    let err: unknown;
    try {
      resolveSettings({
        healthCheck: {
          path: "ping",
          intervalMs: 1000,
          timeoutMs: 1000,
          healthyThreshold: 0,
          successCodes: "2xx",
          port: 70000,
        },
        deregistrationDelayMs: -1,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const problems = (err as InputError).problems;
    expect(problems).toEqual([
      'load balancer: healthCheck.path: must start with "/" (got "ping")',
      'load balancer: healthCheck.port: must be "traffic-port" or a port 1-65535 (got 70000)',
      "load balancer: healthCheck.timeoutMs: must be less than intervalMs (1000 >= 1000)",
      "load balancer: healthCheck.healthyThreshold: must be an integer >= 1 (got 0)",
      'load balancer: healthCheck.successCodes: "2xx" is not a code or range (like "200" or "200-299")',
      "load balancer: deregistrationDelayMs: must be >= 0 (got -1)",
    ]);
  });

  it("rejects an unknown preset", () => {
    expect(() => resolveSettings({}, "gcp" as never)).toThrow(/unknown preset "gcp"/);
  });
});

describe("success codes", () => {
  it("parses single codes, lists and ranges", () => {
    expect(parseSuccessCodes("200")).toEqual([[200, 200]]);
    expect(parseSuccessCodes("200,204")).toEqual([
      [200, 200],
      [204, 204],
    ]);
    expect(parseSuccessCodes("200-299, 302")).toEqual([
      [200, 299],
      [302, 302],
    ]);
    const c = parseSuccessCodes("200-299");
    expect(isSuccess(c, 200)).toBe(true);
    expect(isSuccess(c, 299)).toBe(true);
    expect(isSuccess(c, 300)).toBe(false);
    expect(isSuccess(parseSuccessCodes("200"), 204)).toBe(false);
  });

  it("rejects what is not a code", () => {
    for (const bad of ["", "20", "200-", "299-200", "600", "abc", "200;204"]) {
      expect(() => parseSuccessCodes(bad), bad).toThrow(InputError);
    }
  });
});

describe("judging one check", () => {
  const codes = parseSuccessCodes("200");
  const cases: Array<[CheckOutcome, boolean, string | undefined]> = [
    [{ kind: "status", status: 200 }, true, undefined],
    [{ kind: "status", status: 503 }, false, "Target.ResponseCodeMismatch"],
    [{ kind: "status", status: 301 }, false, "Target.ResponseCodeMismatch"],
    [{ kind: "timeout" }, false, "Target.Timeout"],
    [{ kind: "error", message: "ECONNREFUSED" }, false, "Target.FailedHealthChecks"],
  ];
  it.each(cases)("%j -> pass %s, reason %s", (outcome, pass, reason) => {
    const v = judgeCheck(outcome, codes);
    expect(v.pass).toBe(pass);
    expect(v.reason).toBe(reason);
  });
});

describe("the health state machine", () => {
  it("a new target starts initial, with the registration reason", () => {
    expect(registeredHealth()).toMatchObject({ state: "initial", reason: "Elb.RegistrationInProgress" });
  });

  it("initial -> healthy after initialHealthyThreshold passes (1 by default, as ALB documents)", () => {
    expect(run("P", T).states).toEqual(["healthy"]);
    const strict = { ...T, initialHealthyThreshold: 3 };
    const r = run("PPP", strict);
    expect(r.states).toEqual(["initial", "initial", "healthy"]);
    expect(r.transitions).toEqual(["initial->healthy"]);
  });

  it("initial targets report that initial checks are in progress", () => {
    const r = run("P", { ...T, initialHealthyThreshold: 2 });
    expect(r.last).toMatchObject({ state: "initial", reason: "Elb.InitialHealthChecking" });
  });

  it("initial -> unhealthy after unhealthyThreshold consecutive failures, with the failure's reason", () => {
    const r = run("FF", T);
    expect(r.states).toEqual(["initial", "unhealthy"]);
    expect(r.last.reason).toBe("Target.ResponseCodeMismatch");
    expect(r.last.description).toBe("HTTP 503");
  });

  it("healthy -> unhealthy needs unhealthyThreshold consecutive failures; a pass resets the count", () => {
    const healthy = run("P", T).last;
    expect(run("FPFPF", T, healthy).states).toEqual(Array(5).fill("healthy"));
    const r = run("FF", T, healthy);
    expect(r.states).toEqual(["healthy", "unhealthy"]);
    expect(r.transitions).toEqual(["healthy->unhealthy"]);
  });

  it("unhealthy -> healthy needs healthyThreshold consecutive passes; a failure resets the count", () => {
    const unhealthy = run("FF", T).last;
    expect(run("PPFPP", T, unhealthy).states).toEqual(Array(5).fill("unhealthy"));
    const r = run("PPP", T, unhealthy);
    expect(r.states).toEqual(["unhealthy", "unhealthy", "healthy"]);
    expect(r.last.reason).toBeUndefined();
  });

  it("the AWS defaults: 2 failures to go out, 5 passes to come back", () => {
    const t = AWS_DEFAULTS.healthCheck;
    const r = run("PFFPPPPP", t);
    expect(r.states).toEqual([
      "healthy",
      "healthy",
      "unhealthy",
      "unhealthy",
      "unhealthy",
      "unhealthy",
      "unhealthy",
      "healthy",
    ]);
  });

  it("an unhealthy target keeps the latest failure's reason", () => {
    let h = run("FF", T).last;
    h = applyVerdict(h, TIMEOUT, T).health;
    expect(h).toMatchObject({ state: "unhealthy", reason: "Target.Timeout", consecutiveFailures: 3 });
  });

  it("draining: no more health transitions; startDraining from any registered state", () => {
    for (const seq of ["", "P", "FF"]) {
      const { health, transition } = startDraining(run(seq, T).last);
      expect(health.state).toBe("draining");
      expect(health.reason).toBe("Target.DeregistrationInProgress");
      expect(transition?.to).toBe("draining");
      expect(applyVerdict(health, PASS, T)).toEqual({ health });
      expect(applyVerdict(health, FAIL, T)).toEqual({ health });
      expect(startDraining(health).transition).toBeUndefined();
    }
  });
});

describe("draining outcome", () => {
  it("removes an idle target at once, a busy one when the delay has passed", () => {
    expect(drainOutcome(0, 1000, 1000, 300_000)).toBe("idle");
    expect(drainOutcome(2, 1000, 1500, 1000)).toBeUndefined();
    expect(drainOutcome(2, 1000, 2000, 1000)).toBe("delay-expired");
    expect(drainOutcome(1, 1000, 1000, 0)).toBe("delay-expired");
  });
});

describe("round robin", () => {
  it("cycles over healthy targets only", () => {
    const states: TargetState[] = ["healthy", "initial", "healthy", "unhealthy", "draining", "healthy"];
    let cursor = 0;
    const picks: number[] = [];
    for (let i = 0; i < 6; i++) {
      const p = pickTarget(states, cursor, false);
      picks.push(p.index);
      cursor = p.cursor;
    }
    expect(picks).toEqual([0, 2, 5, 0, 2, 5]);
  });

  it("no healthy target: none, unless failing open (then unhealthy ones, never initial or draining)", () => {
    const states: TargetState[] = ["initial", "unhealthy", "draining", "unhealthy"];
    expect(pickTarget(states, 0, false).index).toBe(-1);
    expect(pickTarget(states, 0, true).index).toBe(1);
    expect(pickTarget(states, 1, true).index).toBe(3);
    expect(pickTarget(["initial", "draining"], 0, true).index).toBe(-1);
    expect(pickTarget([], 5, true)).toEqual({ index: -1, cursor: 5 });
  });

  it("a healthy target wins over failing open", () => {
    expect(pickTarget(["unhealthy", "healthy"], 0, true).index).toBe(1);
    expect(pickTarget(["unhealthy", "healthy"], 1, true).index).toBe(1);
  });
});
