/**
 * The Auto Scaling API actions operators call, over the group's read/act interface
 * (autoscaling-group-api.ts): each takes the request's parameters and returns its result's XML
 * (the inside of `<ActionResult>`), or throws the QueryError AWS answers with. Request members,
 * response elements and limits follow the Amazon EC2 Auto Scaling API Reference page named beside
 * each, and botocore's autoscaling 2011-01-01 service model for member order and names.
 */
import type { ScalingActivity } from "./asg-activities.ts";
import type {
  AutoScalingGroupApi,
  AutoScalingGroupView,
  InstanceView,
  LaunchTemplateView,
  LifecycleHookView,
  TagView,
} from "./autoscaling-group-api.ts";
import {
  boolParam,
  el,
  filtersParam,
  intParam,
  listParam,
  members,
  paginate,
  type QueryFilter,
  requireParams,
  validationError,
  xmlEscape,
} from "./autoscaling-xml.ts";
import { INSTANCE_REFRESH_ACTIONS } from "./instance-refresh-actions.ts";

type Handler = (api: AutoScalingGroupApi, params: Record<string, string>) => string | undefined;

const iso = (t: number) => new Date(t).toISOString();

function launchTemplateXml(lt: LaunchTemplateView | undefined): string {
  if (!lt) return "";
  return `<LaunchTemplate>${el("LaunchTemplateId", lt.id)}${el("LaunchTemplateName", lt.name)}${el("Version", lt.version)}</LaunchTemplate>`;
}

/**
 * An instance as the group lists it (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Instance.html)
 * or as DescribeAutoScalingInstances does (API_AutoScalingInstanceDetails.html: with its group's
 * name, and HealthStatus in capitals, HEALTHY, unlike the group's Instances).
 */
function instanceXml(i: InstanceView, details = false): string {
  return (
    el("InstanceId", i.instanceId) +
    el("InstanceType", i.instanceType) +
    (details ? el("AutoScalingGroupName", i.group) : "") +
    el("AvailabilityZone", i.availabilityZone) +
    el("LifecycleState", i.lifecycleState) +
    el("HealthStatus", details ? i.health.toUpperCase() : i.health) +
    launchTemplateXml(i.launchTemplate) +
    el("ProtectedFromScaleIn", i.protectedFromScaleIn)
  );
}

/** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TagDescription.html */
function tagXml(group: string, t: TagView): string {
  return (
    el("ResourceId", group) +
    el("ResourceType", "auto-scaling-group") +
    el("Key", t.key) +
    el("Value", t.value) +
    el("PropagateAtLaunch", t.propagateAtLaunch)
  );
}

/** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_AutoScalingGroup.html */
function groupXml(g: AutoScalingGroupView): string {
  return (
    el("AutoScalingGroupName", g.name) +
    el("AutoScalingGroupARN", g.arn) +
    launchTemplateXml(g.launchTemplate) +
    el("MinSize", g.min) +
    el("MaxSize", g.max) +
    el("DesiredCapacity", g.desired) +
    el("DefaultCooldown", g.defaultCooldownSec) +
    members("AvailabilityZones", g.availabilityZones, xmlEscape) +
    members("LoadBalancerNames", [], () => "") +
    members("TargetGroupARNs", g.targetGroupARNs, xmlEscape) +
    el("HealthCheckType", g.healthCheckType) +
    el("HealthCheckGracePeriod", g.healthCheckGracePeriodSec) +
    members("Instances", g.instances, (i) => instanceXml(i)) +
    el("CreatedTime", iso(g.createdTime)) +
    members("SuspendedProcesses", [], () => "") +
    members("EnabledMetrics", [], () => "") +
    el("Status", g.status) +
    members("Tags", g.tags, (t) => tagXml(g.name, t)) +
    members("TerminationPolicies", g.terminationPolicies, xmlEscape) +
    el("NewInstancesProtectedFromScaleIn", false) +
    el(
      "ServiceLinkedRoleARN",
      g.arn.replace(
        /^arn:aws:autoscaling:[^:]*:(\d+):.*$/,
        "arn:aws:iam::$1:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
      ),
    ) +
    el("CapacityRebalance", false)
  );
}

/** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html */
export function activityXml(a: ScalingActivity, groupArn: string | undefined): string {
  return (
    el("ActivityId", a.activityId) +
    el("AutoScalingGroupName", a.group) +
    el("Description", a.description) +
    el("Cause", a.cause) +
    el("StartTime", iso(a.startTime)) +
    el("EndTime", a.endTime === undefined ? undefined : iso(a.endTime)) +
    el("StatusCode", a.statusCode) +
    el("StatusMessage", a.statusMessage) +
    el("Progress", a.progress) +
    el("Details", a.details) +
    el("AutoScalingGroupARN", groupArn)
  );
}

function groupNamed(api: AutoScalingGroupApi, name: string): AutoScalingGroupView {
  const g = api.groups().find((x) => x.name === name);
  if (!g) throw validationError(`AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
  return g;
}

function atMost(list: string[], n: number, member: string): void {
  if (list.length > n)
    throw validationError(
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${n}`,
    );
}

/** The DescribeAutoScalingGroups filters: tag-key, tag-value, tag:<key>. */
function groupMatches(g: AutoScalingGroupView, filters: QueryFilter[]): boolean {
  return filters.every((f) => {
    if (f.name === "tag-key") return g.tags.some((t) => f.values.includes(t.key));
    if (f.name === "tag-value") return g.tags.some((t) => f.values.includes(t.value));
    if (f.name.startsWith("tag:"))
      return g.tags.some((t) => t.key === f.name.slice(4) && f.values.includes(t.value));
    throw validationError(
      `Filter name '${f.name}' is not valid. Valid filter names are tag-key, tag-value and tag:<key>.`,
    );
  });
}

/** The DescribeTags filters: auto-scaling-group, key, value, propagate-at-launch. */
function tagMatches(group: string, t: TagView, filters: QueryFilter[]): boolean {
  return filters.every((f) => {
    switch (f.name) {
      case "auto-scaling-group":
        return f.values.includes(group);
      case "key":
        return f.values.includes(t.key);
      case "value":
        return f.values.includes(t.value);
      case "propagate-at-launch":
        return f.values.includes(String(t.propagateAtLaunch));
      default:
        throw validationError(
          `Filter type ${f.name} is not correct. Allowed Filter types are: auto-scaling-group key value propagate-at-launch`,
        );
    }
  });
}

function hookXml(h: LifecycleHookView): string {
  return (
    el("LifecycleHookName", h.name) +
    el("AutoScalingGroupName", h.group) +
    el("LifecycleTransition", h.transition) +
    el("HeartbeatTimeout", h.heartbeatTimeoutSec) +
    el("GlobalTimeout", h.globalTimeoutSec) +
    el("DefaultResult", h.defaultResult)
  );
}

export const AUTOSCALING_ACTIONS: Record<string, Handler> = {
  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html */
  DescribeAutoScalingGroups(api, params) {
    const names = listParam(params, "AutoScalingGroupNames");
    const filters = filtersParam(params);
    const groups = api
      .groups()
      .filter((g) => (names.length === 0 || names.includes(g.name)) && groupMatches(g, filters));
    const { page, nextToken } = paginate(groups, params, 100, 50);
    return members("AutoScalingGroups", page, groupXml) + el("NextToken", nextToken);
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingInstances.html */
  DescribeAutoScalingInstances(api, params) {
    const ids = listParam(params, "InstanceIds");
    if (ids.length > 50)
      throw validationError("The number of instance ids that may be passed in is limited to 50");
    const all = api
      .groups()
      .flatMap((g) => g.instances)
      .filter((i) => ids.length === 0 || ids.includes(i.instanceId));
    const { page, nextToken } = paginate(all, params, 50);
    const xml = members("AutoScalingInstances", page, (i) => instanceXml(i, true));
    return xml + el("NextToken", nextToken);
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeLifecycleHooks.html */
  DescribeLifecycleHooks(api, params) {
    requireParams(params, ["AutoScalingGroupName"]);
    const g = groupNamed(api, params.AutoScalingGroupName!);
    const names = listParam(params, "LifecycleHookNames");
    atMost(names, 50, "lifecycleHookNames");
    const hooks = g.hooks.filter((h) => names.length === 0 || names.includes(h.name));
    return members("LifecycleHooks", hooks, hookXml);
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeScalingActivities.html */
  DescribeScalingActivities(api, params) {
    const ids = listParam(params, "ActivityIds");
    atMost(ids, 50, "activityIds");
    const group = params.AutoScalingGroupName;
    const arns = new Map(api.groups().map((g) => [g.name, g.arn]));
    const activities = api
      .activities()
      .filter(
        (a) => (group === undefined || a.group === group) && (ids.length === 0 || ids.includes(a.activityId)),
      )
      .reverse(); // newest first, as AWS lists them
    const { page, nextToken } = paginate(activities, params, 100);
    return members("Activities", page, (a) => activityXml(a, arns.get(a.group))) + el("NextToken", nextToken);
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_SetDesiredCapacity.html */
  SetDesiredCapacity(api, params) {
    requireParams(params, ["AutoScalingGroupName", "DesiredCapacity"]);
    const desired = intParam(params, "DesiredCapacity")!;
    api.setDesiredCapacity(
      params.AutoScalingGroupName!,
      desired,
      boolParam(params, "HonorCooldown") ?? false,
    );
    return undefined;
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_SetInstanceHealth.html */
  SetInstanceHealth(api, params) {
    requireParams(params, ["InstanceId", "HealthStatus"]);
    // ShouldRespectGracePeriod: "The default is true." (the API Reference)
    api.setInstanceHealth(
      params.InstanceId!,
      params.HealthStatus!,
      boolParam(params, "ShouldRespectGracePeriod") ?? true,
    );
    return undefined;
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TerminateInstanceInAutoScalingGroup.html */
  TerminateInstanceInAutoScalingGroup(api, params) {
    requireParams(params, ["InstanceId", "ShouldDecrementDesiredCapacity"]);
    const activity = api.terminateInstance(
      params.InstanceId!,
      boolParam(params, "ShouldDecrementDesiredCapacity")!,
    );
    const arn = api.groups().find((g) => g.name === activity.group)?.arn;
    return `<Activity>${activityXml(activity, arn)}</Activity>`;
  },

  /**
   * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html: a group
   * without a warm pool answers no WarmPoolConfiguration and no instances.
   */
  DescribeWarmPool(api, params) {
    requireParams(params, ["AutoScalingGroupName"]);
    groupNamed(api, params.AutoScalingGroupName!);
    paginate([], params, 50);
    return members("Instances", [], () => "");
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeTags.html */
  DescribeTags(api, params) {
    const filters = filtersParam(params);
    const tags = api
      .groups()
      .flatMap((g) =>
        g.tags.filter((t) => tagMatches(g.name, t, filters)).map((t) => ({ group: g.name, t })),
      );
    const { page, nextToken } = paginate(tags, params, 100, 50);
    return members("Tags", page, ({ group, t }) => tagXml(group, t)) + el("NextToken", nextToken);
  },
};

for (const [name, handler] of Object.entries(INSTANCE_REFRESH_ACTIONS))
  AUTOSCALING_ACTIONS[name] = (api, params) => handler(api.instanceRefresh, params);

/** The actions answered here, in the order docs/fleet.md lists them. */
export const OPERATOR_ACTIONS = Object.keys(AUTOSCALING_ACTIONS);
