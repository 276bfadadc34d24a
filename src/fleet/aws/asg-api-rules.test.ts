/**
 * The group model's rules behind the operators' API actions, from tables: SetDesiredCapacity's
 * bounds, which instance TerminateInstanceInAutoScalingGroup and SetInstanceHealth act on and
 * what follows, and the zone each launch goes to.
 */
import { describe, expect, it } from "vitest";
import {
  type AsgConfig,
  type AsgState,
  activeInstances,
  createGroup,
  instanceIdFor,
  launchZone,
  setDesiredProblem,
  setInstanceHealthProblem,
  step,
  terminateInstanceProblem,
} from "./asg-model.ts";

const CFG: AsgConfig = {
  name: "web",
  min: 1,
  max: 4,
  healthCheckType: "ELB",
  healthCheckGracePeriodMs: 10_000,
  availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
};

/** A group with `n` instances InService (launched at 0, InService at 1000). */
function running(n: number, cfg: AsgConfig = CFG): AsgState {
  let s = createGroup(cfg, 0, n).state;
  for (const i of [...s.instances]) s = step(s, { type: "instance-launched", instanceId: i.id }, 1000).state;
  return s;
}

describe("SetDesiredCapacity's bounds (AWS's ValidationError text)", () => {
  it.each([
    [5, "New SetDesiredCapacity value 5 is above max value 4 for the AutoScalingGroup."],
    [0, "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup."],
    [1, undefined],
    [4, undefined],
  ])("desired %i -> %s", (desired, problem) => {
    expect(setDesiredProblem(CFG, desired)).toBe(problem);
  });
});

describe("launch zones: the zone with the fewest counted instances, in the configured order", () => {
  it.each([
    [1, ["us-east-1a"]],
    [3, ["us-east-1a", "us-east-1b", "us-east-1c"]],
    [4, ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"]],
  ])("%i instances", (n, zones) => {
    expect(running(n).instances.map((i) => i.zone)).toEqual(zones);
  });

  it("a replacement goes to the zone its predecessor left", () => {
    let s = running(3);
    s = step(s, { type: "instance-died", instanceId: instanceIdFor(2), reason: "killed" }, 2000).state;
    const fresh = s.instances.find((i) => i.state === "Pending")!;
    expect(fresh.zone).toBe("us-east-1b");
  });

  it("no zones configured: none given", () => {
    expect(launchZone(createGroup({ ...CFG, availabilityZones: undefined }, 0, 1).state)).toBeUndefined();
  });
});

describe("TerminateInstanceInAutoScalingGroup", () => {
  const I1 = instanceIdFor(1);
  it.each([
    [
      "an unknown instance",
      2,
      "i-0123456789abcdef0",
      false,
      "ValidationError",
      /No managed instance found for instance ID: i-0123456789abcdef0/,
    ],
    ["a decrement at min", 1, I1, true, "ValidationError", /^Currently, desiredSize equals minSize \(1\)\./],
    ["a decrement above min", 2, I1, true, undefined, undefined],
    ["no decrement at min", 1, I1, false, undefined, undefined],
  ] as const)("%s", (_what, n, id, decrement, code, message) => {
    const problem = terminateInstanceProblem(running(n), id, decrement);
    expect(problem?.code).toBe(code);
    if (message) expect(problem?.message).toMatch(message);
  });

  it("with decrement: desired drops by one and the instance terminates, no replacement", () => {
    const r = step(running(2), { type: "terminate-instance", instanceId: I1, decrement: true }, 5000);
    expect(r.state.desired).toBe(1);
    expect(r.state.instances.find((i) => i.id === I1)?.state).toBe("Terminating");
    expect(r.actions).toContainEqual(
      expect.objectContaining({ type: "transition", to: "Terminating", why: "user-request" }),
    );
    expect(r.actions.filter((a) => a.type === "launch")).toEqual([]);
  });

  it("without decrement: a replacement is launched", () => {
    const r = step(running(2), { type: "terminate-instance", instanceId: I1, decrement: false }, 5000);
    expect(r.state.desired).toBe(2);
    expect(r.actions.filter((a) => a.type === "launch")).toHaveLength(1);
    expect(activeInstances(r.state)).toHaveLength(2);
  });

  it("an instance already terminating: a termination is in progress", () => {
    const s = step(running(2), { type: "terminate-instance", instanceId: I1, decrement: false }, 5000).state;
    expect(terminateInstanceProblem(s, I1, false)?.code).toBe("ScalingActivityInProgress");
  });
});

describe("SetInstanceHealth", () => {
  const I1 = instanceIdFor(1);
  it.each([
    ["Sick", "ValidationError"],
    ["Healthy", undefined],
    ["Unhealthy", undefined],
  ])("health status %s -> %s", (health, code) => {
    expect(setInstanceHealthProblem(running(1), I1, health)?.code).toBe(code);
  });

  it.each([
    // [respect grace period, time, replaced]
    [true, 5000, false], // inside the 10 s grace period counted from InService at 1000
    [true, 20_000, true],
    [false, 5000, true],
  ])("Unhealthy, respecting the grace period %s, at %i ms: replaced %s", (respect, now, replaced) => {
    const r = step(
      running(1),
      { type: "set-instance-health", instanceId: I1, health: "Unhealthy", respectGracePeriod: respect },
      now,
    );
    expect(r.state.instances.find((i) => i.id === I1)?.state).toBe(replaced ? "Terminating" : "InService");
    expect(r.actions.some((a) => a.type === "launch")).toBe(replaced);
  });
});
