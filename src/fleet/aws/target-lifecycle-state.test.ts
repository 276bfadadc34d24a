import { describe, expect, it } from "vitest";
import type { LifecycleState } from "./asg-model.ts";
import { type AwsLifecycleState, targetLifecycleState } from "./target-lifecycle-state.ts";

describe("autoscaling/target-lifecycle-state: the steady state the instance is moving to", () => {
  const table: [AwsLifecycleState, string][] = [
    ["Pending", "InService"],
    ["Pending:Wait", "InService"],
    ["Pending:Proceed", "InService"],
    ["InService", "InService"],
    ["Terminating", "Terminated"],
    ["Terminating:Wait", "Terminated"],
    ["Terminating:Proceed", "Terminated"],
    ["Terminated", "Terminated"],
    ["Detaching", "Detached"],
    ["Detached", "Detached"],
    ["EnteringStandby", "Standby"],
    ["Standby", "Standby"],
    ["Warmed:Pending", "Warmed:Stopped"],
    ["Warmed:Pending:Wait", "Warmed:Stopped"],
    ["Warmed:Pending:Proceed", "Warmed:Stopped"],
    ["Warmed:Stopped", "Warmed:Stopped"],
    ["Warmed:Running", "Warmed:Running"],
    ["Warmed:Hibernated", "Warmed:Hibernated"],
    ["Warmed:Terminating", "Warmed:Terminated"],
    ["Warmed:Terminating:Wait", "Warmed:Terminated"],
    ["Warmed:Terminated", "Warmed:Terminated"],
  ];
  it.each(table)("%s -> %s", (state, target) => {
    expect(targetLifecycleState(state)).toBe(target);
  });

  it("an instance entering a running warm pool is headed for Warmed:Running", () => {
    expect(targetLifecycleState("Warmed:Pending:Wait", "Warmed:Running")).toBe("Warmed:Running");
  });

  it("never answers an intermediate state for any state of the group model", () => {
    const model: LifecycleState[] = [
      "Pending",
      "Pending:Wait",
      "Pending:Proceed",
      "InService",
      "Terminating",
      "Terminating:Wait",
      "Terminating:Proceed",
      "Terminated",
    ];
    for (const s of model) expect(["InService", "Terminated"]).toContain(targetLifecycleState(s));
  });
});
