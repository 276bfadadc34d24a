/** Stage identify: who is this instance? IMDSv2 only, bounded (src/cloud/metadata.ts). */
import { openMetadataSession, readIdentity } from "../../cloud/metadata.ts";
import { AUTOSCALING_GROUP_TAG } from "../../cloud/role-discovery.ts";
import { RunError } from "../../core/errors.ts";
import type { BootConfig } from "../boot-config.ts";
import type { StageFn } from "../pipeline.ts";

export function identifyStage(cfg: BootConfig): StageFn {
  return async ({ facts, remainingMs }) => {
    const timeoutMs = cfg.timeouts.metadataMs;
    const endpoint = cfg.endpoints.metadata === "off" ? undefined : cfg.endpoints.metadata;
    const opts = {
      endpoint,
      timeoutMs,
      retries: 2,
      backoffMs: Math.min(200, timeoutMs),
      deadlineMs: Math.min(remainingMs(), Math.max(10_000, timeoutMs * 10)),
    };
    // kept for the departure-check before the gate opens: its token saves a round trip there
    const session = await openMetadataSession(opts);
    const identity = await readIdentity(opts, session);
    facts.identity = identity;
    facts.metadata = session;
    if (cfg.lifecycle && !cfg.lifecycle.group && !identity.tags?.[AUTOSCALING_GROUP_TAG]) {
      throw new RunError(
        identity.tags === undefined
          ? `lifecycle.group is not set and instance tags are not in the metadata of ${identity.instanceId}; ` +
              "set lifecycle.group or allow tags in instance metadata"
          : `lifecycle.group is not set and instance ${identity.instanceId} has no ${AUTOSCALING_GROUP_TAG} tag; set lifecycle.group`,
      );
    }
  };
}
