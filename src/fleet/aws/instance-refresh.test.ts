import { describe, expect, it } from "vitest";
import type { AsgInstance, AsgState } from "./asg-model.ts";
import {
  advanceRefresh,
  beginRollback,
  cancelRefresh,
  type InstanceRefresh,
  newRefresh,
  type RefreshCommand,
  type RefreshPreferences,
} from "./instance-refresh.ts";

const T0 = 1_000_000;
const prefs = (p: Partial<RefreshPreferences> = {}): RefreshPreferences => ({
  minHealthyPercentage: 50,
  instanceWarmupMs: 1000,
  checkpointPercentages: [],
  checkpointDelayMs: 5000,
  skipMatching: false,
  autoRollback: false,
  bakeTimeMs: 0,
  ...p,
});

/** An instance: InService with a healthy target unless said otherwise. */
const inst = (id: string, version: number, extra: Partial<AsgInstance> = {}): AsgInstance => ({
  id,
  state: "InService",
  launchedAt: T0 - 10_000,
  inServiceAt: T0 - 9000,
  health: "Healthy",
  targetState: "healthy",
  registered: true,
  stopping: false,
  version,
  ...extra,
});

const group = (instances: AsgInstance[], desired = instances.length): AsgState => ({
  config: { name: "web", min: 1, max: 6, healthCheckType: "ELB", healthCheckGracePeriodMs: 0 },
  desired,
  instances,
  nextSeq: 10,
  launchVersion: 1,
});

function started(s: AsgState, p: Partial<RefreshPreferences> = {}): InstanceRefresh {
  const r = newRefresh({
    id: "r1",
    state: s,
    preferences: prefs(p),
    desiredVersion: 2,
    previousVersion: 1,
    now: T0,
  });
  return advanceRefresh(r, s, T0).refresh;
}

const replaced = (cmds: RefreshCommand[]) =>
  cmds.filter((c) => c.type === "replace").map((c) => (c as { instanceId: string }).instanceId);

describe("the first batch keeps MinHealthyPercentage of desired (rounded up), at least one", () => {
  it.each([
    // [desired, min healthy %, instances replaced in the first batch]
    [4, 50, 2],
    [4, 90, 1], // ceil(3.6) = 4 healthy needed: one at a time, as AWS's 100% does
    [4, 100, 1],
    [4, 0, 4],
    [2, 50, 1],
    [5, 60, 2], // ceil(3) = 3 stay
  ])("desired %i, MinHealthyPercentage %i: %i", (desired, min, n) => {
    const s = group(
      Array.from({ length: desired }, (_, k) => inst(`i-${k}`, 1, { launchedAt: T0 - 10_000 + k })),
    );
    const r0 = newRefresh({
      id: "r",
      state: s,
      preferences: prefs({ minHealthyPercentage: min }),
      desiredVersion: 2,
      previousVersion: 1,
      now: T0,
    });
    const step = advanceRefresh(r0, s, T0);
    expect(step.refresh.status).toBe("InProgress");
    expect(step.commands[0]).toEqual({ type: "launch-version", version: 2, fallback: 1 });
    // oldest first
    expect(replaced(step.commands)).toEqual(Array.from({ length: n }, (_, k) => `i-${k}`));
  });
});

describe("a refresh's progress", () => {
  it("waits while a replacement boots or warms up, then takes the next batch", () => {
    const s = group([inst("a", 1), inst("b", 1)]);
    const r = started(s);
    // a was replaced: b serves, n (version 2) is booting
    const booting = group(
      [
        inst("a", 1, { state: "Terminating" }),
        inst("b", 1),
        inst("n", 2, {
          state: "Pending:Wait",
          launchedAt: T0 + 10,
          inServiceAt: undefined,
          targetState: undefined,
        }),
      ],
      2,
    );
    expect(replaced(advanceRefresh(r, booting, T0 + 100).commands)).toEqual([]);
    const warming = group(
      [
        inst("a", 1, { state: "Terminated" }),
        inst("b", 1),
        inst("n", 2, { launchedAt: T0 + 10, inServiceAt: T0 + 500 }),
      ],
      2,
    );
    const w = advanceRefresh(r, warming, T0 + 1000);
    expect(replaced(w.commands)).toEqual([]);
    expect(w.refresh.percentageComplete).toBe(0);
    const warm = advanceRefresh(r, warming, T0 + 1500);
    expect(warm.refresh.percentageComplete).toBe(50);
    expect(replaced(warm.commands)).toEqual(["b"]);
  });

  it("pauses at a checkpoint for CheckpointDelay, never overshooting it", () => {
    const s = group([inst("a", 1), inst("b", 1), inst("c", 1), inst("d", 1)]);
    const r = started(s, { minHealthyPercentage: 0, checkpointPercentages: [50, 100] });
    expect(
      replaced(
        advanceRefresh(
          newRefresh({
            id: "x",
            state: s,
            preferences: prefs({ minHealthyPercentage: 0, checkpointPercentages: [50, 100] }),
            desiredVersion: 2,
            previousVersion: 1,
            now: T0,
          }),
          s,
          T0,
        ).commands,
      ),
    ).toHaveLength(2);
    const half = group([
      inst("c", 1),
      inst("d", 1),
      inst("n1", 2, { launchedAt: T0 + 1, inServiceAt: T0 + 100 }),
      inst("n2", 2, { launchedAt: T0 + 1, inServiceAt: T0 + 100 }),
    ]);
    const cp = advanceRefresh(r, half, T0 + 2000);
    expect(cp.refresh.statusReason).toMatch(/^Checkpoint 1 of 2 reached at 50%/);
    expect(replaced(cp.commands)).toEqual([]);
    expect(replaced(advanceRefresh(cp.refresh, half, T0 + 6000).commands)).toEqual([]);
    expect(replaced(advanceRefresh(cp.refresh, half, T0 + 7000).commands)).toEqual(["c", "d"]);
  });

  it("SkipMatching leaves instances on the desired version alone; none left: Successful", () => {
    const s = group([inst("a", 2), inst("b", 1)]);
    const r = started(s, { skipMatching: true });
    expect(r.toReplace).toEqual(["b"]);
    const done = group([inst("a", 2), inst("n", 2, { launchedAt: T0 + 1, inServiceAt: T0 + 10 })]);
    const end = advanceRefresh(r, done, T0 + 2000);
    expect(end.refresh).toMatchObject({
      status: "Successful",
      percentageComplete: 100,
      instancesToUpdate: 0,
    });
    expect(end.commands).toContainEqual({ type: "group-version", version: 2 });
  });

  it("BakeTime: Baking after the last replacement, then Successful", () => {
    const r = started(group([inst("a", 1)]), { bakeTimeMs: 3000 });
    const done = group([inst("n", 2, { launchedAt: T0 + 1, inServiceAt: T0 + 10 })]);
    const bake = advanceRefresh(r, done, T0 + 2000);
    expect(bake.refresh.status).toBe("Baking");
    expect(advanceRefresh(bake.refresh, done, T0 + 4000).refresh.status).toBe("Baking");
    expect(advanceRefresh(bake.refresh, done, T0 + 5000).refresh.status).toBe("Successful");
  });
});

describe("a failing replacement", () => {
  const failed = (extra: Partial<AsgInstance>) =>
    group(
      [
        inst("a", 1, { state: "Terminated" }),
        inst("b", 1),
        inst("n", 2, { launchedAt: T0 + 1, inServiceAt: undefined, ...extra }),
      ],
      2,
    );

  it.each([
    [
      "its boot ABANDONed",
      { state: "Terminating" as const, cause: "launch ABANDON" },
      /instance n failed to launch: launch ABANDON/,
    ],
    [
      "it turned Unhealthy",
      {
        inServiceAt: T0 + 5,
        health: "Unhealthy" as const,
        state: "Terminating" as const,
        cause: "ELB health check",
      },
      /instance n is unhealthy/,
    ],
  ])(
    "fails the refresh when %s (no AutoRollback), new launches back on the previous version",
    (_, extra, reason) => {
      const r = started(group([inst("a", 1), inst("b", 1)]));
      const step = advanceRefresh(r, failed(extra), T0 + 100);
      expect(step.refresh.status).toBe("Failed");
      expect(step.refresh.statusReason).toMatch(reason);
      expect(step.commands).toContainEqual({ type: "launch-version", version: 1 });
    },
  );

  it("with AutoRollback rolls back: not-healthy instances off the previous version go first, at once", () => {
    const r = started(group([inst("a", 1), inst("b", 1)]), { autoRollback: true });
    // the group already relaunched the bad one's replacement from version 2
    const s = group(
      [
        inst("a", 1, { state: "Terminated" }),
        inst("b", 1),
        inst("n", 2, { launchedAt: T0 + 1, state: "Terminating", inServiceAt: undefined }),
        inst("m", 2, {
          launchedAt: T0 + 2,
          state: "Pending:Wait",
          inServiceAt: undefined,
          targetState: undefined,
        }),
      ],
      2,
    );
    const rb = advanceRefresh(r, s, T0 + 100);
    expect(rb.refresh.status).toBe("RollbackInProgress");
    expect(rb.refresh.rollback?.reason).toMatch(
      /^Automatic rollback: the instance refresh failed: instance n failed to launch/,
    );
    expect(rb.commands).toContainEqual({ type: "launch-version", version: 1 });
    expect(rb.refresh.toReplace).toEqual(["m"]);
    // the next look replaces m (it adds no capacity): b, the healthy one, stays
    expect(replaced(advanceRefresh(rb.refresh, s, T0 + 100).commands)).toEqual(["m"]);
    const back = group([inst("b", 1), inst("o", 1, { launchedAt: T0 + 200, inServiceAt: T0 + 300 })], 2);
    expect(advanceRefresh(rb.refresh, back, T0 + 1400).refresh.status).toBe("RollbackSuccessful");
  });

  it("a failure during the rollback ends RollbackFailed", () => {
    const s = group([inst("a", 2, { launchedAt: T0 + 1 })], 1);
    const rb = beginRollback(started(group([inst("z", 1)])), s, "Manual rollback", T0 + 10).refresh;
    const bad = group(
      [
        inst("a", 2, { state: "Terminated" }),
        inst("o", 1, { launchedAt: T0 + 20, state: "Terminating", inServiceAt: undefined }),
      ],
      1,
    );
    expect(advanceRefresh(rb, bad, T0 + 30).refresh.status).toBe("RollbackFailed");
  });
});

describe("cancel", () => {
  it("Cancelling until the replacement under way is done, then Cancelled; nothing new replaced", () => {
    const r = started(group([inst("a", 1), inst("b", 1)]));
    const c = cancelRefresh(r);
    expect(c.commands).toEqual([{ type: "launch-version", version: 1 }]);
    const busy = group(
      [inst("b", 1), inst("n", 2, { launchedAt: T0 + 1, state: "Pending:Wait", inServiceAt: undefined })],
      2,
    );
    expect(advanceRefresh(c.refresh, busy, T0 + 10).refresh.status).toBe("Cancelling");
    const quiet = group([inst("b", 1), inst("n", 2, { launchedAt: T0 + 1, inServiceAt: T0 + 20 })], 2);
    const end = advanceRefresh(c.refresh, quiet, T0 + 2000);
    expect(end.refresh.status).toBe("Cancelled");
    expect(replaced(end.commands)).toEqual([]);
  });
});
