/**
 * The instance refresh actions of the Auto Scaling query API: StartInstanceRefresh,
 * DescribeInstanceRefreshes, CancelInstanceRefresh and RollbackInstanceRefresh. Request members
 * and result elements after the Amazon EC2 Auto Scaling API Reference
 * (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html,
 * API_DescribeInstanceRefreshes.html, API_CancelInstanceRefresh.html,
 * API_RollbackInstanceRefresh.html, API_InstanceRefresh.html, API_RefreshPreferences.html) and
 * botocore's autoscaling 2011-01-01 service model for names and order. The group behind them
 * (the fleet controller) answers through `InstanceRefreshApi`.
 */

import {
  boolParam,
  el,
  intParam,
  listParam,
  paginate,
  QueryError,
  requireParams,
  validationError,
} from "./autoscaling-xml.ts";
import type { RefreshPreferences, RefreshStatus, RollbackDetails } from "./instance-refresh.ts";

export interface LaunchTemplateRef {
  id?: string;
  name?: string;
  version?: string;
}

export interface StartRefreshRequest {
  group: string;
  /** the preferences given; the group fills in the defaults */
  preferences: Partial<RefreshPreferences> & { maxHealthyPercentage?: number };
  desiredConfiguration?: { launchTemplate: LaunchTemplateRef };
}

export interface InstanceRefreshView {
  id: string;
  group: string;
  status: RefreshStatus;
  statusReason?: string;
  startTime: number;
  endTime?: number;
  percentageComplete: number;
  instancesToUpdate: number;
  preferences: RefreshPreferences;
  desiredConfiguration?: { launchTemplate: LaunchTemplateRef };
  rollback?: RollbackDetails;
}

/** The group's side; every method throws the QueryError AWS answers with when it refuses. */
export interface InstanceRefreshApi {
  /** Returns the new refresh's id. */
  start(req: StartRefreshRequest): string;
  /** Newest first. */
  list(group: string): InstanceRefreshView[];
  /** Returns the cancelled refresh's id. */
  cancel(group: string): string;
  /** Returns the rolled back refresh's id. */
  rollback(group: string): string;
}

export const activeRefreshNotFound = (group: string) =>
  new QueryError(
    400,
    "ActiveInstanceRefreshNotFound",
    `No in progress or pending Instance Refresh found for Auto Scaling group ${group}`,
  );

export const refreshInProgress = () =>
  new QueryError(
    400,
    "InstanceRefreshInProgress",
    "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
  );

function range(name: string, v: number | undefined, lo: number, hi: number): number | undefined {
  if (v !== undefined && (v < lo || v > hi))
    throw validationError(
      `1 validation error detected: Value '${v}' at 'preferences.${name}' failed to satisfy constraint: Member must have value between ${lo} and ${hi}`,
    );
  return v;
}

/** StartInstanceRefresh's parameters, checked as the API checks their shapes. */
export function parseStartRequest(params: Record<string, string>): StartRefreshRequest {
  requireParams(params, ["AutoScalingGroupName"]);
  const strategy = params.Strategy;
  if (strategy !== undefined && strategy !== "Rolling")
    throw validationError(
      `1 validation error detected: Value '${strategy}' at 'strategy' failed to satisfy constraint: Member must satisfy enum value set: [Rolling]`,
    );
  const p = (k: string) => `Preferences.${k}`;
  const checkpoints = listParam(params, p("CheckpointPercentages")).map((v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 100)
      throw validationError(
        `1 validation error detected: Value '${v}' at 'preferences.checkpointPercentages' failed to satisfy constraint: Member must have value between 1 and 100`,
      );
    return n;
  });
  if (checkpoints.some((v, i) => i > 0 && v <= checkpoints[i - 1]!))
    throw validationError("CheckpointPercentages must be unique and in ascending order.");
  const preferences: StartRefreshRequest["preferences"] = {};
  const set = <K extends keyof StartRefreshRequest["preferences"]>(
    k: K,
    v: StartRefreshRequest["preferences"][K] | undefined,
  ) => {
    if (v !== undefined) preferences[k] = v;
  };
  set(
    "minHealthyPercentage",
    range("minHealthyPercentage", intParam(params, p("MinHealthyPercentage")), 0, 100),
  );
  set(
    "maxHealthyPercentage",
    range("maxHealthyPercentage", intParam(params, p("MaxHealthyPercentage")), 100, 200),
  );
  const warmup = range("instanceWarmup", intParam(params, p("InstanceWarmup")), 0, 2_147_483_647);
  set("instanceWarmupMs", warmup === undefined ? undefined : warmup * 1000);
  if (checkpoints.length) set("checkpointPercentages", checkpoints);
  const delay = range("checkpointDelay", intParam(params, p("CheckpointDelay")), 0, 172_800);
  set("checkpointDelayMs", delay === undefined ? undefined : delay * 1000);
  const bake = range("bakeTime", intParam(params, p("BakeTime")), 0, 172_800);
  set("bakeTimeMs", bake === undefined ? undefined : bake * 1000);
  set("skipMatching", boolParam(params, p("SkipMatching")));
  set("autoRollback", boolParam(params, p("AutoRollback")));
  const lt = "DesiredConfiguration.LaunchTemplate";
  const launchTemplate: LaunchTemplateRef = {};
  if (params[`${lt}.LaunchTemplateId`]) launchTemplate.id = params[`${lt}.LaunchTemplateId`];
  if (params[`${lt}.LaunchTemplateName`]) launchTemplate.name = params[`${lt}.LaunchTemplateName`];
  if (params[`${lt}.Version`]) launchTemplate.version = params[`${lt}.Version`];
  const given = Object.keys(launchTemplate).length > 0;
  if (given && !launchTemplate.id && !launchTemplate.name)
    throw validationError(
      "A launch template must be specified by its LaunchTemplateId or LaunchTemplateName.",
    );
  if (preferences.skipMatching && !given)
    throw validationError("SkipMatching requires a DesiredConfiguration.");
  if (preferences.autoRollback && !given)
    throw validationError("AutoRollback requires a DesiredConfiguration.");
  return {
    group: params.AutoScalingGroupName!,
    preferences,
    ...(given ? { desiredConfiguration: { launchTemplate } } : {}),
  };
}

const iso = (t: number) => new Date(t).toISOString();

function preferencesXml(p: RefreshPreferences): string {
  const checkpoints = p.checkpointPercentages.length
    ? `<CheckpointPercentages>${p.checkpointPercentages.map((c) => `<member>${c}</member>`).join("")}</CheckpointPercentages>`
    : "";
  return (
    "<Preferences>" +
    el("MinHealthyPercentage", p.minHealthyPercentage) +
    el("InstanceWarmup", Math.round(p.instanceWarmupMs / 1000)) +
    checkpoints +
    el("CheckpointDelay", Math.round(p.checkpointDelayMs / 1000)) +
    el("SkipMatching", p.skipMatching) +
    el("AutoRollback", p.autoRollback) +
    el("ScaleInProtectedInstances", "Ignore") +
    el("StandbyInstances", "Ignore") +
    el("BakeTime", Math.round(p.bakeTimeMs / 1000)) +
    "</Preferences>"
  );
}

function progressXml(percentageComplete: number, instancesToUpdate: number): string {
  return `<ProgressDetails><LivePoolProgress>${el("PercentageComplete", percentageComplete)}${el("InstancesToUpdate", instancesToUpdate)}</LivePoolProgress></ProgressDetails>`;
}

/** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstanceRefresh.html */
export function instanceRefreshXml(r: InstanceRefreshView): string {
  const lt = r.desiredConfiguration?.launchTemplate;
  return (
    el("InstanceRefreshId", r.id) +
    el("AutoScalingGroupName", r.group) +
    el("Status", r.status) +
    el("StatusReason", r.statusReason) +
    el("StartTime", iso(r.startTime)) +
    el("EndTime", r.endTime === undefined ? undefined : iso(r.endTime)) +
    el("PercentageComplete", r.percentageComplete) +
    el("InstancesToUpdate", r.instancesToUpdate) +
    progressXml(r.percentageComplete, r.instancesToUpdate) +
    preferencesXml(r.preferences) +
    (lt
      ? `<DesiredConfiguration><LaunchTemplate>${el("LaunchTemplateId", lt.id)}${el("LaunchTemplateName", lt.name)}${el("Version", lt.version)}</LaunchTemplate></DesiredConfiguration>`
      : "") +
    (r.rollback
      ? `<RollbackDetails>${el("RollbackReason", r.rollback.reason)}${el("RollbackStartTime", iso(r.rollback.startTime))}${el("PercentageCompleteOnRollback", r.rollback.percentageCompleteOnRollback)}${el("InstancesToUpdateOnRollback", r.rollback.instancesToUpdateOnRollback)}</RollbackDetails>`
      : "") +
    el("Strategy", "Rolling")
  );
}

type RefreshHandler = (api: InstanceRefreshApi | undefined, params: Record<string, string>) => string;

const need = (api: InstanceRefreshApi | undefined): InstanceRefreshApi => {
  if (!api) throw validationError("This emulator fronts no group: it takes no instance refresh.");
  return api;
};

export const INSTANCE_REFRESH_ACTIONS: Record<string, RefreshHandler> = {
  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html */
  StartInstanceRefresh(api, params) {
    const id = need(api).start(parseStartRequest(params));
    return el("InstanceRefreshId", id);
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeInstanceRefreshes.html */
  DescribeInstanceRefreshes(api, params) {
    requireParams(params, ["AutoScalingGroupName"]);
    const ids = listParam(params, "InstanceRefreshIds");
    const all = need(api)
      .list(params.AutoScalingGroupName!)
      .filter((r) => ids.length === 0 || ids.includes(r.id));
    const { page, nextToken } = paginate(all, params, 100, 50);
    const list = page.length
      ? `<InstanceRefreshes>${page.map((r) => `<member>${instanceRefreshXml(r)}</member>`).join("")}</InstanceRefreshes>`
      : "<InstanceRefreshes/>";
    return list + el("NextToken", nextToken);
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CancelInstanceRefresh.html */
  CancelInstanceRefresh(api, params) {
    requireParams(params, ["AutoScalingGroupName"]);
    return el("InstanceRefreshId", need(api).cancel(params.AutoScalingGroupName!));
  },

  /** https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackInstanceRefresh.html */
  RollbackInstanceRefresh(api, params) {
    requireParams(params, ["AutoScalingGroupName"]);
    return el("InstanceRefreshId", need(api).rollback(params.AutoScalingGroupName!));
  },
};
