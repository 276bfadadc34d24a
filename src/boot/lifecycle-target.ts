/**
 * Which lifecycle action to complete: PURE. Group from the config or the instance's
 * aws:autoscaling:groupName tag; instance id from metadata, or, when metadata never answered, the
 * id cloud-init recorded (/var/lib/cloud/data/instance-id), so an instance whose metadata
 * service is down can still be abandoned instead of waiting out the hook's timeout. The region
 * has the same kind of fallbacks (regionFor).
 */
import type { LifecycleTarget } from "../cloud/lifecycle.ts";
import type { InstanceIdentity } from "../cloud/metadata.ts";
import { AUTOSCALING_GROUP_TAG } from "../cloud/role-discovery.ts";

export const CLOUD_INIT_INSTANCE_ID = "/var/lib/cloud/data/instance-id";
/** cloud-init's instance data (readable by all; the sensitive parts are in another file). */
export const CLOUD_INIT_INSTANCE_DATA = "/run/cloud-init/instance-data.json";

export interface TargetInput {
  hook: string;
  group?: string;
  endpoint?: string;
  /** where the instance profile's keys are read (the identity's metadata endpoint) */
  metadataEndpoint?: string;
  region?: string;
  timeoutMs: number;
  identity?: InstanceIdentity;
  /** cloud-init's record of the instance id, when there is one */
  cloudInitInstanceId?: string;
  /** the boot's environment (AWS_REGION, AWS_DEFAULT_REGION) */
  env?: Record<string, string | undefined>;
  /** the text of cloud-init's instance-data.json, when there is one */
  cloudInitInstanceData?: string;
}

export type RegionSource =
  | "endpoints.region"
  | "metadata"
  | "AWS_REGION"
  | "AWS_DEFAULT_REGION"
  | typeof CLOUD_INIT_INSTANCE_DATA;

/** `v1.region` of cloud-init's instance-data.json; undefined when absent or unreadable. */
export function cloudInitRegion(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const region = (JSON.parse(text) as { v1?: { region?: unknown } } | null)?.v1?.region;
    return typeof region === "string" && region.trim() ? region.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The region for Auto Scaling calls, first found wins: the boot config's endpoints.region, the
 * instance's metadata (placement/region, else its zone), AWS_REGION, AWS_DEFAULT_REGION (the
 * variables the AWS SDKs and CLI read), then cloud-init's instance-data.json (`v1.region`,
 * written at every boot on EC2 from the metadata cloud-init read before muster ran). The last
 * three matter when metadata never answered: without a region the give-up ABANDON cannot be
 * sent, and the instance waits out the hook's heartbeat timeout.
 */
export function regionFor(
  i: Pick<TargetInput, "region" | "identity" | "env" | "cloudInitInstanceData">,
): { region: string; from: RegionSource } | undefined {
  const zone = i.identity?.availabilityZone;
  const candidates: [string | undefined, RegionSource][] = [
    [i.region, "endpoints.region"],
    [i.identity?.region ?? (zone ? zone.replace(/[a-z]$/, "") : undefined), "metadata"],
    [i.env?.AWS_REGION, "AWS_REGION"],
    [i.env?.AWS_DEFAULT_REGION, "AWS_DEFAULT_REGION"],
    [cloudInitRegion(i.cloudInitInstanceData), CLOUD_INIT_INSTANCE_DATA],
  ];
  for (const [region, from] of candidates) if (region?.trim()) return { region: region.trim(), from };
  return undefined;
}

export function lifecycleTargetFor(i: TargetInput): { target: LifecycleTarget } | { problem: string } {
  const instanceId = i.identity?.instanceId ?? i.cloudInitInstanceId?.trim();
  const group = i.group ?? i.identity?.tags?.[AUTOSCALING_GROUP_TAG];
  const region = regionFor(i)?.region;
  const missing: string[] = [];
  if (!instanceId)
    missing.push(`the instance id (metadata did not answer and there is no ${CLOUD_INIT_INSTANCE_ID})`);
  if (!group) missing.push(`the Auto Scaling group (set lifecycle.group or allow instance tags in metadata)`);
  if (!region)
    missing.push(
      `the region (set endpoints.region; metadata did not answer, and neither AWS_REGION, AWS_DEFAULT_REGION nor ${CLOUD_INIT_INSTANCE_DATA} names one)`,
    );
  if (missing.length > 0 || !instanceId || !group || !region)
    return { problem: `cannot complete lifecycle hook "${i.hook}": missing ${missing.join("; ")}` };
  return {
    target: {
      endpoint: i.endpoint,
      ...(i.metadataEndpoint ? { metadataEndpoint: i.metadataEndpoint } : {}),
      region,
      group,
      hook: i.hook,
      instanceId,
      timeoutMs: i.timeoutMs,
      maxAttempts: 3,
    },
  };
}
