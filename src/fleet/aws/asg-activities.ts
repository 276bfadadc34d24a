/**
 * Scaling activities, as DescribeScalingActivities reports them, derived from the group model's
 * steps: pure, no clock and no ids of its own (both passed in).
 *
 * Every launch is an activity ("Launching a new EC2 instance: i-..."), from its Pending to
 * InService (Successful), or to its end before InService: Cancelled when its launch lifecycle
 * action was abandoned (by the instance, or the heartbeat timeout's default result), Failed when
 * it died or could not start; the StatusMessage says which, and names the boot's failure record
 * (its stage and cause) when the instance left one before it went. Every termination is one too
 * ("Terminating EC2 instance: i-..."), its Cause in AWS's words for why the group took the
 * instance out of service; a replacement's launch carries the termination's cause before its own,
 * as AWS writes it. Shapes and status codes:
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html and
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-verify-scaling-activity.html
 */
import {
  type AsgAction,
  type AsgState,
  activeInstances,
  type LifecycleState,
  type TerminationReason,
} from "./asg-model.ts";

/** AWS's ScalingActivityStatusCode values this group uses. */
export type ActivityStatusCode =
  | "PreInService"
  | "InProgress"
  | "MidLifecycleAction"
  | "WaitingForELBConnectionDraining"
  | "Successful"
  | "Failed"
  | "Cancelled";

export interface ScalingActivity {
  activityId: string;
  group: string;
  instanceId: string;
  kind: "launch" | "terminate";
  description: string;
  cause: string;
  startTime: number;
  endTime?: number;
  statusCode: ActivityStatusCode;
  statusMessage?: string;
  /** percent */
  progress: number;
  /** AWS's Details: a JSON text (the instance's zone here) */
  details: string;
}

export interface ActivityStep {
  before: AsgState;
  after: AsgState;
  actions: AsgAction[];
  now: number;
  newId: () => string;
  /**
   * What the instance's boot left as its failure record, one line (stage and cause), when it
   * left one: a launch that ends before InService names it in its StatusMessage
   */
  failureOf?: (instanceId: string) => string | undefined;
}

/** The most activities kept (AWS keeps six weeks of them). */
export const MAX_ACTIVITIES = 1000;

/** AWS writes the time in a cause without milliseconds: "At 2024-05-01T10:00:00Z ...". */
export function causeTime(t: number): string {
  return `${new Date(t).toISOString().slice(0, 19)}Z`;
}

/** What each lifecycle state shows on the instance's open activity. */
const PROGRESS: Partial<Record<LifecycleState, [ActivityStatusCode, number]>> = {
  Pending: ["PreInService", 30],
  "Pending:Wait": ["MidLifecycleAction", 40],
  "Pending:Proceed": ["PreInService", 50],
  "Terminating:Wait": ["MidLifecycleAction", 60],
  "Terminating:Proceed": ["InProgress", 70],
};

/** The termination's Cause, in AWS's words. */
export function terminationCause(
  why: TerminationReason | undefined,
  id: string,
  at: string,
  capacity: { from: number; to: number } | undefined,
  modelCause: string,
): string {
  const shrink = capacity ? `, shrinking the capacity from ${capacity.from} to ${capacity.to}` : "";
  switch (why) {
    case "scale-in":
      return `At ${at} an instance was taken out of service in response to a difference between desired and actual capacity${shrink}.`;
    case "user-request":
      return `At ${at} instance ${id} was taken out of service in response to a user request${shrink}.`;
    case "elb-health":
      return `At ${at} an instance was taken out of service in response to an ELB system health check failure.`;
    case "user-health":
      return `At ${at} an instance was taken out of service in response to a user health-check.`;
    case "died":
      return `At ${at} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`;
    case "launch-abandoned":
      return `At ${at} an instance was taken out of service in response to a launch failure: ${modelCause}.`;
    case "instance-refresh":
      return `At ${at} an instance was taken out of service in response to an instance refresh: ${modelCause}.`;
    default:
      return `At ${at} an instance was taken out of service: ${modelCause}.`;
  }
}

/**
 * The activities after one model step: new launches and terminations opened, open ones moved on
 * or closed. Returns a new list (oldest first, at most MAX_ACTIVITIES).
 */
export function foldActivities(log: readonly ScalingActivity[], st: ActivityStep): ScalingActivity[] {
  const out = log.map((a) => ({ ...a }));
  const at = causeTime(st.now);
  const group = st.after.config.name;
  const open = (id: string) => {
    for (let k = out.length - 1; k >= 0; k--)
      if (out[k]!.instanceId === id && out[k]!.endTime === undefined) return out[k];
    return undefined;
  };
  const close = (a: ScalingActivity, code: ActivityStatusCode, message?: string) => {
    a.statusCode = code;
    a.progress = 100;
    a.endTime = st.now;
    if (message) a.statusMessage = message;
  };
  const zoneOf = (id: string) => st.after.instances.find((i) => i.id === id)?.zone;
  const details = (id: string) => {
    const zone = zoneOf(id);
    return JSON.stringify(zone ? { "Availability Zone": zone } : {});
  };

  const launched = new Set(
    st.actions
      .filter((a) => a.type === "transition" && a.from === null)
      .map((a) => (a as { instanceId: string }).instanceId),
  );
  const countedBefore = activeInstances(st.before).length;
  const countedAfterOld = activeInstances(st.after).filter((i) => !launched.has(i.id)).length;
  const prefixes: string[] = [];
  for (const a of st.actions) {
    if (a.type === "desired-changed" && a.cause.startsWith("desired capacity set to"))
      prefixes.push(
        `At ${at} a user request update of AutoScalingGroup constraints to min: ${st.after.config.min}, max: ${st.after.config.max}, desired: ${a.to} changing the desired capacity from ${a.from} to ${a.to}.`,
      );
    else if (a.type === "desired-changed" && a.cause.startsWith("target tracking"))
      prefixes.push(
        `At ${at} a target tracking policy changed the desired capacity from ${a.from} to ${a.to}: ${a.cause}.`,
      );
    if (a.type !== "transition") continue;
    if (a.from === null) {
      const cause = `At ${at} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${countedAfterOld} to ${countedAfterOld + launched.size}.`;
      out.push({
        activityId: st.newId(),
        group,
        instanceId: a.instanceId,
        kind: "launch",
        description: `Launching a new EC2 instance: ${a.instanceId}`,
        cause: [...prefixes, cause].join(" "),
        startTime: st.now,
        statusCode: "PreInService",
        progress: 30,
        details: details(a.instanceId),
      });
      continue;
    }
    const current = open(a.instanceId);
    if (a.to === "InService") {
      if (current?.kind === "launch") close(current, "Successful");
      continue;
    }
    if (a.to === "Terminating") {
      if (current?.kind === "launch") {
        const failure = st.failureOf?.(a.instanceId);
        const record = failure ? `; ${failure}` : "";
        if (a.why === "launch-abandoned")
          close(
            current,
            "Cancelled",
            `Instance failed to complete user's Lifecycle Action: ${a.cause}${record}`,
          );
        else if (a.why === "died")
          close(current, "Failed", `Instance failed before InService: ${a.cause}${record}`);
        else
          close(
            current,
            "Cancelled",
            `Instance was taken out of service before InService: ${a.cause}${record}`,
          );
      }
      const shrinking =
        (a.why === "scale-in" || a.why === "user-request") && st.after.desired < countedBefore
          ? { from: countedBefore, to: st.after.desired }
          : undefined;
      const cause = terminationCause(a.why, a.instanceId, at, shrinking, a.cause);
      prefixes.push(cause);
      const inst = st.after.instances.find((i) => i.id === a.instanceId);
      const draining = inst?.state === "Terminating" && inst.registered;
      out.push({
        activityId: st.newId(),
        group,
        instanceId: a.instanceId,
        kind: "terminate",
        description: `Terminating EC2 instance: ${a.instanceId}`,
        cause,
        startTime: st.now,
        statusCode: draining ? "WaitingForELBConnectionDraining" : "InProgress",
        progress: 50,
        details: details(a.instanceId),
      });
      continue;
    }
    if (a.to === "Terminated") {
      if (current) close(current, current.kind === "terminate" ? "Successful" : "Failed", undefined);
      continue;
    }
    const p = PROGRESS[a.to];
    if (current && p) {
      current.statusCode = p[0];
      current.progress = p[1];
    }
  }
  return out.length > MAX_ACTIVITIES ? out.slice(out.length - MAX_ACTIVITIES) : out;
}
