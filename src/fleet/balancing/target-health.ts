/**
 * Target-group health, as Elastic Load Balancing documents it, as pure functions: settings and
 * their presets, the success-code matcher, and the state machine that turns health-check results
 * into target states. The load balancer (load-balancer.ts) runs the checks and the clock; every
 * decision about what a result means is made here and tested from fixtures.
 *
 * States (the names DescribeTargetHealth uses):
 * - initial:   registered, not yet passed; gets no traffic.
 * - healthy:   gets traffic.
 * - unhealthy: gets no traffic (unless the group fails open, see `failOpen`).
 * - draining:  deregistered; no new requests, in-flight ones finish.
 * - unused:    removed from the group.
 *
 * Transitions on health-check results:
 * - initial   -> healthy   after `initialHealthyThreshold` consecutive passes (ALB: "after your
 *                          target is registered, it must pass one health check to be considered
 *                          healthy", so 1 by default)
 * - initial   -> unhealthy after `unhealthyThreshold` consecutive failures
 * - healthy   -> unhealthy after `unhealthyThreshold` consecutive failures
 * - unhealthy -> healthy   after `healthyThreshold` consecutive passes
 * A pass resets the failure count and a failure resets the pass count ("consecutive").
 */
import { InputError } from "../../core/errors.ts";

export type TargetState = "initial" | "healthy" | "unhealthy" | "draining" | "unused";

/** DescribeTargetHealth's reason codes, for the states that have one. */
export type TargetReason =
  | "Elb.RegistrationInProgress"
  | "Elb.InitialHealthChecking"
  | "Target.ResponseCodeMismatch"
  | "Target.Timeout"
  | "Target.FailedHealthChecks"
  | "Target.DeregistrationInProgress"
  | "Target.NotRegistered";

export interface HealthCheckSettings {
  /** Path of the health-check GET, e.g. "/ping.html". Default "/". */
  path: string;
  /** Port to check; "traffic-port" (default) = the target's own port. */
  port: number | "traffic-port";
  /** Time between checks of one target, ms (AWS HealthCheckIntervalSeconds). */
  intervalMs: number;
  /** A check with no answer within this is a failure, ms (HealthCheckTimeoutSeconds). */
  timeoutMs: number;
  /** Consecutive passes that make an unhealthy target healthy (HealthyThresholdCount). */
  healthyThreshold: number;
  /** Consecutive failures that make a target unhealthy (UnhealthyThresholdCount). */
  unhealthyThreshold: number;
  /** Consecutive passes that make a newly registered (initial) target healthy. */
  initialHealthyThreshold: number;
  /** HTTP codes that count as a pass (Matcher HttpCode): "200", "200,204", "200-299". */
  successCodes: string;
}

export interface TargetGroupSettings {
  healthCheck: HealthCheckSettings;
  /** How long a deregistered target may drain before it is removed, ms (deregistration_delay). */
  deregistrationDelayMs: number;
  /**
   * ALB routes to every unhealthy target when no target is healthy ("fails open"). muster fails
   * closed by default: with no healthy target the load balancer answers 503.
   */
  failOpen: boolean;
}

/** The AWS defaults for an HTTP target group (console and API). */
export const AWS_DEFAULTS: TargetGroupSettings = Object.freeze({
  healthCheck: Object.freeze({
    path: "/",
    port: "traffic-port",
    intervalMs: 30_000,
    timeoutMs: 5_000,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
    initialHealthyThreshold: 1,
    successCodes: "200",
  }),
  deregistrationDelayMs: 300_000,
  failOpen: false,
}) as TargetGroupSettings;

/** Fast settings for rehearsal on one machine: same rules, seconds instead of minutes. */
export const FAST_DEFAULTS: TargetGroupSettings = Object.freeze({
  healthCheck: Object.freeze({
    path: "/",
    port: "traffic-port",
    intervalMs: 1_000,
    timeoutMs: 500,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    initialHealthyThreshold: 1,
    successCodes: "200",
  }),
  deregistrationDelayMs: 2_000,
  failOpen: false,
}) as TargetGroupSettings;

export const PRESETS = { aws: AWS_DEFAULTS, fast: FAST_DEFAULTS } as const;
export type PresetName = keyof typeof PRESETS;

export type TargetGroupSettingsInput = {
  healthCheck?: Partial<HealthCheckSettings>;
  deregistrationDelayMs?: number;
  failOpen?: boolean;
};

/**
 * Settings from a preset (default "fast") with overrides, checked. Every problem is reported at
 * once, named by its field.
 */
export function resolveSettings(
  overrides: TargetGroupSettingsInput = {},
  preset: PresetName | TargetGroupSettings = "fast",
): TargetGroupSettings {
  const base = typeof preset === "string" ? PRESETS[preset] : preset;
  if (!base) throw new InputError(`load balancer: unknown preset "${String(preset)}" (use aws or fast)`);
  const s: TargetGroupSettings = {
    healthCheck: { ...base.healthCheck, ...(overrides.healthCheck ?? {}) },
    deregistrationDelayMs: overrides.deregistrationDelayMs ?? base.deregistrationDelayMs,
    failOpen: overrides.failOpen ?? base.failOpen,
  };
  const problems = settingsProblems(s);
  if (problems.length > 0) throw new InputError(problems.map((p) => `load balancer: ${p}`));
  return s;
}

export function settingsProblems(s: TargetGroupSettings): string[] {
  const p: string[] = [];
  const hc = s.healthCheck;
  const posInt = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 1;
  if (typeof hc.path !== "string" || !hc.path.startsWith("/")) {
    p.push(`healthCheck.path: must start with "/" (got ${JSON.stringify(hc.path)})`);
  }
  if (hc.port !== "traffic-port" && !(Number.isInteger(hc.port) && hc.port >= 1 && hc.port <= 65535)) {
    p.push(`healthCheck.port: must be "traffic-port" or a port 1-65535 (got ${JSON.stringify(hc.port)})`);
  }
  if (!(typeof hc.intervalMs === "number" && hc.intervalMs > 0)) {
    p.push(`healthCheck.intervalMs: must be > 0 (got ${JSON.stringify(hc.intervalMs)})`);
  }
  if (!(typeof hc.timeoutMs === "number" && hc.timeoutMs > 0)) {
    p.push(`healthCheck.timeoutMs: must be > 0 (got ${JSON.stringify(hc.timeoutMs)})`);
  } else if (typeof hc.intervalMs === "number" && hc.timeoutMs >= hc.intervalMs) {
    // AWS: the timeout must be smaller than the interval, so checks of one target never overlap.
    p.push(`healthCheck.timeoutMs: must be less than intervalMs (${hc.timeoutMs} >= ${hc.intervalMs})`);
  }
  for (const k of ["healthyThreshold", "unhealthyThreshold", "initialHealthyThreshold"] as const) {
    if (!posInt(hc[k])) p.push(`healthCheck.${k}: must be an integer >= 1 (got ${JSON.stringify(hc[k])})`);
  }
  try {
    parseSuccessCodes(hc.successCodes);
  } catch (e) {
    p.push(`healthCheck.successCodes: ${(e as Error).message}`);
  }
  if (!(typeof s.deregistrationDelayMs === "number" && s.deregistrationDelayMs >= 0)) {
    p.push(`deregistrationDelayMs: must be >= 0 (got ${JSON.stringify(s.deregistrationDelayMs)})`);
  }
  if (typeof s.failOpen !== "boolean") p.push(`failOpen: must be true or false`);
  return p;
}

/** A parsed success-code matcher: inclusive ranges. */
export type SuccessCodes = ReadonlyArray<readonly [number, number]>;

/** Parse "200", "200,204", "200-299" (AWS Matcher HttpCode syntax; codes 100-599). */
export function parseSuccessCodes(spec: string): SuccessCodes {
  if (typeof spec !== "string" || spec.trim() === "") {
    throw new InputError(`expected codes like "200", "200,204" or "200-299"`);
  }
  const ranges: Array<[number, number]> = [];
  for (const part of spec.split(",")) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(part);
    if (!m) throw new InputError(`"${part.trim()}" is not a code or range (like "200" or "200-299")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 100 || hi > 599 || lo > hi)
      throw new InputError(`"${part.trim()}" is not a range within 100-599`);
    ranges.push([lo, hi]);
  }
  return ranges;
}

export function isSuccess(codes: SuccessCodes, status: number): boolean {
  return codes.some(([lo, hi]) => status >= lo && status <= hi);
}

/** What one health check saw. */
export type CheckOutcome =
  | { kind: "status"; status: number }
  | { kind: "timeout" }
  /** Connection refused or reset, malformed answer. */
  | { kind: "error"; message: string };

export interface CheckVerdict {
  pass: boolean;
  /** The reason code a failure gives the target once it is unhealthy. */
  reason?: TargetReason;
  detail: string;
}

export function judgeCheck(outcome: CheckOutcome, codes: SuccessCodes): CheckVerdict {
  switch (outcome.kind) {
    case "status":
      return isSuccess(codes, outcome.status)
        ? { pass: true, detail: `HTTP ${outcome.status}` }
        : {
            pass: false,
            reason: "Target.ResponseCodeMismatch",
            detail: `health check answered HTTP ${outcome.status}`,
          };
    case "timeout":
      return { pass: false, reason: "Target.Timeout", detail: "health check timed out" };
    case "error":
      return { pass: false, reason: "Target.FailedHealthChecks", detail: outcome.message };
  }
}

/** The health part of a target: what the state machine reads and writes. */
export interface TargetHealth {
  state: TargetState;
  reason?: TargetReason;
  /** Human-readable detail of the last failure, or of the state. */
  description?: string;
  consecutivePasses: number;
  consecutiveFailures: number;
}

export interface HealthTransition {
  from: TargetState;
  to: TargetState;
  reason?: TargetReason;
  description?: string;
}

/** A newly registered target. */
export function registeredHealth(): TargetHealth {
  return {
    state: "initial",
    reason: "Elb.RegistrationInProgress",
    description: "Target registration is in progress",
    consecutivePasses: 0,
    consecutiveFailures: 0,
  };
}

export type Thresholds = Pick<
  HealthCheckSettings,
  "healthyThreshold" | "unhealthyThreshold" | "initialHealthyThreshold"
>;

/**
 * Apply one health-check verdict. Draining and unused targets are no longer checked: a verdict
 * for them changes nothing (a check that was under way when the target was deregistered).
 */
export function applyVerdict(
  h: TargetHealth,
  verdict: CheckVerdict,
  t: Thresholds,
): { health: TargetHealth; transition?: HealthTransition } {
  if (h.state === "draining" || h.state === "unused") return { health: h };
  const passes = verdict.pass ? h.consecutivePasses + 1 : 0;
  const failures = verdict.pass ? 0 : h.consecutiveFailures + 1;
  let next: TargetHealth = { ...h, consecutivePasses: passes, consecutiveFailures: failures };

  if (h.state === "initial") {
    if (verdict.pass && passes >= t.initialHealthyThreshold) {
      next = { ...next, state: "healthy", reason: undefined, description: undefined };
    } else if (!verdict.pass && failures >= t.unhealthyThreshold) {
      next = { ...next, state: "unhealthy", reason: verdict.reason, description: verdict.detail };
    } else {
      next = {
        ...next,
        reason: "Elb.InitialHealthChecking",
        description: verdict.pass ? "Initial health checks in progress" : verdict.detail,
      };
    }
  } else if (h.state === "healthy") {
    if (!verdict.pass && failures >= t.unhealthyThreshold) {
      next = { ...next, state: "unhealthy", reason: verdict.reason, description: verdict.detail };
    }
  } else if (h.state === "unhealthy") {
    if (verdict.pass && passes >= t.healthyThreshold) {
      next = { ...next, state: "healthy", reason: undefined, description: undefined };
    } else if (!verdict.pass) {
      // Still unhealthy: keep the latest cause visible.
      next = { ...next, reason: verdict.reason, description: verdict.detail };
    }
  }
  if (next.state === h.state) return { health: next };
  return {
    health: next,
    transition: { from: h.state, to: next.state, reason: next.reason, description: next.description },
  };
}

/** Deregistration: any registered target starts draining (no new requests). */
export function startDraining(h: TargetHealth): { health: TargetHealth; transition?: HealthTransition } {
  if (h.state === "draining" || h.state === "unused") return { health: h };
  const next: TargetHealth = {
    ...h,
    state: "draining",
    reason: "Target.DeregistrationInProgress",
    description: "Target deregistration is in progress",
  };
  return {
    health: next,
    transition: { from: h.state, to: "draining", reason: next.reason, description: next.description },
  };
}

/**
 * When a draining target is removed: at once when it has nothing in flight (AWS completes the
 * deregistration early for an idle target), else when the deregistration delay has passed.
 */
export function drainOutcome(
  inFlight: number,
  drainingSince: number,
  now: number,
  delayMs: number,
): "idle" | "delay-expired" | undefined {
  if (inFlight <= 0) return "idle";
  if (now - drainingSince >= delayMs) return "delay-expired";
  return undefined;
}

/** Which states receive new requests. */
export function routable(state: TargetState): boolean {
  return state === "healthy";
}

/**
 * Pick the next target round robin among the candidates. With no healthy target and `failOpen`,
 * every unhealthy target is a candidate (ALB's fail-open); initial and draining never are.
 * Returns the chosen index into `targets` (or -1) and the next cursor.
 */
export function pickTarget(
  states: readonly TargetState[],
  cursor: number,
  failOpen: boolean,
): { index: number; cursor: number } {
  let candidates: number[] = [];
  states.forEach((s, i) => {
    if (routable(s)) candidates.push(i);
  });
  if (candidates.length === 0 && failOpen) {
    candidates = [];
    states.forEach((s, i) => {
      if (s === "unhealthy") candidates.push(i);
    });
  }
  if (candidates.length === 0) return { index: -1, cursor };
  const c = ((cursor % candidates.length) + candidates.length) % candidates.length;
  return { index: candidates[c]!, cursor: cursor + 1 };
}
