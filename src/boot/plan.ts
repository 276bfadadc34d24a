/**
 * The boot pipeline's decisions, PURE: which stages run and in what order, whether a failed
 * attempt is tried again and after how long, and what happens at the end. No I/O here; the
 * pipeline (pipeline.ts) carries these decisions out.
 */

export type StageName =
  | "close-gate"
  | "lock"
  | "identify"
  | "fetch"
  | "verify"
  | "deps"
  | "role"
  | "converge"
  | "checks"
  | "departure-check"
  | "open-gate"
  | "lifecycle";

/** The stages one attempt runs; the whole list is tried again after a failure. */
export type AttemptStage = "identify" | "fetch" | "verify" | "deps" | "role" | "converge" | "checks";

export type RunMode = "boot" | "periodic";

export interface PlanInput {
  /** false when the metadata service is switched off (a host outside EC2 with a static role) */
  metadata: boolean;
  /** the config repo's commits must be signed */
  verify: boolean;
}

export function attemptStages(p: PlanInput): AttemptStage[] {
  const out: AttemptStage[] = [];
  if (p.metadata) out.push("identify");
  out.push("fetch");
  if (p.verify) out.push("verify");
  out.push("deps", "role", "converge", "checks");
  return out;
}

/** Warm pools: an instance being warmed (Warmed:Stopped, Warmed:Running, ...) is not put in service. */
export function isWarming(targetLifecycleState: string | undefined): boolean {
  return targetLifecycleState?.startsWith("Warmed:") ?? false;
}

export interface FinishInput {
  mode: RunMode;
  warming: boolean;
  lifecycle: boolean;
  /** the metadata service is on: a boot can ask whether the instance is leaving */
  metadata: boolean;
  /** periodic runs: the gate was open for this boot when the run began */
  gateWasOpen: boolean;
}

/**
 * The stages after every attempt stage succeeded. A boot opens the gate and then completes the
 * lifecycle action (the gate must be open before the instance is put in service), unless the
 * instance is being warmed. A periodic run rewrites an open gate with the new revisions and never
 * opens a closed one: only a boot decides that a server may serve.
 *
 * Just before the gate opens, a boot with the metadata service asks once more whether the
 * instance is leaving (departure-check): a boot takes seconds to minutes, and a spot
 * interruption notice or a scale-in that came meanwhile means the load balancer would send
 * requests to a server about to go. identify's answer is too old for that.
 */
export function finishStages(f: FinishInput): StageName[] {
  if (f.mode === "periodic") return f.gateWasOpen ? ["open-gate"] : [];
  if (f.warming) return [];
  const check: StageName[] = f.metadata ? ["departure-check"] : [];
  return [...check, "open-gate", ...(f.lifecycle ? (["lifecycle"] as const) : [])];
}

export interface FailureInput {
  mode: RunMode;
  lifecycle: boolean;
  onFailure: "abandon" | "none";
  closeGateOnPeriodicFailure: boolean;
}

/** What a run that gave up does: close the gate? complete the lifecycle action with ABANDON? */
export function failureActions(f: FailureInput): { closeGate: boolean; abandon: boolean } {
  if (f.mode === "periodic") return { closeGate: f.closeGateOnPeriodicFailure, abandon: false };
  return { closeGate: true, abandon: f.lifecycle && f.onFailure === "abandon" };
}

export interface RetryPolicy {
  attempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** 0..1: each pause is shortened by up to this fraction */
  jitter: number;
  deadlineMs: number;
}

/**
 * Pause before the next attempt, after `attempt` (1-based) attempts failed: exponential from the
 * base, capped, then shortened by jitter * random, so a fleet launched at once does not retry
 * against a recovering git host in lock step.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: number): number {
  const raw = Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  const r = Math.min(1, Math.max(0, random));
  return Math.round(raw * (1 - policy.jitter * r));
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

export interface RetryInput {
  policy: RetryPolicy;
  /** attempts made so far (1 after the first failure) */
  attempt: number;
  elapsedMs: number;
  /** the error cannot go away by trying again (bad input in the config repo or on the host) */
  permanent: boolean;
  random: number;
}

export function decideRetry(i: RetryInput): RetryDecision {
  if (i.permanent) return { retry: false, reason: "trying again cannot help" };
  if (i.attempt >= i.policy.attempts)
    return { retry: false, reason: `gave up after ${i.attempt} attempt${i.attempt > 1 ? "s" : ""}` };
  const delayMs = backoffMs(i.policy, i.attempt, i.random);
  if (i.elapsedMs + delayMs >= i.policy.deadlineMs)
    return {
      retry: false,
      reason: `gave up after ${i.attempt} attempt${i.attempt > 1 ? "s" : ""}: the deadline of ${i.policy.deadlineMs / 1000} s would pass`,
    };
  return { retry: true, delayMs };
}

/**
 * The ref a run fetches. A boot fetches `repo.ref`. A periodic re-converge re-applies the commit
 * this boot opened the gate on (`openedOn`, from root's copy of the gate record: see
 * saveOpenedGate): the fleet's config revision changes only through a new launch (an instance
 * refresh), never all at once on a timer; with
 * `repo.follow` it fetches `repo.ref` again and follows a moving branch. Without an open gate
 * (the boot has not succeeded) there is nothing pinned yet: `repo.ref`.
 */
export function fetchRef(
  mode: RunMode,
  repo: { ref: string; follow: boolean },
  openedOn: string | undefined,
): string {
  if (mode !== "periodic" || repo.follow || !openedOn || !/^[0-9a-f]{40}$/.test(openedOn)) return repo.ref;
  return openedOn;
}
