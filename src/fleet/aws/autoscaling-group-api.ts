/**
 * What the Auto Scaling API emulator reads and asks of the group it fronts: a read/act interface,
 * so the emulator keeps no copy of the group's state. `modelGroupApi` implements it over the pure
 * group model (asg-model.ts): reads come from the model's state, acts are checked by the model's
 * own rules (setDesiredProblem, terminateInstanceProblem, setInstanceHealthProblem) and then
 * handed to whoever runs the model (the fleet controller) as events.
 */
import { createHash } from "node:crypto";
import type { ScalingActivity } from "./asg-activities.ts";
import {
  type AsgEvent,
  type AsgState,
  globalTimeoutMs,
  type LifecycleState,
  setDesiredProblem,
  setInstanceHealthProblem,
  terminateInstanceProblem,
} from "./asg-model.ts";
import { activityInProgress, QueryError, resourceContention, validationError } from "./autoscaling-xml.ts";
import type { InstanceRefreshApi } from "./instance-refresh-actions.ts";

export interface LaunchTemplateView {
  id?: string;
  name?: string;
  version?: string;
}

export interface InstanceView {
  instanceId: string;
  group: string;
  availabilityZone: string;
  lifecycleState: LifecycleState | string;
  health: "Healthy" | "Unhealthy";
  instanceType: string;
  launchTemplate?: LaunchTemplateView;
  protectedFromScaleIn: boolean;
}

export interface LifecycleHookView {
  name: string;
  group: string;
  transition: "autoscaling:EC2_INSTANCE_LAUNCHING" | "autoscaling:EC2_INSTANCE_TERMINATING";
  heartbeatTimeoutSec: number;
  globalTimeoutSec: number;
  defaultResult: "CONTINUE" | "ABANDON";
}

export interface TagView {
  key: string;
  value: string;
  propagateAtLaunch: boolean;
}

export interface AutoScalingGroupView {
  name: string;
  arn: string;
  min: number;
  max: number;
  desired: number;
  defaultCooldownSec: number;
  availabilityZones: string[];
  launchTemplate?: LaunchTemplateView;
  healthCheckType: string;
  healthCheckGracePeriodSec: number;
  targetGroupARNs: string[];
  createdTime: number;
  tags: TagView[];
  terminationPolicies: string[];
  instances: InstanceView[];
  hooks: LifecycleHookView[];
  /** Only while the group is being deleted on AWS ("Delete in progress"); never here. */
  status?: string;
}

/** The group behind the API. Acts throw QueryError (the API's answer) when refused. */
export interface AutoScalingGroupApi {
  groups(): AutoScalingGroupView[];
  /** Oldest first. */
  activities(): ScalingActivity[];
  setDesiredCapacity(group: string, desired: number, honorCooldown: boolean): void;
  setInstanceHealth(instanceId: string, health: string, respectGracePeriod: boolean): void;
  /** Returns the termination's activity. */
  terminateInstance(instanceId: string, decrement: boolean): ScalingActivity;
  /** The group's instance refreshes; none: the refresh actions are refused. */
  instanceRefresh?: InstanceRefreshApi;
}

/** The facts about a group that fleet.yaml gives and the model does not decide. */
export interface GroupFacts {
  instanceType: string;
  launchTemplate: { name: string; version: string };
  /** Zones when the model's config names none. */
  defaultZone: string;
  tags: Record<string, string>;
  createdTime: number;
  accountId: string;
  region: string;
}

export interface ModelHost {
  state(): AsgState;
  activities(): ScalingActivity[];
  dispatch(event: AsgEvent): void;
  /** True while the group is being shut down: acts get ResourceContention. */
  closing(): boolean;
  /**
   * The launch template version to report: an instance's (the one it was launched from), or with
   * undefined the group's; without this, the version fleet.yaml names.
   */
  launchTemplateVersion?(instanceVersion: number | undefined): string;
}

const hex = (s: string, n: number) => createHash("sha256").update(s).digest("hex").slice(0, n);

/** The ARNs AWS would give the group's parts, from the account, region and names. */
export function groupArns(facts: GroupFacts, group: string) {
  return {
    group: `arn:aws:autoscaling:${facts.region}:${facts.accountId}:autoScalingGroup:${hex(`asg/${group}`, 8)}-${hex(`asg2/${group}`, 4)}-${hex(`asg3/${group}`, 4)}-${hex(`asg4/${group}`, 4)}-${hex(`asg5/${group}`, 12)}:autoScalingGroupName/${group}`,
    targetGroup: `arn:aws:elasticloadbalancing:${facts.region}:${facts.accountId}:targetgroup/${group.slice(0, 32)}/${hex(`tg/${group}`, 16)}`,
    launchTemplateId: `lt-${hex(`lt/${facts.launchTemplate.name}`, 17)}`,
  };
}

const notFound = (group: string) =>
  validationError(`AutoScalingGroup name not found - AutoScalingGroup '${group}' not found`);

export function modelGroupApi(host: ModelHost, facts: GroupFacts): AutoScalingGroupApi {
  const view = (): AutoScalingGroupView => {
    const s = host.state();
    const c = s.config;
    const arns = groupArns(facts, c.name);
    const lt = { id: arns.launchTemplateId, ...facts.launchTemplate };
    const versioned = (v: number | undefined) =>
      host.launchTemplateVersion ? { ...lt, version: host.launchTemplateVersion(v) } : lt;
    const zones = c.availabilityZones?.length ? c.availabilityZones : [facts.defaultZone];
    const hooks: LifecycleHookView[] = [];
    for (const [h, transition] of [
      [c.launchHook, "autoscaling:EC2_INSTANCE_LAUNCHING"],
      [c.terminateHook, "autoscaling:EC2_INSTANCE_TERMINATING"],
    ] as const)
      if (h)
        hooks.push({
          name: h.name,
          group: c.name,
          transition,
          heartbeatTimeoutSec: Math.round(h.heartbeatTimeoutMs / 1000),
          globalTimeoutSec: Math.round(globalTimeoutMs(h.heartbeatTimeoutMs) / 1000),
          defaultResult: h.defaultResult,
        });
    const tags: TagView[] = [
      { key: "Name", value: c.name, propagateAtLaunch: true },
      ...Object.entries(facts.tags)
        .filter(([k]) => k !== "Name" && !k.startsWith("aws:"))
        .map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
    ].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return {
      name: c.name,
      arn: arns.group,
      min: c.min,
      max: c.max,
      desired: s.desired,
      defaultCooldownSec: 300,
      availabilityZones: zones,
      launchTemplate: versioned(undefined),
      healthCheckType: c.healthCheckType,
      healthCheckGracePeriodSec: Math.round(c.healthCheckGracePeriodMs / 1000),
      targetGroupARNs: [arns.targetGroup],
      createdTime: facts.createdTime,
      tags,
      terminationPolicies: ["OldestInstance"],
      hooks,
      instances: s.instances
        .filter((i) => i.state !== "Terminated")
        .map((i) => ({
          instanceId: i.id,
          group: c.name,
          availabilityZone: i.zone ?? zones[0]!,
          lifecycleState: i.state,
          health: i.health,
          instanceType: facts.instanceType,
          launchTemplate: versioned(i.version),
          protectedFromScaleIn: false,
        })),
    };
  };
  const act = (problem: { code: string; message: string } | undefined) => {
    if (host.closing())
      throw resourceContention("The fleet is shutting down; its group takes no changes now.");
    if (!problem) return;
    throw problem.code === "ScalingActivityInProgress"
      ? activityInProgress(problem.message)
      : new QueryError(400, problem.code, problem.message);
  };
  return {
    groups: () => [view()],
    activities: () => host.activities(),
    setDesiredCapacity(group, desired) {
      const s = host.state();
      if (group !== s.config.name) throw notFound(group);
      const problem = setDesiredProblem(s.config, desired);
      act(problem === undefined ? undefined : { code: "ValidationError", message: problem });
      host.dispatch({ type: "set-desired", desired });
    },
    setInstanceHealth(instanceId, health, respectGracePeriod) {
      act(setInstanceHealthProblem(host.state(), instanceId, health));
      host.dispatch({
        type: "set-instance-health",
        instanceId,
        health: health as "Healthy" | "Unhealthy",
        respectGracePeriod,
      });
    },
    terminateInstance(instanceId, decrement) {
      act(terminateInstanceProblem(host.state(), instanceId, decrement));
      host.dispatch({ type: "terminate-instance", instanceId, decrement });
      const a = host
        .activities()
        .filter((x) => x.instanceId === instanceId && x.kind === "terminate")
        .pop();
      if (!a)
        throw resourceContention(
          `The termination of ${instanceId} is queued behind other changes; try again.`,
        );
      return a;
    },
  };
}
