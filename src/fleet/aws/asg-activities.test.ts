/** Scaling activities folded from the group model's steps, from tables of events. */
import { describe, expect, it } from "vitest";
import { causeTime, foldActivities, type ScalingActivity } from "./asg-activities.ts";
import {
  type AsgConfig,
  type AsgEvent,
  type AsgState,
  createGroup,
  instanceIdFor,
  step,
} from "./asg-model.ts";

const CFG: AsgConfig = {
  name: "web",
  min: 1,
  max: 4,
  healthCheckType: "ELB",
  healthCheckGracePeriodMs: 0,
  launchHook: { name: "launch", heartbeatTimeoutMs: 30_000, defaultResult: "ABANDON" },
  availabilityZones: ["us-east-1a", "us-east-1b"],
};
const I1 = instanceIdFor(1);
const I2 = instanceIdFor(2);

/** Run events through the model, folding activities as the controller does. */
function run(
  desired: number,
  events: [number, AsgEvent][],
  failureOf?: (id: string) => string | undefined,
): { state: AsgState; log: ScalingActivity[] } {
  let n = 0;
  const newId = () => `act-${++n}`;
  const created = createGroup(CFG, 0, desired);
  let log = foldActivities([], {
    before: { ...created.state, desired: 0, instances: [] },
    after: created.state,
    actions: created.actions,
    now: 0,
    newId,
  });
  let state = created.state;
  for (const [now, e] of events) {
    const r = step(state, e, now);
    log = foldActivities(log, { before: state, after: r.state, actions: r.actions, now, newId, failureOf });
    state = r.state;
  }
  return { state, log };
}

const row = (a: ScalingActivity) => [a.description, a.statusCode, a.progress, a.statusMessage ?? ""];

describe("scaling activities", () => {
  it("launches: PreInService, MidLifecycleAction on the hook, Successful at InService", () => {
    const steps: [number, AsgEvent][] = [
      [1000, { type: "instance-launched", instanceId: I1 }],
      [1000, { type: "instance-launched", instanceId: I2 }],
      [2000, { type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }],
    ];
    const { log } = run(2, steps);
    expect(log.map(row)).toEqual([
      [`Launching a new EC2 instance: ${I1}`, "Successful", 100, ""],
      [`Launching a new EC2 instance: ${I2}`, "MidLifecycleAction", 40, ""],
    ]);
    expect(log[0]!.cause).toBe(
      `At ${causeTime(0)} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 2.`,
    );
    expect(log[0]!.endTime).toBe(2000);
    expect(log[1]!.endTime).toBeUndefined();
    expect(JSON.parse(log[1]!.details)).toEqual({ "Availability Zone": "us-east-1b" });
  });

  it.each([
    [
      "abandoned by the instance",
      { type: "lifecycle-action-completed", instanceId: I1, result: "ABANDON" } as AsgEvent,
      1000,
      "Cancelled",
      /^Instance failed to complete user's Lifecycle Action: launch lifecycle action completed: ABANDON$/,
    ],
    [
      "its heartbeat timeout passed",
      { type: "tick" } as AsgEvent,
      31_000,
      "Cancelled",
      /^Instance failed to complete user's Lifecycle Action: launch heartbeat timeout reached: default result ABANDON$/,
    ],
    [
      "it died while booting",
      { type: "instance-died", instanceId: I1, reason: "exit 1" } as AsgEvent,
      1000,
      "Failed",
      /^Instance failed before InService: instance died: exit 1$/,
    ],
  ])("a boot that ends before InService (%s) says why", (_what, event, at, code, message) => {
    const { log } = run(1, [
      [1000, { type: "instance-launched", instanceId: I1 }],
      [at, event],
    ]);
    const launch = log.find((a) => a.description === `Launching a new EC2 instance: ${I1}`)!;
    expect([launch.statusCode, launch.progress, launch.endTime]).toEqual([code, 100, at]);
    expect(launch.statusMessage).toMatch(message);
    expect(log.some((a) => a.description === `Terminating EC2 instance: ${I1}`)).toBe(true);
  });

  it("an abandoned launch names the boot's failure record (stage and cause) in its StatusMessage", () => {
    const { log } = run(
      1,
      [
        [1000, { type: "instance-launched", instanceId: I1 }],
        [2000, { type: "lifecycle-action-completed", instanceId: I1, result: "ABANDON" }],
      ],
      (id) => (id === I1 ? "boot failed at stage fetch after 3 attempts: git refused" : undefined),
    );
    const launch = log.find((a) => a.description === `Launching a new EC2 instance: ${I1}`)!;
    expect(launch.statusMessage).toBe(
      "Instance failed to complete user's Lifecycle Action: launch lifecycle action completed: ABANDON; boot failed at stage fetch after 3 attempts: git refused",
    );
  });

  it("a replacement: the termination's cause, then the launch's, which carries it first", () => {
    const { log } = run(1, [
      [1000, { type: "instance-launched", instanceId: I1 }],
      [2000, { type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }],
      [3000, { type: "target-health", instanceId: I1, state: "unhealthy" }],
      [4000, { type: "target-removed", instanceId: I1 }],
      [5000, { type: "instance-died", instanceId: I1, reason: "stopped" }],
    ]);
    const term = log.find((a) => a.description === `Terminating EC2 instance: ${I1}`)!;
    const elb = `At ${causeTime(3000)} an instance was taken out of service in response to an ELB system health check failure.`;
    expect(term.cause).toBe(elb);
    // registered with the load balancer when it began: it drained first
    expect([term.statusCode, term.endTime]).toEqual(["Successful", 5000]);
    const replacement = log.find((a) => a.description === `Launching a new EC2 instance: ${I2}`)!;
    expect(replacement.cause).toBe(
      `${elb} At ${causeTime(3000)} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 1.`,
    );
  });

  it("a user's SetDesiredCapacity and a user's termination, in AWS's words", () => {
    const { log } = run(1, [
      [1000, { type: "instance-launched", instanceId: I1 }],
      [2000, { type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }],
      [3000, { type: "set-desired", desired: 2 }],
      [4000, { type: "terminate-instance", instanceId: I1, decrement: true }],
    ]);
    expect(log.find((a) => a.instanceId === I2)!.cause).toBe(
      `At ${causeTime(3000)} a user request update of AutoScalingGroup constraints to min: 1, max: 4, desired: 2 changing the desired capacity from 1 to 2. At ${causeTime(3000)} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 1 to 2.`,
    );
    const term = log.find((a) => a.kind === "terminate" && a.instanceId === I1)!;
    expect(term.cause).toBe(
      `At ${causeTime(4000)} instance ${I1} was taken out of service in response to a user request, shrinking the capacity from 2 to 1.`,
    );
    expect(term.statusCode).toBe("WaitingForELBConnectionDraining");
  });
});
