import { describe, expect, it } from "vitest";
import {
  awaitsGroupTermination,
  type DepartureState,
  type DepartureTrigger,
  departureTrigger,
  drainBudgetMs,
  leavingBeforeService,
  nextDepartureAction,
  parseSpotNotice,
  stepAfter,
} from "./departure-plan.ts";

const T0 = Date.parse("2027-01-01T00:00:00Z");

describe("parseSpotNotice", () => {
  it.each([
    ['{"action":"terminate","time":"2027-01-01T00:02:00Z"}', { action: "terminate", at: T0 + 120_000 }],
    ['{"action":"stop","time":"2027-01-01T00:02:00Z"}', { action: "stop", at: T0 + 120_000 }],
    ['{"action":"hibernate","time":"2027-01-01T00:02:00Z"}', { action: "hibernate", at: T0 + 120_000 }],
    ['{"action":"reboot","time":"2027-01-01T00:02:00Z"}', undefined],
    ['{"action":"terminate"}', undefined],
    ['{"action":"terminate","time":"soon"}', undefined],
    ["not json", undefined],
    ["null", undefined],
    [undefined, undefined],
  ])("%s", (text, want) => {
    expect(parseSpotNotice(text)).toEqual(want);
  });
});

describe("leavingBeforeService (the boot's departure-check)", () => {
  it.each<[string, Parameters<typeof leavingBeforeService>[0], string | undefined]>([
    ["in service", { targetState: "InService" }, undefined],
    ["not in a group (404)", {}, undefined],
    ["scaled in while it booted", { targetState: "Terminated" }, "the target lifecycle state is Terminated"],
    [
      "a spot notice",
      { targetState: "InService", spot: { action: "terminate", at: T0 + 120_000 } },
      "a spot interruption notice (terminate at 2027-01-01T00:02:00.000Z)",
    ],
    // a warm pool instance keeps its gate closed for that reason already (identify saw it)
    ["being warmed", { targetState: "Warmed:Stopped" }, undefined],
    [
      "warmed, then terminated from the pool",
      { targetState: "Warmed:Terminated" },
      "the target lifecycle state is Warmed:Terminated",
    ],
  ])("%s", (_name, obs, want) => {
    expect(leavingBeforeService(obs)).toBe(want);
  });
});

describe("departureTrigger", () => {
  const spot = { action: "terminate" as const, at: T0 };
  it.each<[string, Parameters<typeof departureTrigger>[0], Partial<DepartureTrigger> | undefined]>([
    ["in service", { targetState: "InService", served: true }, undefined],
    ["no item (no group)", { served: true }, undefined],
    ["standby", { targetState: "Standby", served: true }, undefined],
    ["detached", { targetState: "Detached", served: true }, undefined],
    [
      "terminated after serving",
      { targetState: "Terminated", served: true },
      { reason: "terminate", drain: true },
    ],
    [
      "terminated before serving",
      { targetState: "Terminated", served: false },
      { reason: "terminate", drain: false },
    ],
    [
      "service to the warm pool",
      { targetState: "Warmed:Stopped", served: true },
      { reason: "warm-pool", drain: true },
    ],
    ["warmed, staying in the pool", { targetState: "Warmed:Running", served: false }, undefined],
    [
      "pool to pool: terminated from the warm pool",
      { targetState: "Warmed:Terminated", served: false },
      { reason: "terminate", drain: false },
    ],
    [
      "spot notice while in service",
      { targetState: "InService", spot, served: true },
      { reason: "spot", drain: true, deadline: T0, hookAction: false },
    ],
    [
      "spot notice wins over Terminated",
      { targetState: "Terminated", spot, served: true },
      { reason: "spot", deadline: T0, hookAction: true },
    ],
  ])("%s", (_name, obs, want) => {
    const t = departureTrigger(obs);
    if (want === undefined) expect(t).toBeUndefined();
    else expect(t).toMatchObject(want);
  });
});

describe("nextDepartureAction", () => {
  const terminate: DepartureTrigger = {
    reason: "terminate",
    cause: "Terminated",
    drain: true,
    hookAction: true,
  };
  const base: DepartureState = {
    trigger: terminate,
    step: "started",
    connections: 3,
    now: T0,
    drainTimeoutMs: 300_000,
    hook: true,
  };
  it.each<[string, Partial<DepartureState>, ReturnType<typeof nextDepartureAction>]>([
    ["first the gate", {}, { kind: "close-gate" }],
    [
      "connections in flight: wait",
      { step: "gate-closed", drainStartedAt: T0 - 1000 },
      { kind: "wait-drain", connections: 3 },
    ],
    [
      "none left: drained",
      { step: "gate-closed", connections: 0, drainStartedAt: T0 },
      { kind: "drained", how: "idle" },
    ],
    [
      "drain.timeout passed",
      { step: "gate-closed", drainStartedAt: T0 - 300_000 },
      { kind: "drained", how: "timeout" },
    ],
    [
      "never served: no drain",
      { step: "gate-closed", trigger: { ...terminate, drain: false } },
      { kind: "drained", how: "not-needed" },
    ],
    [
      "spot: half of the notice at most",
      {
        step: "gate-closed",
        drainStartedAt: T0 - 60_000,
        trigger: { reason: "spot", cause: "spot", drain: true, deadline: T0 + 60_000, hookAction: false },
      },
      { kind: "drained", how: "timeout" },
    ],
    [
      "spot: within half of the notice, wait",
      {
        step: "gate-closed",
        drainStartedAt: T0 - 59_000,
        trigger: { reason: "spot", cause: "spot", drain: true, deadline: T0 + 61_000, hookAction: false },
      },
      { kind: "wait-drain", connections: 3 },
    ],
    ["drained: shutdown run list", { step: "drained" }, { kind: "shutdown" }],
    ["shut down: CONTINUE", { step: "shut-down" }, { kind: "complete", result: "CONTINUE" }],
    ["shut down, no hook: done", { step: "shut-down", hook: false }, { kind: "done" }],
    [
      "spot, the group not terminating: no action waits",
      { step: "shut-down", trigger: { ...terminate, reason: "spot", hookAction: false } },
      { kind: "done" },
    ],
    ["completed: done", { step: "completed" }, { kind: "done" }],
  ])("%s", (_name, patch, want) => {
    expect(nextDepartureAction({ ...base, ...patch })).toEqual(want);
  });

  it("walks every step once, in order, to done", () => {
    let s: DepartureState = { ...base, connections: 0 };
    const kinds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const a = nextDepartureAction(s);
      kinds.push(a.kind);
      if (a.kind === "done") break;
      s = { ...s, step: stepAfter(a, s.step) };
    }
    expect(kinds).toEqual(["close-gate", "drained", "shutdown", "complete", "done"]);
  });

  it("drain budget: drain.timeout, or half the spot notice left", () => {
    expect(drainBudgetMs({ trigger: terminate, drainTimeoutMs: 5000 }, T0)).toBe(5000);
    const spot: DepartureTrigger = {
      reason: "spot",
      cause: "",
      drain: true,
      deadline: T0 + 120_000,
      hookAction: false,
    };
    expect(drainBudgetMs({ trigger: spot, drainTimeoutMs: 300_000 }, T0)).toBe(60_000);
    expect(drainBudgetMs({ trigger: spot, drainTimeoutMs: 10_000 }, T0)).toBe(10_000);
    expect(drainBudgetMs({ trigger: spot, drainTimeoutMs: 10_000 }, T0 + 200_000)).toBe(0);
  });
});

describe("awaitsGroupTermination (after a spot departure)", () => {
  const spot = (targetState?: string) =>
    departureTrigger({ targetState, spot: { action: "terminate", at: 1 }, served: true })!;
  it("a spot departure that completed no hook waits for the group's termination when a hook is configured", () => {
    expect(awaitsGroupTermination(spot("InService"), true)).toBe(true);
    expect(awaitsGroupTermination(spot("InService"), false)).toBe(false);
    // the group was terminating it already: the departure completed the hook itself
    expect(awaitsGroupTermination(spot("Terminated"), true)).toBe(false);
    const terminate = departureTrigger({ targetState: "Terminated", served: true })!;
    expect(awaitsGroupTermination(terminate, true)).toBe(false);
  });
});
