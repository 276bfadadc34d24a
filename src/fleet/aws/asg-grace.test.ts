/**
 * The health check grace period at its edges: it runs from each instance's own InService time,
 * a report at its last millisecond is still tolerated, and one at its end replaces the instance.
 */
import { describe, expect, it } from "vitest";
import {
  type AsgConfig,
  type AsgEvent,
  type AsgState,
  createGroup,
  instanceIdFor,
  step,
} from "./asg-model.ts";

const GRACE = 10_000;
const CONFIG: AsgConfig = {
  name: "web",
  min: 1,
  max: 2,
  healthCheckType: "ELB",
  healthCheckGracePeriodMs: GRACE,
  launchHook: { name: "boot", heartbeatTimeoutMs: 60_000, defaultResult: "ABANDON" },
};
const I1 = instanceIdFor(1);
const I2 = instanceIdFor(2);

function run(events: [AsgEvent, number][]): AsgState {
  let state = createGroup(CONFIG, 0, 1).state;
  for (const [event, now] of events) state = step(state, event, now).state;
  return state;
}

const stateOf = (s: AsgState, id: string) => s.instances.find((i) => i.id === id)?.state;
const unhealthy = (id: string): AsgEvent => ({ type: "target-health", instanceId: id, state: "unhealthy" });

describe("the grace period runs from each instance's own InService time", () => {
  // launched at 0, but InService only at 4000 (its boot took 4 s): the grace ends at 14 000
  const inService: [AsgEvent, number][] = [
    [{ type: "instance-launched", instanceId: I1 }, 0],
    [{ type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }, 4_000],
  ];

  it("an unhealthy report 1 ms before the end is tolerated; it is replaced when the grace ends", () => {
    const s = run([...inService, [unhealthy(I1), 4_000 + GRACE - 1]]);
    expect(stateOf(s, I1)).toBe("InService");
    expect(
      stateOf(run([...inService, [unhealthy(I1), 4_000 + GRACE - 1], [{ type: "tick" }, 4_000 + GRACE]]), I1),
    ).toBe("Terminating");
  });

  it("an unhealthy report at the end of the grace period replaces it at once", () => {
    const s = run([...inService, [unhealthy(I1), 4_000 + GRACE]]);
    expect(stateOf(s, I1)).toBe("Terminating");
    expect(s.instances.map((i) => i.id)).toContain(I2);
  });

  it("at launch + grace, still before InService + grace, it is tolerated", () => {
    const s = run([...inService, [unhealthy(I1), GRACE]]);
    expect(stateOf(s, I1)).toBe("InService");
  });
});
