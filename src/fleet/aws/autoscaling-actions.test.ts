/**
 * The operators' actions through the official AWS SDK client (its XML parser reads every answer)
 * against the emulator fronting a group run by the pure model, as the fleet controller runs it.
 */
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  DescribeScalingActivitiesCommand,
  DescribeTagsCommand,
  DescribeWarmPoolCommand,
  SetDesiredCapacityCommand,
  SetInstanceHealthCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { foldActivities, type ScalingActivity } from "./asg-activities.ts";
import {
  type AsgConfig,
  type AsgEvent,
  type AsgState,
  createGroup,
  instanceIdFor,
  step,
} from "./asg-model.ts";
import { type AutoScalingEmulator, startAutoScalingEmulator } from "./autoscaling-emulator.ts";
import { modelGroupApi } from "./autoscaling-group-api.ts";

/** The group's region (its zones'): the one the emulator expects signatures scoped to. */
const REGION = "eu-west-1";

const CFG: AsgConfig = {
  name: "web",
  min: 1,
  max: 3,
  healthCheckType: "ELB",
  healthCheckGracePeriodMs: 30_000,
  launchHook: { name: "launch", heartbeatTimeoutMs: 60_000, defaultResult: "ABANDON" },
  availabilityZones: ["eu-west-1a", "eu-west-1b"],
};

/** The pure model run in memory, the way the controller runs it (without the effects). */
class ModelHost {
  state: AsgState;
  log: ScalingActivity[] = [];
  private n = 0;
  constructor(desired: number) {
    const c = createGroup(CFG, 0, desired);
    this.state = c.state;
    this.fold({ ...c.state, desired: 0, instances: [] }, c.state, c.actions, 0);
  }
  private fold(before: AsgState, after: AsgState, actions: ReturnType<typeof step>["actions"], now: number) {
    this.log = foldActivities(this.log, { before, after, actions, now, newId: () => `act-${++this.n}` });
  }
  dispatch(e: AsgEvent, now = 10_000) {
    const r = step(this.state, e, now);
    this.fold(this.state, r.state, r.actions, now);
    this.state = r.state;
  }
}

let emu: AutoScalingEmulator;
let host: ModelHost;
let client: AutoScalingClient;

beforeEach(async () => {
  host = new ModelHost(2);
  for (const id of [instanceIdFor(1), instanceIdFor(2)]) {
    host.dispatch({ type: "instance-launched", instanceId: id }, 1000);
    host.dispatch({ type: "lifecycle-action-completed", instanceId: id, result: "CONTINUE" }, 2000);
  }
  emu = await startAutoScalingEmulator({
    group: modelGroupApi(
      {
        state: () => host.state,
        activities: () => host.log,
        dispatch: (e) => host.dispatch(e),
        closing: () => false,
      },
      {
        instanceType: "m5.large",
        launchTemplate: { name: "web-lt", version: "$Latest" },
        defaultZone: "eu-west-1a",
        tags: { env: "rehearsal", team: "platform" },
        createdTime: Date.UTC(2024, 0, 1),
        accountId: "123456789012",
        region: REGION,
      },
    ),
    region: REGION,
  });
  // the operator's keys, issued by the emulator's issuer as the fleet controller issues them
  const operator = emu.issuer.operatorKeys();
  client = new AutoScalingClient({
    endpoint: emu.url,
    region: REGION,
    credentials: { accessKeyId: operator.accessKeyId, secretAccessKey: operator.secretAccessKey },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  client.destroy();
  await emu.close();
});

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("expected the call to fail");
}

describe("operators' Auto Scaling actions through the SDK", () => {
  it("DescribeAutoScalingGroups: the group as AWS shapes it, paged and filtered", async () => {
    const r = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ["web"] }));
    const g = r.AutoScalingGroups![0]!;
    expect(g).toMatchObject({
      AutoScalingGroupName: "web",
      MinSize: 1,
      MaxSize: 3,
      DesiredCapacity: 2,
      HealthCheckType: "ELB",
      HealthCheckGracePeriod: 30,
      AvailabilityZones: ["eu-west-1a", "eu-west-1b"],
      LaunchTemplate: { LaunchTemplateName: "web-lt", Version: "$Latest" },
      CreatedTime: new Date(Date.UTC(2024, 0, 1)),
    });
    expect(
      g.Instances!.map((i) => [i.InstanceId, i.AvailabilityZone, i.LifecycleState, i.InstanceType]),
    ).toEqual([
      [instanceIdFor(1), "eu-west-1a", "InService", "m5.large"],
      [instanceIdFor(2), "eu-west-1b", "InService", "m5.large"],
    ]);
    expect(g.Tags!.map((t) => t.Key)).toEqual(["env", "Name", "team"].sort());
    const none = await client.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ["other"] }),
    );
    expect(none.AutoScalingGroups).toEqual([]);
    const byTag = await client.send(
      new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: "tag:team", Values: ["nobody"] }] }),
    );
    expect(byTag.AutoScalingGroups).toEqual([]);
    const bad = await errorOf(client.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 101 })));
    expect([bad.name, bad.status]).toEqual(["ValidationError", 400]);
  });

  it("DescribeAutoScalingInstances: LaunchTemplate, zones, NextToken pages and a bad token", async () => {
    const p1 = await client.send(new DescribeAutoScalingInstancesCommand({ MaxRecords: 1 }));
    expect(p1.AutoScalingInstances).toHaveLength(1);
    expect(p1.AutoScalingInstances![0]).toMatchObject({
      InstanceId: instanceIdFor(1),
      HealthStatus: "HEALTHY",
      LaunchTemplate: { LaunchTemplateName: "web-lt", Version: "$Latest" },
    });
    const p2 = await client.send(
      new DescribeAutoScalingInstancesCommand({ MaxRecords: 1, NextToken: p1.NextToken }),
    );
    expect(p2.AutoScalingInstances!.map((i) => i.InstanceId)).toEqual([instanceIdFor(2)]);
    expect(p2.NextToken).toBeUndefined();
    const bad = await errorOf(
      client.send(new DescribeAutoScalingInstancesCommand({ NextToken: "bm9wZQ==" })),
    );
    expect(bad.name).toBe("InvalidNextToken");
  });

  it("DescribeLifecycleHooks, DescribeWarmPool and DescribeTags", async () => {
    const hooks = await client.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web" }));
    expect(hooks.LifecycleHooks).toEqual([
      {
        LifecycleHookName: "launch",
        AutoScalingGroupName: "web",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        HeartbeatTimeout: 60,
        GlobalTimeout: 6000,
        DefaultResult: "ABANDON",
      },
    ]);
    const named = await client.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web", LifecycleHookNames: ["other"] }),
    );
    expect(named.LifecycleHooks).toEqual([]);
    const warm = await client.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: "web" }));
    expect([warm.WarmPoolConfiguration, warm.Instances]).toEqual([undefined, []]);
    const missing = await errorOf(client.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: "nope" })));
    expect([missing.name, missing.message]).toEqual([
      "ValidationError",
      "AutoScalingGroup name not found - AutoScalingGroup 'nope' not found",
    ]);
    const tags = await client.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: "auto-scaling-group", Values: ["web"] },
          { Name: "key", Values: ["env", "team"] },
        ],
        MaxRecords: 1,
      }),
    );
    expect(tags.Tags).toEqual([
      {
        ResourceId: "web",
        ResourceType: "auto-scaling-group",
        Key: "env",
        Value: "rehearsal",
        PropagateAtLaunch: true,
      },
    ]);
    expect(tags.NextToken).toBeTruthy();
    const badFilter = await errorOf(
      client.send(new DescribeTagsCommand({ Filters: [{ Name: "colour", Values: ["x"] }] })),
    );
    expect(badFilter.name).toBe("ValidationError");
  });

  it("SetDesiredCapacity: AWS's ValidationError outside [min, max], the group's desired inside", async () => {
    const above = await errorOf(
      client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: "web", DesiredCapacity: 4 })),
    );
    expect([above.name, above.message, above.status]).toEqual([
      "ValidationError",
      "New SetDesiredCapacity value 4 is above max value 3 for the AutoScalingGroup.",
      400,
    ]);
    const below = await errorOf(
      client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: "web", DesiredCapacity: 0 })),
    );
    expect(below.message).toBe(
      "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup.",
    );
    expect(host.state.desired).toBe(2);
    await client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: "web", DesiredCapacity: 3 }));
    expect(host.state.desired).toBe(3);
    const acts = await client.send(
      new DescribeScalingActivitiesCommand({ AutoScalingGroupName: "web", MaxRecords: 1 }),
    );
    expect(acts.Activities![0]).toMatchObject({
      Description: `Launching a new EC2 instance: ${instanceIdFor(3)}`,
      StatusCode: "PreInService",
    });
    expect(acts.Activities![0]!.Cause).toMatch(/a user request update of AutoScalingGroup constraints/);
    expect(acts.NextToken).toBeTruthy();
  });

  it("TerminateInstanceInAutoScalingGroup answers its Activity; SetInstanceHealth marks and replaces", async () => {
    const t = await client.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: instanceIdFor(1),
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    expect(t.Activity).toMatchObject({
      AutoScalingGroupName: "web",
      Description: `Terminating EC2 instance: ${instanceIdFor(1)}`,
      StatusCode: "WaitingForELBConnectionDraining",
      Progress: 50,
    });
    expect(t.Activity!.StartTime).toBeInstanceOf(Date);
    expect(host.state.desired).toBe(1);
    const again = await errorOf(
      client.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: instanceIdFor(1),
          ShouldDecrementDesiredCapacity: false,
        }),
      ),
    );
    // the SDK knows the code ScalingActivityInProgress as its modelled fault
    expect(again.name).toBe("ScalingActivityInProgressFault");
    const atMin = await errorOf(
      client.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: instanceIdFor(2),
          ShouldDecrementDesiredCapacity: true,
        }),
      ),
    );
    expect(atMin.message).toMatch(/^Currently, desiredSize equals minSize \(1\)\./);

    await client.send(
      new SetInstanceHealthCommand({
        InstanceId: instanceIdFor(2),
        HealthStatus: "Unhealthy",
        ShouldRespectGracePeriod: false,
      }),
    );
    expect(host.state.instances.find((i) => i.id === instanceIdFor(2))).toMatchObject({
      state: "Terminating",
      health: "Unhealthy",
    });
    const g = await client.send(new DescribeAutoScalingGroupsCommand({}));
    expect(
      g.AutoScalingGroups![0]!.Instances!.find((i) => i.InstanceId === instanceIdFor(2))?.HealthStatus,
    ).toBe("Unhealthy");
    const bad = await errorOf(
      client.send(new SetInstanceHealthCommand({ InstanceId: "i-nope", HealthStatus: "Unhealthy" })),
    );
    expect(bad.message).toBe("Instance Id not found - No managed instance found for instance ID: i-nope");
  });
});

describe("actions that name only an instance are authorized on its group", () => {
  const groupArn = `arn:aws:autoscaling:${REGION}:123456789012:autoScalingGroup:*:autoScalingGroupName/web`;
  const roleClient = (policy: Parameters<AutoScalingEmulator["issuer"]["roleKeys"]>[2]) => {
    const k = emu.issuer.roleKeys("ops", "i-ops", policy);
    return new AutoScalingClient({
      endpoint: emu.url,
      region: REGION,
      credentials: {
        accessKeyId: k.accessKeyId,
        secretAccessKey: k.secretAccessKey,
        sessionToken: k.sessionToken,
      },
      maxAttempts: 1,
    });
  };

  it("a Deny on the group's ARN stops TerminateInstanceInAutoScalingGroup and SetInstanceHealth", async () => {
    const c = roleClient({
      Statement: [
        { Effect: "Allow", Action: "autoscaling:*", Resource: "*" },
        {
          Effect: "Deny",
          Action: ["autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:SetInstanceHealth"],
          Resource: groupArn,
        },
      ],
    });
    try {
      const terminate = await errorOf(
        c.send(
          new TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceIdFor(1),
            ShouldDecrementDesiredCapacity: false,
          }),
        ),
      );
      expect(terminate).toMatchObject({ name: "AccessDenied", status: 403 });
      expect(terminate.message).toContain("autoScalingGroupName/web");
      const health = await errorOf(
        c.send(new SetInstanceHealthCommand({ InstanceId: instanceIdFor(1), HealthStatus: "Unhealthy" })),
      );
      expect(health).toMatchObject({ name: "AccessDenied", status: 403 });
      expect(host.state.instances.map((i) => i.id)).toContain(instanceIdFor(1));
    } finally {
      c.destroy();
    }
  });

  it("an Allow on the group's ARN lets them through", async () => {
    const c = roleClient({
      Statement: { Effect: "Allow", Action: "autoscaling:SetInstanceHealth", Resource: groupArn },
    });
    try {
      await c.send(
        new SetInstanceHealthCommand({
          InstanceId: instanceIdFor(1),
          HealthStatus: "Unhealthy",
          ShouldRespectGracePeriod: false,
        }),
      );
    } finally {
      c.destroy();
    }
  });
});
