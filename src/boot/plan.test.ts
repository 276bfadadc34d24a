import { describe, expect, it } from "vitest";
import {
  attemptStages,
  backoffMs,
  decideRetry,
  failureActions,
  fetchRef,
  finishStages,
  isWarming,
  type RetryPolicy,
} from "./plan.ts";

const policy: RetryPolicy = {
  attempts: 4,
  backoffBaseMs: 100,
  backoffCapMs: 350,
  jitter: 0.5,
  deadlineMs: 10_000,
};

describe("stage order", () => {
  it("one attempt: identify, fetch, verify only when configured, deps, role, converge, checks", () => {
    expect(attemptStages({ metadata: true, verify: false })).toEqual([
      "identify",
      "fetch",
      "deps",
      "role",
      "converge",
      "checks",
    ]);
    expect(attemptStages({ metadata: true, verify: true })).toEqual([
      "identify",
      "fetch",
      "verify",
      "deps",
      "role",
      "converge",
      "checks",
    ]);
    expect(attemptStages({ metadata: false, verify: false })[0]).toBe("fetch");
  });

  it("a boot opens the gate before it completes the lifecycle action", () => {
    const boot = { mode: "boot", warming: false, gateWasOpen: false, metadata: false } as const;
    expect(finishStages({ ...boot, lifecycle: true })).toEqual(["open-gate", "lifecycle"]);
    expect(finishStages({ ...boot, lifecycle: false })).toEqual(["open-gate"]);
  });

  it("a boot with the metadata service asks whether the instance is leaving just before the gate opens", () => {
    const boot = { mode: "boot", warming: false, gateWasOpen: false, metadata: true } as const;
    expect(finishStages({ ...boot, lifecycle: true })).toEqual(["departure-check", "open-gate", "lifecycle"]);
    expect(finishStages({ ...boot, lifecycle: false })).toEqual(["departure-check", "open-gate"]);
    // a periodic run never asks: the departure is `muster watch`'s
    expect(finishStages({ ...boot, mode: "periodic", lifecycle: true, gateWasOpen: true })).toEqual([
      "open-gate",
    ]);
  });

  it("an instance being warmed neither opens its gate nor completes the hook", () => {
    expect(isWarming("Warmed:Stopped")).toBe(true);
    expect(isWarming("Warmed:Running")).toBe(true);
    expect(isWarming("InService")).toBe(false);
    expect(isWarming(undefined)).toBe(false);
    expect(
      finishStages({ mode: "boot", warming: true, lifecycle: true, gateWasOpen: false, metadata: true }),
    ).toEqual([]);
  });

  it("a periodic run refreshes an open gate and never opens a closed one", () => {
    expect(
      finishStages({ mode: "periodic", warming: false, lifecycle: true, gateWasOpen: true, metadata: true }),
    ).toEqual(["open-gate"]);
    expect(
      finishStages({ mode: "periodic", warming: false, lifecycle: true, gateWasOpen: false, metadata: true }),
    ).toEqual([]);
  });
});

describe("failure", () => {
  it("a boot closes the gate and abandons unless told not to; a periodic run keeps serving by default", () => {
    const base = { lifecycle: true, closeGateOnPeriodicFailure: false };
    expect(failureActions({ ...base, mode: "boot", onFailure: "abandon" })).toEqual({
      closeGate: true,
      abandon: true,
    });
    expect(failureActions({ ...base, mode: "boot", onFailure: "none" })).toEqual({
      closeGate: true,
      abandon: false,
    });
    expect(failureActions({ ...base, mode: "boot", lifecycle: false, onFailure: "abandon" })).toEqual({
      closeGate: true,
      abandon: false,
    });
    expect(failureActions({ ...base, mode: "periodic", onFailure: "abandon" })).toEqual({
      closeGate: false,
      abandon: false,
    });
    expect(
      failureActions({ ...base, mode: "periodic", onFailure: "abandon", closeGateOnPeriodicFailure: true }),
    ).toEqual({ closeGate: true, abandon: false });
  });
});

describe("retries", () => {
  it("backs off exponentially from the base up to the cap, shortened by jitter", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(policy, a, 0))).toEqual([100, 200, 350, 350]);
    expect(backoffMs(policy, 1, 1)).toBe(50);
    expect(backoffMs(policy, 3, 0.5)).toBe(263);
    expect(backoffMs({ ...policy, jitter: 0 }, 2, 0.9)).toBe(200);
  });

  it("tries again until the attempts are used up", () => {
    const d = (attempt: number) =>
      decideRetry({ policy, attempt, elapsedMs: 0, permanent: false, random: 0 });
    expect(d(1)).toEqual({ retry: true, delayMs: 100 });
    expect(d(3)).toEqual({ retry: true, delayMs: 350 });
    expect(d(4)).toEqual({ retry: false, reason: "gave up after 4 attempts" });
  });

  it("never waits past the deadline", () => {
    const r = decideRetry({ policy, attempt: 1, elapsedMs: 9_950, permanent: false, random: 0 });
    expect(r.retry).toBe(false);
    expect(r.retry === false && r.reason).toMatch(/deadline of 10 s/);
  });

  it("does not retry what retrying cannot fix", () => {
    expect(decideRetry({ policy, attempt: 1, elapsedMs: 0, permanent: true, random: 0 })).toEqual({
      retry: false,
      reason: "trying again cannot help",
    });
  });
});

describe("fetchRef: a periodic run re-converges the pinned commit unless it follows the branch", () => {
  const C = "a".repeat(40);
  it.each([
    ["boot", false, C, "master"],
    ["periodic", false, C, C],
    ["periodic", true, C, "master"],
    ["periodic", false, undefined, "master"],
    ["periodic", false, "not-a-commit", "master"],
  ] as const)("%s, follow %s, gate opened on %s: %s", (mode, follow, openedOn, want) => {
    expect(fetchRef(mode, { ref: "master", follow }, openedOn)).toBe(want);
  });
});
