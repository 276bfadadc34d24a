/**
 * The departure's decisions, PURE: whether what the metadata service says means this server is
 * leaving, and, once it is, the next step (close the gate, wait for the drain, converge the
 * shutdown run list, complete the terminate hook). `muster watch` (watch.ts) polls and carries
 * the steps out; everything it decides is here, tested from tables.
 *
 * What AWS documents:
 * - "Retrieve the target lifecycle state through instance metadata" (Amazon EC2 Auto Scaling user
 *   guide): `autoscaling/target-lifecycle-state` is the steady state the instance is moving to;
 *   it reads Terminated as soon as termination starts (Terminating:Wait included), and with a
 *   warm pool Warmed:Stopped, Warmed:Running, Warmed:Hibernated or Warmed:Terminated.
 * - "Spot Instance interruption notices" (Amazon EC2 user guide): `spot/instance-action` answers
 *   404 until EC2 decides to interrupt the instance, then JSON such as
 *   `{"action": "terminate", "time": "2017-09-18T08:22:00Z"}`, about two minutes before it acts.
 */

export interface SpotNotice {
  action: "terminate" | "stop" | "hibernate";
  /** when EC2 acts, ms since the epoch */
  at: number;
}

/** Why this server departs. */
export type DepartureReason = "terminate" | "spot" | "warm-pool";

export interface DepartureTrigger {
  reason: DepartureReason;
  /** the target lifecycle state that started it, or the spot notice's action */
  cause: string;
  /** wait for in-flight connections: only a server that took traffic has any to wait for */
  drain: boolean;
  /** a spot notice's deadline (ms since the epoch): everything must be done before it */
  deadline?: number;
  /**
   * a terminate hook's action may wait for this instance: the group is terminating it (or moving
   * it to its warm pool). EC2 interrupting a spot instance is no action of the group's: nothing
   * waits for CONTINUE then, unless the group has started terminating it too.
   */
  hookAction: boolean;
}

export interface Observation {
  /** autoscaling/target-lifecycle-state; undefined when absent (404) or not read */
  targetState?: string;
  spot?: SpotNotice;
  /** the server has been in service (its boot opened the gate, or InService was seen since) */
  served: boolean;
}

/**
 * PURE: `spot/instance-action`'s body as a notice; undefined for anything else (a body that
 * names no known action or no valid time is no notice: better one poll late than a false alarm).
 */
export function parseSpotNotice(text: string | undefined): SpotNotice | undefined {
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as { action?: unknown; time?: unknown } | null;
    const action = j?.action;
    if (action !== "terminate" && action !== "stop" && action !== "hibernate") return undefined;
    const at = typeof j?.time === "string" ? Date.parse(j.time) : Number.NaN;
    if (!Number.isFinite(at)) return undefined;
    return { action, at };
  } catch {
    return undefined;
  }
}

/**
 * PURE: does this observation start a departure? A spot notice always does (EC2 acts whatever
 * the group thinks). Terminated does; so does a warm pool state reached from service (the group
 * sends the instance back to its pool on scale-in). A warmed instance that moves from the pool
 * to the pool (Warmed:Stopped to Warmed:Terminated) never served, so there is nothing to drain.
 */
export function departureTrigger(o: Observation): DepartureTrigger | undefined {
  const s = o.targetState;
  if (o.spot)
    return {
      reason: "spot",
      cause: `spot interruption: ${o.spot.action}`,
      drain: o.served,
      deadline: o.spot.at,
      hookAction: s === "Terminated",
    };
  if (s === "Terminated" || s === "Warmed:Terminated")
    return { reason: "terminate", cause: s, drain: o.served, hookAction: true };
  if (s?.startsWith("Warmed:") && o.served)
    return { reason: "warm-pool", cause: s, drain: true, hookAction: true };
  return undefined;
}

/**
 * PURE: what a boot's departure-check makes of one poll, just before the gate would open: why
 * this instance is leaving (one phrase for the record and the console), or undefined when it may
 * serve. The same rule as the watch's, for a server that has not served yet: a warm pool state is
 * no departure then (identify saw it, and the boot keeps the gate closed for it anyway).
 */
export function leavingBeforeService(o: Omit<Observation, "served">): string | undefined {
  const t = departureTrigger({ ...o, served: false });
  if (!t) return undefined;
  if (t.reason === "spot" && o.spot)
    return `a spot interruption notice (${o.spot.action} at ${new Date(o.spot.at).toISOString()})`;
  return `the target lifecycle state is ${t.cause}`;
}

/** How far a departure has come; each step is done once, in this order. */
export type DepartureStep = "started" | "gate-closed" | "drained" | "shut-down" | "completed";

export type DepartureAction =
  | { kind: "close-gate" }
  | { kind: "wait-drain"; connections: number }
  | { kind: "drained"; how: "idle" | "timeout" | "not-needed" }
  | { kind: "shutdown" }
  | { kind: "complete"; result: "CONTINUE" }
  | { kind: "done" };

export interface DepartureState {
  trigger: DepartureTrigger;
  step: DepartureStep;
  /** when the drain began (the gate closed), ms */
  drainStartedAt?: number;
  /** ESTABLISHED connections to the app's port now */
  connections: number;
  now: number;
  /** drain.timeout, ms */
  drainTimeoutMs: number;
  /** a terminate hook is configured */
  hook: boolean;
}

/**
 * PURE: the longest the drain may take. A spot notice leaves about two minutes in all: the drain
 * gets at most half of what is left of it when it starts, so the shutdown run list has the rest.
 */
export function drainBudgetMs(
  s: Pick<DepartureState, "trigger" | "drainTimeoutMs">,
  startedAt: number,
): number {
  const d = s.trigger.deadline;
  if (d === undefined) return s.drainTimeoutMs;
  return Math.max(0, Math.min(s.drainTimeoutMs, Math.floor((d - startedAt) / 2)));
}

/**
 * PURE: the next thing to do. The gate closes first, so the load balancer's health check fails
 * and no new request comes; the drain waits for in-flight connections to end (or its budget to
 * pass); then the shutdown run list; then CONTINUE on the terminate hook. A warm-pool departure
 * completes the hook too: the instance leaves service through the same Terminating:Wait.
 */
export function nextDepartureAction(s: DepartureState): DepartureAction {
  switch (s.step) {
    case "started":
      return { kind: "close-gate" };
    case "gate-closed": {
      if (!s.trigger.drain) return { kind: "drained", how: "not-needed" };
      if (s.connections <= 0) return { kind: "drained", how: "idle" };
      const started = s.drainStartedAt ?? s.now;
      if (s.now - started >= drainBudgetMs(s, started)) return { kind: "drained", how: "timeout" };
      return { kind: "wait-drain", connections: s.connections };
    }
    case "drained":
      return { kind: "shutdown" };
    case "shut-down":
      return s.hook && s.trigger.hookAction ? { kind: "complete", result: "CONTINUE" } : { kind: "done" };
    case "completed":
      return { kind: "done" };
  }
}

/**
 * PURE: after a spot departure that completed no hook, may the group still start a termination
 * whose terminate hook waits for this instance? Yes when a hook is configured: the closed gate
 * fails the load balancer's health check, and the group then terminates the instance through
 * its hook (Terminating:Wait) before EC2 does. The watch then keeps polling, and once the target
 * lifecycle state reads Terminated it completes that hook: the departure's work is done already.
 */
export function awaitsGroupTermination(t: DepartureTrigger, hook: boolean): boolean {
  return t.reason === "spot" && !t.hookAction && hook;
}

/** PURE: the step an action, once done, leads to. */
export function stepAfter(a: DepartureAction, step: DepartureStep): DepartureStep {
  switch (a.kind) {
    case "close-gate":
      return "gate-closed";
    case "drained":
      return "drained";
    case "shutdown":
      return "shut-down";
    case "complete":
      return "completed";
    default:
      return step;
  }
}
