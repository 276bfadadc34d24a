/**
 * Instance refresh, as pure decisions over the group model's state (asg-model.ts): no timers, no
 * I/O, time passed in. The controller calls `advanceRefresh` after every model step and at
 * `nextRefreshDeadline`, and carries out the commands it returns as model events.
 *
 * After the Amazon EC2 Auto Scaling user guide, "Use an instance refresh to update instances in
 * an Auto Scaling group" (https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html),
 * its pages on checkpoints (asg-adding-checkpoints-instance-refresh.html) and rollback
 * (instance-refresh-rollback.html), and the API Reference's StartInstanceRefresh,
 * DescribeInstanceRefreshes, CancelInstanceRefresh and RollbackInstanceRefresh:
 *
 * - Terminate first, then launch (AWS's default, MaxHealthyPercentage 100): each batch takes out
 *   as many instances as keep the healthy capacity at or above MinHealthyPercentage of desired
 *   (rounded up), at least one; the group's capacity rule launches their replacements from the
 *   desired launch template version. An instance counts as healthy once it is InService, Healthy,
 *   its target healthy (health check type ELB), and for a replacement once InstanceWarmup has
 *   passed since InService. The next batch starts when every replacement is healthy.
 *   Instances that are not healthy (still booting, failing) are replaced first and cost nothing.
 * - CheckpointPercentages: when the replaced share reaches the next checkpoint, the refresh waits
 *   CheckpointDelay before the next batch; a batch never overshoots a checkpoint.
 * - SkipMatching: instances already on the desired version are left alone.
 * - A replacement that ends before InService (its boot failed: ABANDON) or turns Unhealthy fails
 *   the refresh. AutoRollback then starts a rollback: new launches return to the previous version
 *   and every instance not on it is replaced (unhealthy ones first) with the same batch rule.
 *   Without AutoRollback the refresh ends Failed and new launches return to the previous version.
 * - BakeTime: after the last replacement the refresh is Baking for that long, then Successful;
 *   on success the group's own launch template version becomes the desired one.
 * - Cancel: no new batch; Cancelling until the replacements under way are done, then Cancelled.
 *   Replacements already made stay (AWS does not roll back a cancel).
 *
 * Simplified (said in docs/fleet.md): AWS retries failed replacements for a while before it fails
 * a refresh; here the first one fails it. MaxHealthyPercentage above 100 (launch before terminate),
 * CloudWatch alarms, warm pools and the standby/scale-in protection preferences are not rehearsed.
 */
import type { AsgInstance, AsgState } from "./asg-model.ts";

export type RefreshStatus =
  | "Pending"
  | "InProgress"
  | "Successful"
  | "Failed"
  | "Cancelling"
  | "Cancelled"
  | "RollbackInProgress"
  | "RollbackSuccessful"
  | "RollbackFailed"
  | "Baking";

export interface RefreshPreferences {
  /** percent of desired capacity that stays healthy (AWS default 90) */
  minHealthyPercentage: number;
  /** how long a replacement must be healthy before it counts, ms */
  instanceWarmupMs: number;
  /** ascending, unique, 1..100 */
  checkpointPercentages: number[];
  /** how long each checkpoint waits, ms (AWS default 3600 s) */
  checkpointDelayMs: number;
  skipMatching: boolean;
  autoRollback: boolean;
  /** Baking after the last replacement, ms (AWS default 0) */
  bakeTimeMs: number;
}

export interface RollbackDetails {
  reason: string;
  startTime: number;
  percentageCompleteOnRollback: number;
  instancesToUpdateOnRollback: number;
}

export interface InstanceRefresh {
  id: string;
  group: string;
  status: RefreshStatus;
  statusReason?: string;
  startTime: number;
  endTime?: number;
  preferences: RefreshPreferences;
  /** the launch template version instances are replaced with */
  desiredVersion: number;
  /** the group's own version when it started: where a rollback or a failure returns */
  previousVersion: number;
  /** instances this phase (the refresh, or its rollback) replaces, chosen when it began */
  toReplace: string[];
  /** when this phase began: replacements are instances of its version launched since */
  phaseStart: number;
  /** the next checkpoint's index in preferences.checkpointPercentages */
  nextCheckpoint: number;
  checkpointUntil?: number;
  bakeUntil?: number;
  percentageComplete: number;
  instancesToUpdate: number;
  rollback?: RollbackDetails;
}

/** What the controller does for the refresh: model events, and the group's template version. */
export type RefreshCommand =
  | { type: "replace"; instanceId: string; cause: string }
  /** new launches take `version`; with `fallback`, that one once a launch of `version` failed */
  | { type: "launch-version"; version: number; fallback?: number }
  /** the group's own launch template version is now this one (the refresh succeeded) */
  | { type: "group-version"; version: number }
  | { type: "note"; message: string };

export interface RefreshStep {
  refresh: InstanceRefresh;
  commands: RefreshCommand[];
}

export const DEFAULT_PREFERENCES = {
  minHealthyPercentage: 90,
  checkpointDelayMs: 3600_000,
  skipMatching: false,
  autoRollback: false,
  bakeTimeMs: 0,
} as const;

const ACTIVE: ReadonlySet<RefreshStatus> = new Set([
  "Pending",
  "InProgress",
  "Cancelling",
  "RollbackInProgress",
  "Baking",
]);

export function isActive(r: InstanceRefresh): boolean {
  return ACTIVE.has(r.status);
}

const COUNTED = new Set(["Pending", "Pending:Wait", "Pending:Proceed", "InService"]);
const counted = (s: AsgState) => s.instances.filter((i) => COUNTED.has(i.state));

/** The version this phase moves instances to. */
export function targetVersion(r: InstanceRefresh): number {
  return r.rollback ? r.previousVersion : r.desiredVersion;
}

/** A replacement this phase launched. */
function isReplacement(r: InstanceRefresh, i: AsgInstance): boolean {
  return i.version === targetVersion(r) && i.launchedAt >= r.phaseStart;
}

/** Healthy as the refresh counts it (a replacement also past its warmup). */
export function healthyForRefresh(r: InstanceRefresh, s: AsgState, i: AsgInstance, now: number): boolean {
  if (i.state !== "InService" || i.health !== "Healthy" || i.inServiceAt === undefined) return false;
  if (s.config.healthCheckType === "ELB" && i.targetState !== "healthy") return false;
  return !isReplacement(r, i) || now >= i.inServiceAt + r.preferences.instanceWarmupMs;
}

/** Why a replacement failed, or undefined. */
function replacementFailure(r: InstanceRefresh, s: AsgState): string | undefined {
  for (const i of s.instances) {
    if (!isReplacement(r, i)) continue;
    if (!COUNTED.has(i.state) && i.inServiceAt === undefined)
      return `instance ${i.id} failed to launch: ${i.cause ?? "it ended before InService"}`;
    if (i.health === "Unhealthy") return `instance ${i.id} is unhealthy: ${i.cause ?? "health check failed"}`;
  }
  return undefined;
}

/** Replacements done (healthy, warmed up) and left, and the percentage, for this phase. */
function progress(r: InstanceRefresh, s: AsgState, now: number) {
  const total = r.toReplace.length;
  const done = Math.min(
    total,
    counted(s).filter((i) => isReplacement(r, i) && healthyForRefresh(r, s, i, now)).length,
  );
  return {
    total,
    done,
    percentageComplete: total === 0 ? 100 : Math.floor((100 * done) / total),
    instancesToUpdate: total - done,
  };
}

/**
 * A new refresh at `now` (status Pending; the first advanceRefresh starts it). The instances to
 * replace: every counted one, or with SkipMatching those not on the desired version.
 */
export function newRefresh(o: {
  id: string;
  state: AsgState;
  preferences: RefreshPreferences;
  desiredVersion: number;
  previousVersion: number;
  now: number;
}): InstanceRefresh {
  const toReplace = counted(o.state)
    .filter((i) => !o.preferences.skipMatching || i.version !== o.desiredVersion)
    .map((i) => i.id);
  return {
    id: o.id,
    group: o.state.config.name,
    status: "Pending",
    startTime: o.now,
    preferences: structuredClone(o.preferences),
    desiredVersion: o.desiredVersion,
    previousVersion: o.previousVersion,
    toReplace,
    phaseStart: o.now,
    nextCheckpoint: 0,
    percentageComplete: 0,
    instancesToUpdate: toReplace.length,
  };
}

/** Start the rollback of a refresh that is InProgress or Baking (manual or automatic). */
export function beginRollback(ref: InstanceRefresh, s: AsgState, reason: string, now: number): RefreshStep {
  const r = structuredClone(ref);
  r.rollback = {
    reason,
    startTime: now,
    percentageCompleteOnRollback: r.percentageComplete,
    instancesToUpdateOnRollback: r.instancesToUpdate,
  };
  r.status = "RollbackInProgress";
  r.statusReason = reason;
  r.phaseStart = now;
  r.checkpointUntil = undefined;
  r.bakeUntil = undefined;
  r.toReplace = counted(s)
    .filter((i) => i.version !== r.previousVersion)
    .map((i) => i.id);
  const p = progress(r, s, now);
  r.percentageComplete = p.percentageComplete;
  r.instancesToUpdate = p.instancesToUpdate;
  return { refresh: r, commands: [{ type: "launch-version", version: r.previousVersion }] };
}

/** CancelInstanceRefresh: no new batch from now on. */
export function cancelRefresh(ref: InstanceRefresh): RefreshStep {
  const r = structuredClone(ref);
  r.status = "Cancelling";
  r.statusReason = "Cancelling: replacements under way finish, no new ones start.";
  r.checkpointUntil = undefined;
  return { refresh: r, commands: [{ type: "launch-version", version: r.previousVersion }] };
}

function end(r: InstanceRefresh, status: RefreshStatus, reason: string | undefined, now: number): void {
  r.status = status;
  r.statusReason = reason;
  r.endTime = now;
  r.checkpointUntil = undefined;
  r.bakeUntil = undefined;
}

/** The next step of an active refresh at `now`. A finished one is returned unchanged. */
export function advanceRefresh(ref: InstanceRefresh, s: AsgState, now: number): RefreshStep {
  if (!isActive(ref)) return { refresh: ref, commands: [] };
  const r = structuredClone(ref);
  const commands: RefreshCommand[] = [];
  if (r.status === "Pending") {
    r.status = "InProgress";
    r.statusReason = undefined;
    // the first failed replacement sends the launches after it back to the previous version at
    // once (the model does, in the step that fails it), not only once this refresh has failed
    commands.push({ type: "launch-version", version: r.desiredVersion, fallback: r.previousVersion });
  }

  const failure = r.status === "Cancelling" ? undefined : replacementFailure(r, s);
  if (failure) {
    if (r.status === "RollbackInProgress") {
      end(r, "RollbackFailed", `The rollback failed: ${failure}.`, now);
      return { refresh: r, commands };
    }
    if (r.preferences.autoRollback) {
      const rb = beginRollback(
        r,
        s,
        `Automatic rollback: the instance refresh failed: ${failure}. Instances return to launch template version ${r.previousVersion}.`,
        now,
      );
      return { refresh: rb.refresh, commands: [...commands, ...rb.commands] };
    }
    end(r, "Failed", `The instance refresh failed: ${failure}.`, now);
    return { refresh: r, commands: [...commands, { type: "launch-version", version: r.previousVersion }] };
  }

  const p = progress(r, s, now);
  r.percentageComplete = p.percentageComplete;
  r.instancesToUpdate = p.instancesToUpdate;
  const active = counted(s);
  const inFlight =
    active.length < s.desired || active.some((i) => isReplacement(r, i) && !healthyForRefresh(r, s, i, now));

  if (r.status === "Cancelling") {
    if (!inFlight) end(r, "Cancelled", "The instance refresh was cancelled.", now);
    return { refresh: r, commands };
  }
  if (r.checkpointUntil !== undefined) {
    if (now < r.checkpointUntil) return { refresh: r, commands };
    r.checkpointUntil = undefined;
    r.statusReason = undefined;
  }
  if (r.status === "Baking") {
    if (now < r.bakeUntil!) return { refresh: r, commands };
    end(r, "Successful", undefined, now);
    return { refresh: r, commands: [...commands, { type: "group-version", version: r.desiredVersion }] };
  }
  if (inFlight) return { refresh: r, commands };

  const remaining = active.filter((i) => r.toReplace.includes(i.id));
  if (remaining.length === 0) {
    if (r.rollback) {
      end(r, "RollbackSuccessful", `Rollback complete: ${r.rollback.reason}`, now);
      return { refresh: r, commands };
    }
    if (r.preferences.bakeTimeMs > 0) {
      r.status = "Baking";
      r.bakeUntil = now + r.preferences.bakeTimeMs;
      r.statusReason = `Baking: waiting ${r.preferences.bakeTimeMs / 1000} s after the last replacement.`;
      return { refresh: r, commands };
    }
    end(r, "Successful", undefined, now);
    return { refresh: r, commands: [...commands, { type: "group-version", version: r.desiredVersion }] };
  }

  const checkpoints = r.rollback ? [] : r.preferences.checkpointPercentages;
  const checkpoint = checkpoints[r.nextCheckpoint];
  if (checkpoint !== undefined && p.percentageComplete >= checkpoint) {
    r.nextCheckpoint++;
    r.checkpointUntil = now + r.preferences.checkpointDelayMs;
    r.statusReason = `Checkpoint ${r.nextCheckpoint} of ${checkpoints.length} reached at ${p.percentageComplete}%: waiting ${r.preferences.checkpointDelayMs / 1000} s before the next replacement.`;
    return { refresh: r, commands };
  }

  const batch = pickBatch(r, s, remaining, p.done, checkpoint, now);
  if (batch.length === 0) {
    r.statusReason = `Waiting for the healthy capacity to reach ${r.preferences.minHealthyPercentage}% of ${s.desired} before replacing more instances.`;
    return { refresh: r, commands };
  }
  r.statusReason = undefined;
  const why = r.rollback
    ? `rolling back to launch template version ${r.previousVersion}`
    : `replacing with launch template version ${r.desiredVersion}`;
  for (const i of batch)
    commands.push({ type: "replace", instanceId: i.id, cause: `instance refresh ${r.id}: ${why}` });
  return { refresh: r, commands };
}

/**
 * The instances to take out now: every remaining one that is not healthy (it adds no capacity),
 * then the oldest healthy ones, as many as keep the healthy capacity at or above the minimum (at
 * least one when the whole group is healthy: AWS's "100 percent replaces one at a time"), and
 * never past the next checkpoint.
 */
export function pickBatch(
  r: InstanceRefresh,
  s: AsgState,
  remaining: AsgInstance[],
  done: number,
  checkpoint: number | undefined,
  now: number,
): AsgInstance[] {
  const healthy = (i: AsgInstance) => healthyForRefresh(r, s, i, now);
  const unhealthy = remaining.filter((i) => !healthy(i));
  const oldestFirst = remaining
    .filter(healthy)
    .sort((a, b) => a.launchedAt - b.launchedAt || (a.id < b.id ? -1 : 1));
  const healthyNow = counted(s).filter(healthy).length;
  const minHealthy = Math.ceil((s.desired * r.preferences.minHealthyPercentage) / 100);
  let room = healthyNow - minHealthy;
  if (room <= 0 && healthyNow >= s.desired && unhealthy.length === 0) room = 1;
  let n = Math.max(0, Math.min(room, oldestFirst.length));
  if (checkpoint !== undefined) {
    const toCheckpoint = Math.ceil((r.toReplace.length * checkpoint) / 100) - done;
    // the percentage is under the checkpoint here, so toCheckpoint >= 1
    n = Math.min(n, Math.max(0, toCheckpoint - unhealthy.length));
  }
  return [...unhealthy, ...oldestFirst.slice(0, n)];
}

/** The earliest time advanceRefresh has something to do without a model event. */
export function nextRefreshDeadline(r: InstanceRefresh, s: AsgState, now: number): number | undefined {
  if (!isActive(r)) return undefined;
  const times: number[] = [];
  if (r.checkpointUntil !== undefined) times.push(r.checkpointUntil);
  if (r.bakeUntil !== undefined) times.push(r.bakeUntil);
  for (const i of counted(s))
    if (isReplacement(r, i) && i.inServiceAt !== undefined) {
      const warm = i.inServiceAt + r.preferences.instanceWarmupMs;
      if (warm > now) times.push(warm);
    }
  return times.length ? Math.min(...times) : undefined;
}
