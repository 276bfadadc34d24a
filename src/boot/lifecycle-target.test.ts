import { describe, expect, it } from "vitest";
import { cloudInitRegion, lifecycleTargetFor, regionFor } from "./lifecycle-target.ts";
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
        "metadata); the region (set endpoints.region; metadata did not answer, and neither AWS_REGION, " +
        "AWS_DEFAULT_REGION nor /run/cloud-init/instance-data.json names one)",
    );
  });
});

describe("the region for Auto Scaling calls", () => {
  const cloudInit = JSON.stringify({ v1: { region: "ap-south-1", availability_zone: "ap-south-1a" } });
  const env = { AWS_REGION: "eu-central-1", AWS_DEFAULT_REGION: "eu-north-1" };
  const table: [string, Parameters<typeof regionFor>[0], ReturnType<typeof regionFor>][] = [
    [
      "the config first",
      { region: "us-west-2", identity, env, cloudInitInstanceData: cloudInit },
      { region: "us-west-2", from: "endpoints.region" },
    ],
    [
      "then metadata's zone",
      { identity, env, cloudInitInstanceData: cloudInit },
      { region: "eu-west-1", from: "metadata" },
    ],
    [
      "metadata's placement/region over its zone",
      { identity: { ...identity, region: "eu-west-3" } },
      { region: "eu-west-3", from: "metadata" },
    ],
    [
      "metadata never answered: AWS_REGION",
      { env, cloudInitInstanceData: cloudInit },
      { region: "eu-central-1", from: "AWS_REGION" },
    ],
    [
      "then AWS_DEFAULT_REGION",
      { env: { AWS_REGION: "", AWS_DEFAULT_REGION: "eu-north-1" }, cloudInitInstanceData: cloudInit },
      { region: "eu-north-1", from: "AWS_DEFAULT_REGION" },
    ],
    [
      "then cloud-init's instance data",
      { env: {}, cloudInitInstanceData: cloudInit },
      { region: "ap-south-1", from: "/run/cloud-init/instance-data.json" },
    ],
    ["cloud-init's file unparsable: none", { cloudInitInstanceData: "{not json" }, undefined],
    ["nothing at all: none", {}, undefined],
  ];
  it.each(table)("%s", (_, input, want) => {
    expect(regionFor(input)).toEqual(want);
  });

  it("reads v1.region of instance-data.json and nothing else", () => {
    expect(cloudInitRegion('{"v1":{"region":" us-east-2 "}}')).toBe("us-east-2");
    expect(cloudInitRegion('{"v1":{"region":7}}')).toBeUndefined();
    expect(cloudInitRegion('{"ds":{"region":"us-east-2"}}')).toBeUndefined();
    expect(cloudInitRegion("null")).toBeUndefined();
    expect(cloudInitRegion(undefined)).toBeUndefined();
  });

  it("a boot whose metadata never answered completes the hook in AWS_REGION's region", () => {
    const r = lifecycleTargetFor({
      hook: "h",
      group: "g",
      timeoutMs: 1,
      cloudInitInstanceId: "i-9",
      env: { AWS_REGION: "sa-east-1" },
    });
    expect(r).toMatchObject({ target: { region: "sa-east-1", instanceId: "i-9" } });
  });
});

describe("locks from an earlier boot", () => {
  it("a lock written before the kernel booted is left over; a newer one is not", () => {
    expect(fromEarlierBoot(1_000, 10_000)).toBe(true);
    expect(fromEarlierBoot(10_500, 10_000)).toBe(false);
    expect(fromEarlierBoot(1_000, undefined)).toBe(false);
  });
});
