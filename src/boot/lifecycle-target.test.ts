import { describe, expect, it } from "vitest";
import { lifecycleTargetFor } from "./lifecycle-target.ts";
import { fromEarlierBoot } from "./locks.ts";

const identity = {
  instanceId: "i-1",
  securityGroups: ["web"],
  availabilityZone: "eu-west-1b",
  tags: { "aws:autoscaling:groupName": "web-asg" },
};

describe("which lifecycle action to complete", () => {
  it("group from the instance's Auto Scaling tag, region from its zone", () => {
    expect(lifecycleTargetFor({ hook: "launch", timeoutMs: 1000, identity })).toEqual({
      target: {
        endpoint: undefined,
        region: "eu-west-1",
        group: "web-asg",
        hook: "launch",
        instanceId: "i-1",
        timeoutMs: 1000,
        maxAttempts: 3,
      },
    });
  });

  it("the config's group and region win", () => {
    const r = lifecycleTargetFor({ hook: "h", group: "g", region: "us-west-2", timeoutMs: 1, identity });
    expect(r).toMatchObject({ target: { group: "g", region: "us-west-2" } });
  });

  it("without metadata: cloud-init's instance id, the configured group and region", () => {
    const r = lifecycleTargetFor({
      hook: "h",
      group: "g",
      region: "us-east-1",
      timeoutMs: 1,
      cloudInitInstanceId: "i-from-cloud-init\n",
    });
    expect(r).toMatchObject({ target: { instanceId: "i-from-cloud-init", group: "g" } });
  });

  it("names everything it does not know", () => {
    const r = lifecycleTargetFor({ hook: "h", timeoutMs: 1 });
    expect("problem" in r && r.problem).toBe(
      'cannot complete lifecycle hook "h": missing the instance id (metadata did not answer and there is no ' +
        "/var/lib/cloud/data/instance-id); the Auto Scaling group (set lifecycle.group or allow instance tags in " +
        "metadata); the region (set endpoints.region)",
    );
  });
});

describe("locks from an earlier boot", () => {
  it("a lock written before the kernel booted is left over; a newer one is not", () => {
    expect(fromEarlierBoot(1_000, 10_000)).toBe(true);
    expect(fromEarlierBoot(10_500, 10_000)).toBe(false);
    expect(fromEarlierBoot(1_000, undefined)).toBe(false);
  });
});
