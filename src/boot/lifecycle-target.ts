/**
 * Which lifecycle action to complete: PURE. Group from the config or the instance's
 * aws:autoscaling:groupName tag; instance id from metadata, or, when metadata never answered, the
 * id cloud-init recorded (/var/lib/cloud/data/instance-id), so an instance whose metadata
 * service is down can still be abandoned instead of waiting out the hook's timeout.
 */
import type { LifecycleTarget } from "../cloud/lifecycle.ts";
import type { InstanceIdentity } from "../cloud/metadata.ts";
import { AUTOSCALING_GROUP_TAG } from "../cloud/role-discovery.ts";

export const CLOUD_INIT_INSTANCE_ID = "/var/lib/cloud/data/instance-id";

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
}

export function lifecycleTargetFor(i: TargetInput): { target: LifecycleTarget } | { problem: string } {
  const instanceId = i.identity?.instanceId ?? i.cloudInitInstanceId?.trim();
  const group = i.group ?? i.identity?.tags?.[AUTOSCALING_GROUP_TAG];
  const zone = i.identity?.availabilityZone;
  const region = i.region ?? i.identity?.region ?? (zone ? zone.replace(/[a-z]$/, "") : undefined);
  const missing: string[] = [];
  if (!instanceId)
    missing.push(`the instance id (metadata did not answer and there is no ${CLOUD_INIT_INSTANCE_ID})`);
  if (!group) missing.push(`the Auto Scaling group (set lifecycle.group or allow instance tags in metadata)`);
  if (!region) missing.push("the region (set endpoints.region)");
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
