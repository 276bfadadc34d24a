/**
 * The autoscaling group's decisions, as pure functions: no timers, no I/O, time passed in.
 *
 * `step(state, event, now)` returns the next state and the actions the fleet controller must
 * carry out (launch a sandbox, register a target with the load balancer, start a lifecycle
 * action in the Auto Scaling emulator, stop an instance...). The controller owns every effect;
 * this module owns every rule, after the Amazon EC2 Auto Scaling documentation:
 *
 * - Capacity: desired is clamped to [min, max]. Instances that count toward it are those in
 *   Pending, Pending:Wait, Pending:Proceed and InService; when fewer, the group launches the
 *   difference; when more, it terminates the oldest first (OldestInstance termination policy).
 * - Launch: Pending -> (launch hook) Pending:Wait -> CONTINUE -> Pending:Proceed -> InService,
 *   registered with the load balancer; without a launch hook Pending -> InService. ABANDON, or
 *   the heartbeat timeout with default result ABANDON, terminates the instance and the capacity
 *   rule launches a replacement. A heartbeat (RecordLifecycleActionHeartbeat) restarts the
 *   heartbeat timeout, but never past the global timeout: 100 x the heartbeat timeout or 48 h,
 *   whichever is smaller.
 * - Health: with health check type ELB, an InService instance whose target turns unhealthy
 *   after the health check grace period (counted from InService) is marked Unhealthy and
 *   replaced. One that turns unhealthy inside the grace period is replaced when the period ends
 *   if it is still unhealthy then. An instance that dies is replaced with either type.
 * - Termination: InService -> Terminating: its target is deregistered and the group waits for
 *   the load balancer to finish draining it (`target-removed`); then (terminate hook)
 *   Terminating:Wait -> Terminating:Proceed -> stop it, or without a hook stop it at once; once
 *   its processes are gone (`instance-died`) -> Terminated.
 * - Target tracking on requests per target: when the metric is above the target value, desired
 *   becomes ceil(metric x InService / target) (at most max), unless a scale-out cooldown runs;
 *   scale-in removes one instance at a time and only when the metric is well below the target
 *   (with one instance fewer it would still be at or under it), the group is stable (every
 *   counted instance InService) and neither cooldown runs; never below min.
 */

import { InputError } from "../../core/errors.ts";
import { LIFECYCLE_HOOK } from "../../core/schema-parts.ts";

export type LifecycleState =
  | "Pending"
  | "Pending:Wait"
  | "Pending:Proceed"
  | "InService"
  | "Terminating"
  | "Terminating:Wait"
  | "Terminating:Proceed"
  | "Terminated";

export type LifecycleResult = "CONTINUE" | "ABANDON";
export type LifecycleTransition =
  | "autoscaling:EC2_INSTANCE_LAUNCHING"
  | "autoscaling:EC2_INSTANCE_TERMINATING";
export type HealthCheckType = "EC2" | "ELB";

export interface LifecycleHookConfig {
  name: string;
  /** How long the instance waits for CONTINUE/ABANDON or a heartbeat, ms (AWS default 3600 s). */
  heartbeatTimeoutMs: number;
  /** Applied when the heartbeat timeout runs out (AWS's default is ABANDON). */
  defaultResult: LifecycleResult;
}

export interface TargetTrackingConfig {
  /** Requests per target (per metric sample) to keep the group at. */
  targetValue: number;
  /** After a scale-out, no further scale-out for this long, ms. */
  scaleOutCooldownMs: number;
  /** After a scale-in, no further scale-in for this long, ms. */
  scaleInCooldownMs: number;
  /** Only ever scale out. */
  disableScaleIn?: boolean;
}

export interface AsgConfig {
  name: string;
  min: number;
  max: number;
  /** "ELB": replace instances whose load balancer target turns unhealthy. */
  healthCheckType: HealthCheckType;
  /** How long after InService an unhealthy target is tolerated, ms (0 = no grace). */
  healthCheckGracePeriodMs: number;
  launchHook?: LifecycleHookConfig;
  terminateHook?: LifecycleHookConfig;
  targetTracking?: TargetTrackingConfig;
  /** The zones instances are spread over (launchZone); none: every instance has no zone. */
  availabilityZones?: string[];
}

export interface PendingLifecycleAction {
  hook: string;
  transition: LifecycleTransition;
  startedAt: number;
  heartbeats: number;
  /** The global timeout: no heartbeat extends past this. */
  globalDeadline: number;
  /** When the default result is applied unless completed or extended first. */
  timeoutAt: number;
}

export interface AsgInstance {
  id: string;
  state: LifecycleState;
  /** When the group launched it (its age for the termination policy). */
  launchedAt: number;
  inServiceAt?: number;
  terminatedAt?: number;
  /** The group's view (AWS HealthStatus). */
  health: "Healthy" | "Unhealthy";
  /** The load balancer's last reported target state (initial, healthy, unhealthy...). */
  targetState?: string;
  /** Registered with the load balancer and not yet removed by it. */
  registered: boolean;
  /** The stop has been asked for (terminate action sent). */
  stopping: boolean;
  lifecycleAction?: PendingLifecycleAction;
  /** Why it is being (or was) terminated. */
  cause?: string;
  /** The availability zone it was launched in (launchZone). */
  zone?: string;
  /** The launch template version it was launched from (the group's launchVersion then). */
  version?: number;
}

export interface AsgState {
  config: AsgConfig;
  desired: number;
  instances: AsgInstance[];
  /** Sequence for instance ids. */
  nextSeq: number;
  lastScaleOutAt?: number;
  lastScaleInAt?: number;
  /** Launches in a row that ended before InService, and the earliest time of the next launch. */
  launchFailures?: number;
  nextLaunchAt?: number;
  /**
   * The launch template version new instances get: the group's own, or while an instance refresh
   * runs, its desired one (instance-refresh.ts decides it).
   */
  launchVersion?: number;
  /**
   * While an instance refresh runs: the version new launches go back to as soon as one launched
   * from `launchVersion` since `since` fails (ends before InService, or turns Unhealthy), within
   * the very step that fails it, before the capacity rule launches its replacement. The refresh
   * fails on that instance too (instance-refresh.ts), a moment later; the replacement must not be
   * launched from the version that just failed meanwhile.
   */
  launchFallback?: { version: number; since: number };
}

export type AsgEvent =
  /** Time passed: apply lifecycle timeouts and grace-period ends that are due. */
  | { type: "tick" }
  /** The sandbox of a Pending instance is up and its init started (EC2 "running"). */
  | { type: "instance-launched"; instanceId: string }
  /** The sandbox could not be started. */
  | { type: "launch-failed"; instanceId: string; reason: string }
  /** CompleteLifecycleAction (from the Auto Scaling API). */
  | { type: "lifecycle-action-completed"; instanceId: string; result: LifecycleResult }
  /** RecordLifecycleActionHeartbeat. */
  | { type: "lifecycle-heartbeat"; instanceId: string }
  /** The load balancer changed the instance's target state. */
  | { type: "target-health"; instanceId: string; state: string }
  /** The load balancer finished deregistering (draining) the instance's target. */
  | { type: "target-removed"; instanceId: string }
  /** Every process of the instance is gone (it was stopped, or it died). */
  | { type: "instance-died"; instanceId: string; reason?: string }
  /** SetDesiredCapacity (`muster fleet scale N`). */
  | { type: "set-desired"; desired: number }
  /** SetInstanceHealth; check it first with setInstanceHealthProblem. */
  | {
      type: "set-instance-health";
      instanceId: string;
      health: "Healthy" | "Unhealthy";
      respectGracePeriod: boolean;
    }
  /** TerminateInstanceInAutoScalingGroup; check it first with terminateInstanceProblem. */
  | { type: "terminate-instance"; instanceId: string; decrement: boolean }
  /** An instance refresh replaces this instance (terminated, and the capacity rule relaunches). */
  | { type: "refresh-replace"; instanceId: string; cause: string }
  /**
   * New launches take this launch template version (an instance refresh began or ended); with a
   * fallback, they take that one from the first launch of this version that fails (see
   * AsgState.launchFallback).
   */
  | { type: "set-launch-version"; version: number; fallback?: number }
  /** One sample of the scaling metric: average requests per healthy target. */
  | { type: "metric"; requestsPerTarget: number };

export type AsgAction =
  /** Start a new sandbox for this (Pending) instance. */
  | { type: "launch"; instanceId: string }
  /**
   * A lifecycle state change, for the event log, the metadata service and the API emulator. A
   * change to Terminating says why (the scaling activity's cause, asg-activities.ts).
   */
  | {
      type: "transition";
      instanceId: string;
      from: LifecycleState | null;
      to: LifecycleState;
      cause: string;
      why?: TerminationReason;
    }
  /** Put the instance into the hook's wait state in the Auto Scaling API (startLifecycleAction). */
  | {
      type: "start-lifecycle-action";
      instanceId: string;
      hook: string;
      transition: LifecycleTransition;
      heartbeatTimeoutMs: number;
      defaultResult: LifecycleResult;
      timeoutAt: number;
    }
  /**
   * A lifecycle action is over. via "api": CompleteLifecycleAction (the API already knows);
   * "timeout": the default result was applied; "terminated": the instance left before an answer.
   */
  | {
      type: "end-lifecycle-action";
      instanceId: string;
      hook: string;
      result: LifecycleResult;
      via: "api" | "timeout" | "terminated";
    }
  | { type: "register-target"; instanceId: string }
  /** Deregister from the load balancer; it drains, then reports `target-removed`. */
  | { type: "deregister-target"; instanceId: string }
  /** Stop every process of the instance; report `instance-died` when they are gone. */
  | { type: "terminate"; instanceId: string }
  | { type: "desired-changed"; from: number; to: number; cause: string }
  /** A decision worth showing that changed nothing (ignored event, cooldown, grace period). */
  | { type: "note"; message: string; instanceId?: string };

/** Why the group takes an instance out of service. */
export type TerminationReason =
  | "scale-in"
  | "user-request"
  | "elb-health"
  | "user-health"
  | "died"
  | "launch-abandoned"
  | "instance-refresh";

export interface StepResult {
  state: AsgState;
  actions: AsgAction[];
}

export const MAX_GLOBAL_TIMEOUT_MS = LIFECYCLE_HOOK.globalTimeoutMax * 1000;

/** The longest an instance may wait on a hook: 100 x heartbeat timeout or 48 h, the smaller. */
export function globalTimeoutMs(heartbeatTimeoutMs: number): number {
  return Math.min(LIFECYCLE_HOOK.globalTimeoutHeartbeats * heartbeatTimeoutMs, MAX_GLOBAL_TIMEOUT_MS);
}

const COUNTED: ReadonlySet<LifecycleState> = new Set([
  "Pending",
  "Pending:Wait",
  "Pending:Proceed",
  "InService",
]);

/** Instances that count toward desired capacity. */
export function activeInstances(state: AsgState): AsgInstance[] {
  return state.instances.filter((i) => COUNTED.has(i.state));
}

export function countByState(state: AsgState): Record<LifecycleState, number> {
  const out: Record<LifecycleState, number> = {
    Pending: 0,
    "Pending:Wait": 0,
    "Pending:Proceed": 0,
    InService: 0,
    Terminating: 0,
    "Terminating:Wait": 0,
    "Terminating:Proceed": 0,
    Terminated: 0,
  };
  for (const i of state.instances) out[i.state]++;
  return out;
}

/** The EC2-style id of the n-th instance: i-00000000000000001. */
export function instanceIdFor(seq: number): string {
  return `i-${seq.toString(16).padStart(17, "0")}`;
}

export function clampDesired(desired: number, config: Pick<AsgConfig, "min" | "max">): number {
  return Math.min(config.max, Math.max(config.min, desired));
}

/**
 * A new group at `now`: desired (default min, clamped) and the launches to reach it. The config is
 * not checked again here: fleet.yaml's schema (fleet-config.ts) validated it once, with every
 * problem named by its field in the file (min <= max, whole numbers, positive timeouts...).
 */
export function createGroup(config: AsgConfig, now: number, desired?: number): StepResult {
  const state: AsgState = {
    config: structuredClone(config),
    desired: clampDesired(desired ?? config.min, config),
    instances: [],
    nextSeq: 1,
  };
  const actions: AsgAction[] = [];
  if (desired !== undefined && state.desired !== desired) {
    actions.push({ type: "note", message: clampNote(desired, state) });
  }
  reconcile(state, now, actions);
  return { state, actions };
}

function checkDesired(desired: number): void {
  if (!(typeof desired === "number" && Number.isInteger(desired) && desired >= 0)) {
    throw new InputError(`desired capacity must be a whole number >= 0 (got ${JSON.stringify(desired)})`);
  }
}

function clampNote(requested: number, s: AsgState): string {
  return `desired capacity ${requested} is outside [${s.config.min}, ${s.config.max}]: using ${s.desired}`;
}

/**
 * How long the group waits before the next launch after `failures` launches in a row ended
 * before InService: the first replacement goes at once, then 1 s, 2 s, 4 s ... up to 30 s. A
 * group whose instances die at once (a broken image, a bad init) would otherwise launch and
 * kill instances as fast as the machine allows; EC2 Auto Scaling also backs off failing launches.
 * Pure.
 */
export function launchBackoffMs(failures: number): number {
  if (failures <= 1) return 0;
  return Math.min(1000 * 2 ** (failures - 2), 30_000);
}

/** The earliest time a `tick` has something to do (a lifecycle timeout, a grace period end). */
export function nextDeadline(state: AsgState): number | undefined {
  let next: number | undefined;
  const consider = (t: number) => {
    if (next === undefined || t < next) next = t;
  };
  if (state.nextLaunchAt !== undefined && activeInstances(state).length < state.desired)
    consider(state.nextLaunchAt);
  for (const i of state.instances) {
    if (i.lifecycleAction) consider(i.lifecycleAction.timeoutAt);
    if (graceWaiting(state, i)) consider(i.inServiceAt! + state.config.healthCheckGracePeriodMs);
  }
  return next;
}

/** An InService instance with an unhealthy target that is still inside its grace period. */
function graceWaiting(s: AsgState, i: AsgInstance): boolean {
  return (
    s.config.healthCheckType === "ELB" &&
    i.state === "InService" &&
    i.health === "Healthy" &&
    i.targetState === "unhealthy" &&
    i.inServiceAt !== undefined
  );
}

export function step(state: AsgState, event: AsgEvent, now: number): StepResult {
  const s = structuredClone(state);
  const actions: AsgAction[] = [];
  applyDue(s, now, actions);
  handle(s, event, now, actions);
  fallBackOnFailedLaunch(s, actions);
  reconcile(s, now, actions);
  return { state: s, actions };
}

/** Lifecycle timeouts and grace-period ends that are due at `now`. */
function applyDue(s: AsgState, now: number, actions: AsgAction[]): void {
  for (const i of s.instances) {
    const a = i.lifecycleAction;
    if (a && now >= a.timeoutAt) {
      const hook =
        a.transition === "autoscaling:EC2_INSTANCE_LAUNCHING" ? s.config.launchHook : s.config.terminateHook;
      const result = hook?.defaultResult ?? "ABANDON";
      const why = a.timeoutAt >= a.globalDeadline ? "global timeout reached" : "heartbeat timeout reached";
      completeAction(s, i, result, "timeout", `${why}: default result ${result}`, now, actions);
    }
    if (graceWaiting(s, i) && now >= i.inServiceAt! + s.config.healthCheckGracePeriodMs) {
      replaceUnhealthy(
        s,
        i,
        "ELB health check: target unhealthy after the grace period",
        "elb-health",
        now,
        actions,
      );
    }
  }
}

function find(s: AsgState, id: string, actions: AsgAction[], what: string): AsgInstance | undefined {
  const i = s.instances.find((x) => x.id === id);
  if (!i)
    actions.push({
      type: "note",
      message: `${what}: no instance ${id} in group ${s.config.name}`,
      instanceId: id,
    });
  return i;
}

function handle(s: AsgState, e: AsgEvent, now: number, actions: AsgAction[]): void {
  switch (e.type) {
    case "tick":
      return;

    case "instance-launched": {
      const i = find(s, e.instanceId, actions, "launch finished");
      if (!i) return;
      if (i.state !== "Pending") {
        actions.push({
          type: "note",
          message: `launch finished while ${i.state}: ignored`,
          instanceId: i.id,
        });
        return;
      }
      const hook = s.config.launchHook;
      if (hook) {
        wait(i, hook, "autoscaling:EC2_INSTANCE_LAUNCHING", "Pending:Wait", now, actions);
      } else {
        putInService(s, i, "launched (no launch lifecycle hook)", now, actions);
      }
      return;
    }

    case "launch-failed":
    case "instance-died": {
      const what = e.type === "launch-failed" ? "launch failed" : "instance died";
      const i = find(s, e.instanceId, actions, what);
      if (!i || i.state === "Terminated") return;
      if (i.stopping) {
        // The stop this group asked for has finished.
        transition(i, "Terminated", i.cause ?? "terminated", actions);
        i.terminatedAt = now;
        return;
      }
      const reason = e.reason;
      const cause = reason ? `${what}: ${reason}` : what;
      if (i.inServiceAt === undefined) launchFailed(s, now, actions);
      i.health = "Unhealthy";
      i.cause = cause;
      endAction(i, "ABANDON", "terminated", actions);
      if (i.state !== "Terminating") transition(i, "Terminating", cause, actions, "died");
      if (i.registered) {
        // Nothing is left to drain: stop routing to it now.
        actions.push({ type: "deregister-target", instanceId: i.id });
        i.registered = false;
      }
      // Make sure nothing of it is left running.
      actions.push({ type: "terminate", instanceId: i.id });
      transition(i, "Terminated", cause, actions);
      i.terminatedAt = now;
      return;
    }

    case "lifecycle-action-completed": {
      const i = find(s, e.instanceId, actions, "CompleteLifecycleAction");
      if (!i) return;
      if (!i.lifecycleAction) {
        actions.push({
          type: "note",
          message: `CompleteLifecycleAction ${e.result} while ${i.state}: no lifecycle action pending, ignored`,
          instanceId: i.id,
        });
        return;
      }
      if (e.result !== "CONTINUE" && e.result !== "ABANDON") {
        throw new InputError(
          `lifecycle action result must be CONTINUE or ABANDON (got ${JSON.stringify(e.result)})`,
        );
      }
      completeAction(s, i, e.result, "api", `lifecycle action completed: ${e.result}`, now, actions);
      return;
    }

    case "lifecycle-heartbeat": {
      const i = find(s, e.instanceId, actions, "RecordLifecycleActionHeartbeat");
      if (!i) return;
      const a = i.lifecycleAction;
      if (!a) {
        actions.push({
          type: "note",
          message: `heartbeat while ${i.state}: no lifecycle action pending, ignored`,
          instanceId: i.id,
        });
        return;
      }
      const hook =
        a.transition === "autoscaling:EC2_INSTANCE_LAUNCHING" ? s.config.launchHook : s.config.terminateHook;
      const hb = hook?.heartbeatTimeoutMs ?? 0;
      a.heartbeats++;
      a.timeoutAt = Math.min(now + hb, a.globalDeadline);
      actions.push({
        type: "note",
        message: `heartbeat ${a.heartbeats}: ${a.hook} now times out at ${new Date(a.timeoutAt).toISOString()}${
          a.timeoutAt === a.globalDeadline ? " (the global timeout)" : ""
        }`,
        instanceId: i.id,
      });
      return;
    }

    case "target-health": {
      const i = find(s, e.instanceId, actions, "target health");
      if (!i) return;
      i.targetState = e.state;
      if (s.config.healthCheckType !== "ELB" || i.state !== "InService" || e.state !== "unhealthy") return;
      if (i.health === "Unhealthy") return;
      const graceEnd = (i.inServiceAt ?? now) + s.config.healthCheckGracePeriodMs;
      if (now >= graceEnd) {
        replaceUnhealthy(s, i, "ELB health check: target unhealthy", "elb-health", now, actions);
      } else {
        actions.push({
          type: "note",
          message: `target unhealthy within the health check grace period (ends ${new Date(graceEnd).toISOString()}): not replaced yet`,
          instanceId: i.id,
        });
      }
      return;
    }

    case "target-removed": {
      const i = find(s, e.instanceId, actions, "target removed");
      if (!i) return;
      i.registered = false;
      // what the load balancer says of a target it no longer has (its last state was draining)
      i.targetState = "unused";
      if (i.state === "Terminating" && !i.stopping) {
        afterDrain(s, i, now, actions);
      } else if (i.state === "InService") {
        actions.push({
          type: "note",
          message: "target removed from the load balancer while InService",
          instanceId: i.id,
        });
      }
      return;
    }

    case "set-desired": {
      checkDesired(e.desired);
      const clamped = clampDesired(e.desired, s.config);
      const from = s.desired;
      s.desired = clamped;
      if (clamped !== e.desired) actions.push({ type: "note", message: clampNote(e.desired, s) });
      if (clamped !== from) {
        actions.push({
          type: "desired-changed",
          from,
          to: clamped,
          cause: `desired capacity set to ${e.desired}`,
        });
      }
      return;
    }

    case "metric":
      targetTracking(s, e.requestsPerTarget, now, actions);
      return;

    case "set-instance-health": {
      const i = find(s, e.instanceId, actions, "SetInstanceHealth");
      if (!i || !COUNTED.has(i.state)) return;
      if (e.health === "Healthy") {
        i.health = "Healthy";
        return;
      }
      const graceEnd = (i.inServiceAt ?? now) + s.config.healthCheckGracePeriodMs;
      if (e.respectGracePeriod && (i.inServiceAt === undefined || now < graceEnd)) {
        // AWS: with ShouldRespectGracePeriod, a status set inside the grace period is ignored
        actions.push({
          type: "note",
          message: "SetInstanceHealth Unhealthy within the health check grace period: ignored",
          instanceId: i.id,
        });
        return;
      }
      replaceUnhealthy(s, i, "SetInstanceHealth: marked Unhealthy", "user-health", now, actions);
      return;
    }

    case "refresh-replace": {
      const i = find(s, e.instanceId, actions, "instance refresh");
      if (!i || !COUNTED.has(i.state)) return;
      beginTermination(s, i, e.cause, "instance-refresh", now, actions);
      return;
    }

    case "set-launch-version":
      s.launchVersion = e.version;
      if (e.fallback === undefined) delete s.launchFallback;
      else s.launchFallback = { version: e.fallback, since: now };
      return;

    case "terminate-instance": {
      const i = find(s, e.instanceId, actions, "TerminateInstanceInAutoScalingGroup");
      if (!i || !COUNTED.has(i.state)) return;
      if (e.decrement) {
        const from = s.desired;
        s.desired = Math.max(s.config.min, s.desired - 1);
        if (s.desired !== from)
          actions.push({
            type: "desired-changed",
            from,
            to: s.desired,
            cause: `TerminateInstanceInAutoScalingGroup ${i.id} with ShouldDecrementDesiredCapacity`,
          });
      }
      beginTermination(
        s,
        i,
        `TerminateInstanceInAutoScalingGroup${e.decrement ? " (desired capacity decremented)" : ""}`,
        "user-request",
        now,
        actions,
      );
      return;
    }
  }
}

/**
 * Where the next instance goes: the zone with the fewest counted instances, the first of the
 * configured order on a tie, as Auto Scaling keeps a group balanced across its zones
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-benefits.html#AutoScalingBehavior.InstanceUsage).
 */
export function launchZone(s: AsgState): string | undefined {
  const zones = s.config.availabilityZones ?? [];
  if (zones.length === 0) return undefined;
  const count = new Map(zones.map((z) => [z, 0]));
  for (const i of activeInstances(s))
    if (i.zone && count.has(i.zone)) count.set(i.zone, count.get(i.zone)! + 1);
  let best = zones[0]!;
  for (const z of zones) if (count.get(z)! < count.get(best)!) best = z;
  return best;
}

/**
 * SetDesiredCapacity's check, in AWS's words (a ValidationError), or undefined when the value
 * is accepted: https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_SetDesiredCapacity.html
 */
export function setDesiredProblem(
  config: Pick<AsgConfig, "min" | "max">,
  desired: number,
): string | undefined {
  if (desired > config.max)
    return `New SetDesiredCapacity value ${desired} is above max value ${config.max} for the AutoScalingGroup.`;
  if (desired < config.min)
    return `New SetDesiredCapacity value ${desired} is below min value ${config.min} for the AutoScalingGroup.`;
  return undefined;
}

/** An instance the API can act on: the group's, and not terminated. */
function managed(s: AsgState, id: string): AsgInstance | undefined {
  return s.instances.find((i) => i.id === id && i.state !== "Terminated");
}

export type ApiProblem = { code: "ValidationError" | "ScalingActivityInProgress"; message: string };

const notManaged = (id: string): ApiProblem => ({
  code: "ValidationError",
  message: `Instance Id not found - No managed instance found for instance ID: ${id}`,
});

/**
 * TerminateInstanceInAutoScalingGroup's checks, in AWS's words, or undefined when accepted:
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TerminateInstanceInAutoScalingGroup.html
 */
export function terminateInstanceProblem(
  s: AsgState,
  id: string,
  decrement: boolean,
): ApiProblem | undefined {
  const i = managed(s, id);
  if (!i) return notManaged(id);
  if (!COUNTED.has(i.state))
    return {
      code: "ScalingActivityInProgress",
      message: `Instance ${id} is already ${i.state}: a termination of it is in progress`,
    };
  if (decrement && s.desired <= s.config.min)
    return {
      code: "ValidationError",
      message: `Currently, desiredSize equals minSize (${s.config.min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
    };
  return undefined;
}

/**
 * SetInstanceHealth's checks (HealthStatus Healthy or Unhealthy, a managed instance), or undefined:
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_SetInstanceHealth.html
 */
export function setInstanceHealthProblem(s: AsgState, id: string, health: string): ApiProblem | undefined {
  if (health !== "Healthy" && health !== "Unhealthy")
    return {
      code: "ValidationError",
      message: `Valid values for health status are 'Healthy' and 'Unhealthy' (got '${health}')`,
    };
  return managed(s, id) ? undefined : notManaged(id);
}

function transition(
  i: AsgInstance,
  to: LifecycleState,
  cause: string,
  actions: AsgAction[],
  why?: TerminationReason,
): void {
  const from = i.state;
  i.state = to;
  actions.push({ type: "transition", instanceId: i.id, from, to, cause, ...(why ? { why } : {}) });
}

function wait(
  i: AsgInstance,
  hook: LifecycleHookConfig,
  kind: LifecycleTransition,
  to: "Pending:Wait" | "Terminating:Wait",
  now: number,
  actions: AsgAction[],
): void {
  const globalDeadline = now + globalTimeoutMs(hook.heartbeatTimeoutMs);
  i.lifecycleAction = {
    hook: hook.name,
    transition: kind,
    startedAt: now,
    heartbeats: 0,
    globalDeadline,
    timeoutAt: Math.min(now + hook.heartbeatTimeoutMs, globalDeadline),
  };
  transition(i, to, `lifecycle hook ${hook.name}`, actions);
  actions.push({
    type: "start-lifecycle-action",
    instanceId: i.id,
    hook: hook.name,
    transition: kind,
    heartbeatTimeoutMs: hook.heartbeatTimeoutMs,
    defaultResult: hook.defaultResult,
    timeoutAt: i.lifecycleAction.timeoutAt,
  });
}

function endAction(
  i: AsgInstance,
  result: LifecycleResult,
  via: "api" | "timeout" | "terminated",
  actions: AsgAction[],
) {
  const a = i.lifecycleAction;
  if (!a) return;
  i.lifecycleAction = undefined;
  actions.push({ type: "end-lifecycle-action", instanceId: i.id, hook: a.hook, result, via });
}

function completeAction(
  s: AsgState,
  i: AsgInstance,
  result: LifecycleResult,
  via: "api" | "timeout",
  cause: string,
  now: number,
  actions: AsgAction[],
): void {
  const wasLaunch = i.lifecycleAction?.transition === "autoscaling:EC2_INSTANCE_LAUNCHING";
  endAction(i, result, via, actions);
  if (wasLaunch && i.state === "Pending:Wait") {
    if (result === "CONTINUE") {
      transition(i, "Pending:Proceed", cause, actions);
      putInService(s, i, cause, now, actions);
    } else {
      launchFailed(s, now, actions);
      beginTermination(s, i, `launch ${cause}`, "launch-abandoned", now, actions);
    }
    return;
  }
  if (!wasLaunch && i.state === "Terminating:Wait") {
    // CONTINUE and ABANDON both let a terminating instance go (ABANDON skips further hooks).
    transition(i, "Terminating:Proceed", cause, actions);
    stop(i, actions);
  }
}

/** A launch ended before InService: the next one waits (launchBackoffMs). */
function launchFailed(s: AsgState, now: number, actions: AsgAction[]): void {
  s.launchFailures = (s.launchFailures ?? 0) + 1;
  const wait = launchBackoffMs(s.launchFailures);
  s.nextLaunchAt = now + wait;
  if (wait > 0)
    actions.push({
      type: "note",
      message: `${s.launchFailures} launches in a row ended before InService: the next launch waits ${wait / 1000} s`,
    });
}

function putInService(s: AsgState, i: AsgInstance, cause: string, now: number, actions: AsgAction[]): void {
  s.launchFailures = 0;
  s.nextLaunchAt = undefined;
  transition(i, "InService", cause, actions);
  i.inServiceAt = now;
  i.registered = true;
  i.targetState = undefined;
  actions.push({ type: "register-target", instanceId: i.id });
}

function replaceUnhealthy(
  s: AsgState,
  i: AsgInstance,
  cause: string,
  why: TerminationReason,
  now: number,
  actions: AsgAction[],
): void {
  i.health = "Unhealthy";
  beginTermination(s, i, cause, why, now, actions);
}

function beginTermination(
  s: AsgState,
  i: AsgInstance,
  cause: string,
  why: TerminationReason,
  now: number,
  actions: AsgAction[],
): void {
  i.cause = cause;
  endAction(i, "ABANDON", "terminated", actions);
  transition(i, "Terminating", cause, actions, why);
  if (i.registered) {
    actions.push({ type: "deregister-target", instanceId: i.id });
    return; // continues on `target-removed`, once the load balancer has drained it
  }
  afterDrain(s, i, now, actions);
}

function afterDrain(s: AsgState, i: AsgInstance, now: number, actions: AsgAction[]): void {
  const hook = s.config.terminateHook;
  if (hook) {
    wait(i, hook, "autoscaling:EC2_INSTANCE_TERMINATING", "Terminating:Wait", now, actions);
    return;
  }
  stop(i, actions);
}

function stop(i: AsgInstance, actions: AsgAction[]): void {
  i.stopping = true;
  actions.push({ type: "terminate", instanceId: i.id });
}

/** The launch version goes back to its fallback once a launch from it has failed (see AsgState.launchFallback). */
function fallBackOnFailedLaunch(s: AsgState, actions: AsgAction[]): void {
  const fb = s.launchFallback;
  if (fb === undefined) return;
  const failed = s.instances.find(
    (i) =>
      i.version === s.launchVersion &&
      i.launchedAt >= fb.since &&
      ((!COUNTED.has(i.state) && i.inServiceAt === undefined) || i.health === "Unhealthy"),
  );
  if (!failed) return;
  actions.push({
    type: "note",
    message: `launch template version ${s.launchVersion} failed on ${failed.id}: new launches take version ${fb.version}`,
  });
  s.launchVersion = fb.version;
  delete s.launchFallback;
}

/** Launch or terminate until the counted instances match desired. */
function reconcile(s: AsgState, now: number, actions: AsgAction[]): void {
  const active = activeInstances(s);
  if (active.length < s.desired) {
    if (s.nextLaunchAt !== undefined && now < s.nextLaunchAt) return; // launch backoff (nextDeadline)
    const n = s.desired - active.length;
    for (let k = 0; k < n; k++) {
      const id = instanceIdFor(s.nextSeq++);
      const inst: AsgInstance = {
        id,
        state: "Pending",
        launchedAt: now,
        health: "Healthy",
        registered: false,
        stopping: false,
      };
      const zone = launchZone(s);
      if (zone) inst.zone = zone;
      if (s.launchVersion !== undefined) inst.version = s.launchVersion;
      s.instances.push(inst);
      actions.push({ type: "launch", instanceId: id });
      actions.push({
        type: "transition",
        instanceId: id,
        from: null,
        to: "Pending",
        cause: `desired capacity ${s.desired}, counted ${active.length + k}: launching`,
      });
    }
  } else if (active.length > s.desired) {
    // OldestInstance: the longest-running instances go first (ties by id, i.e. launch order).
    const victims = [...active]
      .sort((a, b) => a.launchedAt - b.launchedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, active.length - s.desired);
    for (const v of victims) {
      beginTermination(
        s,
        v,
        `scale-in to desired capacity ${s.desired}: oldest instance first`,
        "scale-in",
        now,
        actions,
      );
    }
  }
}

function targetTracking(s: AsgState, value: number, now: number, actions: AsgAction[]): void {
  const tt = s.config.targetTracking;
  if (!tt) {
    actions.push({ type: "note", message: "metric sample ignored: no target tracking policy" });
    return;
  }
  if (!(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
    actions.push({
      type: "note",
      message: `metric sample ignored: ${JSON.stringify(value)} is not a number >= 0`,
    });
    return;
  }
  const inService = s.instances.filter((i) => i.state === "InService").length;
  if (inService === 0) {
    actions.push({ type: "note", message: "metric sample ignored: no InService instance to measure" });
    return;
  }
  const target = tt.targetValue;
  const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

  if (value > target) {
    const proposed = clampDesired(Math.ceil((value * inService) / target), s.config);
    if (proposed <= s.desired) {
      if (s.desired === s.config.max) {
        actions.push({
          type: "note",
          message: `target tracking: ${fmt(value)} requests per target > ${fmt(target)}, but the group is at max ${s.config.max}`,
        });
      }
      return;
    }
    if (s.lastScaleOutAt !== undefined && now - s.lastScaleOutAt < tt.scaleOutCooldownMs) {
      actions.push({
        type: "note",
        message: `target tracking: would scale out to ${proposed}, scale-out cooldown until ${new Date(s.lastScaleOutAt + tt.scaleOutCooldownMs).toISOString()}`,
      });
      return;
    }
    const from = s.desired;
    s.desired = proposed;
    s.lastScaleOutAt = now;
    actions.push({
      type: "desired-changed",
      from,
      to: proposed,
      cause: `target tracking: ${fmt(value)} requests per target > target ${fmt(target)} (${inService} InService)`,
    });
    return;
  }

  if (value >= target || tt.disableScaleIn || s.desired <= s.config.min) return;
  // "Well below": with one instance fewer, the same load would still be at or under target.
  const projected =
    inService > 1 ? (value * inService) / (inService - 1) : value === 0 ? 0 : Number.POSITIVE_INFINITY;
  if (projected > target) return;
  const active = activeInstances(s);
  if (active.length !== inService || active.length !== s.desired) {
    actions.push({
      type: "note",
      message: "target tracking: scale-in waits until every instance is InService",
    });
    return;
  }
  if (s.lastScaleInAt !== undefined && now - s.lastScaleInAt < tt.scaleInCooldownMs) {
    actions.push({
      type: "note",
      message: `target tracking: would scale in, scale-in cooldown until ${new Date(s.lastScaleInAt + tt.scaleInCooldownMs).toISOString()}`,
    });
    return;
  }
  if (s.lastScaleOutAt !== undefined && now - s.lastScaleOutAt < tt.scaleOutCooldownMs) {
    // The capacity just added has not shown in the metric yet.
    actions.push({ type: "note", message: "target tracking: would scale in, a scale-out cooldown runs" });
    return;
  }
  const from = s.desired;
  s.desired = Math.max(s.config.min, s.desired - 1);
  s.lastScaleInAt = now;
  actions.push({
    type: "desired-changed",
    from,
    to: s.desired,
    cause: `target tracking: ${fmt(value)} requests per target, well below target ${fmt(target)} (${fmt(projected)} with one instance fewer)`,
  });
}
