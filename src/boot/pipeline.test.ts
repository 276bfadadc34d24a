/** The pipeline's flow with fake stages: order, retries, the gate, ABANDON once, warm pools. */
import { describe, expect, it } from "vitest";
import { InputError, RunError } from "../core/errors.ts";
import type { RunReport } from "../runner/report.ts";
import { exitCode, type PipelineOptions, runPipeline, type StageFn } from "./pipeline.ts";
import type { AttemptStage } from "./plan.ts";
import { type BootRecord, lifecycleOutcome } from "./state.ts";

interface Harness {
  events: string[];
  gateOpen: boolean;
  completions: string[];
  saved: BootRecord[];
  sleeps: number[];
  heartbeatsRunning: boolean;
  options: PipelineOptions;
}

/** A pipeline whose stages succeed unless `fail[stage]` says how many times they fail first. */
function harness(
  opts: {
    fail?: Partial<Record<AttemptStage, number | Error>>;
    mode?: "boot" | "periodic";
    lifecycle?: boolean;
    lifecycleFails?: boolean;
    /** Auto Scaling answers that no action waits (its heartbeat timeout passed) */
    noLifecycleAction?: boolean;
    targetLifecycleState?: string;
    gateInitiallyOpen?: boolean;
    lockBusy?: boolean;
    openGateFails?: boolean;
    attempts?: number;
    /** what the departure-check finds: why the instance is leaving */
    leaving?: string;
    /** the departure-check's read fails this many times first */
    departureReadFails?: number;
  } = {},
): Harness {
  let clock = 1_000_000;
  const h: Harness = {
    events: [],
    gateOpen: opts.gateInitiallyOpen ?? false,
    completions: [],
    saved: [],
    sleeps: [],
    heartbeatsRunning: false,
    options: undefined as unknown as PipelineOptions,
  };
  const failures = new Map<string, number>();
  const stage =
    (name: AttemptStage, effect?: StageFn): StageFn =>
    async (ctx) => {
      clock += 10;
      h.events.push(name);
      const f = opts.fail?.[name];
      if (f instanceof Error) throw f;
      if (typeof f === "number") {
        const n = failures.get(name) ?? 0;
        failures.set(name, n + 1);
        if (n < f) throw new RunError(`${name} broke (${n + 1})`);
      }
      await effect?.(ctx);
    };
  h.options = {
    mode: opts.mode ?? "boot",
    runId: "run-1",
    bootId: "boot-1",
    pid: 4242,
    plan: { metadata: true, verify: true },
    policy: {
      attempts: opts.attempts ?? 3,
      backoffBaseMs: 100,
      backoffCapMs: 1000,
      jitter: 0,
      deadlineMs: 60_000,
    },
    onFailure: "abandon",
    closeGateOnPeriodicFailure: false,
    stages: {
      identify: stage("identify", async ({ facts }) => {
        facts.identity = {
          instanceId: "i-1",
          securityGroups: ["web"],
          availabilityZone: "us-east-1a",
          targetLifecycleState: opts.targetLifecycleState,
        };
      }),
      fetch: stage("fetch", async ({ facts }) => {
        facts.checkout = { dir: "/x", commit: "c0ffee" };
      }),
      verify: stage("verify"),
      deps: stage("deps"),
      role: stage("role", async ({ facts }) => {
        facts.role = "web";
      }),
      converge: stage("converge", async ({ facts }) => {
        facts.report = { appRevision: "a99" } as RunReport;
      }),
      checks: stage("checks"),
    },
    gate: {
      close: () => {
        h.events.push("gate:close");
        h.gateOpen = false;
      },
      open: () => {
        if (opts.openGateFails) throw new Error("disk full");
        h.events.push("gate:open");
        h.gateOpen = true;
      },
      isOpen: () => h.gateOpen,
    },
    lock: async () => {
      h.events.push("lock");
      if (opts.lockBusy) return "busy";
      return { release: () => h.events.push("unlock") };
    },
    lifecycle:
      opts.lifecycle === false
        ? undefined
        : {
            complete: async (result) => {
              h.events.push(`lifecycle:${result}`);
              if (opts.lifecycleFails) throw new RunError("Auto Scaling refused");
              h.completions.push(result);
              return opts.noLifecycleAction ? "none" : "completed";
            },
            startHeartbeats: () => {
              h.events.push("heartbeats:start");
              h.heartbeatsRunning = true;
              return async () => {
                h.events.push("heartbeats:stop");
                h.heartbeatsRunning = false;
              };
            },
          },
    departing: async () => {
      h.events.push("departure-check");
      if ((failures.get("departure-check") ?? 0) < (opts.departureReadFails ?? 0)) {
        failures.set("departure-check", (failures.get("departure-check") ?? 0) + 1);
        throw new RunError(
          "metadata service at http://x failed GET /latest/meta-data/spot/instance-action: 500",
        );
      }
      return opts.leaving;
    },
    save: (r) => h.saved.push(structuredClone(r)),
    log: () => {},
    say: () => {},
    now: () => clock,
    sleep: async (ms) => {
      h.sleeps.push(ms);
      clock += ms;
    },
    random: () => 0,
    isPermanent: (err) => err instanceof InputError,
  };
  return h;
}

describe("the boot pipeline", () => {
  it("runs every stage in order, opens the gate last, then completes the hook with CONTINUE", async () => {
    const h = harness();
    const r = await runPipeline(h.options);
    expect(h.events).toEqual([
      "gate:close",
      "lock",
      "identify",
      "heartbeats:start",
      "fetch",
      "verify",
      "deps",
      "role",
      "converge",
      "checks",
      "departure-check",
      "gate:open",
      "heartbeats:stop",
      "lifecycle:CONTINUE",
      "unlock",
    ]);
    expect(r).toMatchObject({
      outcome: "open",
      role: "web",
      configRevision: "c0ffee",
      appRevision: "a99",
      instanceId: "i-1",
      attempts: 1,
      lifecycle: { result: "CONTINUE", ok: true },
    });
    expect(exitCode(r)).toBe(0);
    expect(h.completions).toEqual(["CONTINUE"]);
    // the record is kept from the start ("running") to the end
    expect(h.saved[0]!.outcome).toBe("running");
    expect(h.saved.at(-1)!.outcome).toBe("open");
  });

  it("records the process's CPU time before the run and at its end, when it is given a clock for it", async () => {
    const h = harness();
    let cpu = 40;
    const r = await runPipeline({ ...h.options, cpuMs: () => (cpu += 15) });
    expect(r.cpu).toEqual({ beforeRunMs: 55, totalMs: 70 });
    expect(h.saved.at(-1)!.cpu).toEqual({ beforeRunMs: 55, totalMs: 70 });
    expect((await runPipeline(harness().options)).cpu).toBeUndefined();
  });

  it("retries the whole attempt after a failure, with backoff, and succeeds", async () => {
    const h = harness({ fail: { fetch: 2 } });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("open");
    expect(r.attempts).toBe(3);
    expect(h.sleeps).toEqual([100, 200]);
    expect(h.events.filter((e) => e === "identify")).toHaveLength(3); // the whole attempt again
    expect(h.events.filter((e) => e === "heartbeats:start")).toHaveLength(1);
    expect(h.completions).toEqual(["CONTINUE"]);
    expect(r.stages.filter((s) => !s.ok).map((s) => [s.stage, s.attempt])).toEqual([
      ["fetch", 1],
      ["fetch", 2],
    ]);
  });

  it.each(["identify", "fetch", "verify", "deps", "role", "converge", "checks"] as const)(
    "when %s keeps failing: gate closed, ABANDON once after the retries, exit 1",
    async (stage) => {
      const h = harness({ fail: { [stage]: 99 } });
      const r = await runPipeline(h.options);
      expect(r.outcome).toBe("failed");
      expect(r.failedStage).toBe(stage);
      expect(r.error).toBe(`${stage} broke (3)`);
      expect(r.gaveUp).toBe("gave up after 3 attempts");
      expect(r.attempts).toBe(3);
      expect(h.gateOpen).toBe(false);
      expect(h.events).not.toContain("gate:open");
      expect(h.completions).toEqual(["ABANDON"]);
      expect(h.heartbeatsRunning).toBe(false);
      expect(h.events.at(-1)).toBe("unlock");
      expect(exitCode(r)).toBe(1);
    },
  );

  it("does not retry an error that retrying cannot fix", async () => {
    const h = harness({ fail: { deps: new InputError("no package-lock.json") } });
    const r = await runPipeline(h.options);
    expect(r).toMatchObject({ outcome: "failed", failedStage: "deps", attempts: 1 });
    expect(r.gaveUp).toBe("trying again cannot help");
    expect(h.sleeps).toEqual([]);
    expect(h.completions).toEqual(["ABANDON"]);
  });

  it("without a lifecycle hook a failure just leaves the gate closed", async () => {
    const h = harness({ fail: { checks: 99 }, lifecycle: false, attempts: 1 });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("failed");
    expect(r.lifecycle).toBeUndefined();
    expect(h.gateOpen).toBe(false);
  });

  it("a boot that gives up writes its failure record before the ABANDON, with stage and cause", async () => {
    const h = harness({ fail: { fetch: 99 } });
    const seen: { stage?: string; error?: string; attempts: number; instanceId?: string }[] = [];
    h.options.reportFailure = async (r, facts) => {
      h.events.push("failure-record");
      seen.push({
        stage: r.failedStage,
        error: r.error,
        attempts: r.attempts,
        instanceId: facts.identity?.instanceId,
      });
    };
    await runPipeline(h.options);
    expect(seen).toEqual([{ stage: "fetch", error: "fetch broke (3)", attempts: 3, instanceId: "i-1" }]);
    expect(h.events.indexOf("failure-record")).toBeLessThan(h.events.indexOf("lifecycle:ABANDON"));
  });

  it("a failure record that cannot be written changes nothing: the ABANDON still goes out", async () => {
    const h = harness({ fail: { deps: 99 } });
    const logged: string[] = [];
    h.options.log = (event) => logged.push(event);
    h.options.reportFailure = async () => {
      throw new RunError("CloudWatch Logs unreachable");
    };
    const r = await runPipeline(h.options);
    expect(h.completions).toEqual(["ABANDON"]);
    expect(r.lifecycle).toMatchObject({ result: "ABANDON", ok: true });
    expect(logged).toContain("failure-record.error");
  });

  it("a periodic run that fails writes no failure record (the instance is in service)", async () => {
    const h = harness({ fail: { converge: 99 }, mode: "periodic", attempts: 1 });
    let called = false;
    h.options.reportFailure = async () => {
      called = true;
    };
    await runPipeline(h.options);
    expect(called).toBe(false);
  });

  it("onFailure none: no ABANDON", async () => {
    const h = harness({ fail: { role: 99 }, attempts: 1 });
    h.options.onFailure = "none";
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("failed");
    expect(h.completions).toEqual([]);
  });

  it("a gate that cannot be written is a failure: closed, ABANDON, exit 1", async () => {
    const h = harness({ openGateFails: true });
    const r = await runPipeline(h.options);
    expect(r).toMatchObject({ outcome: "failed", failedStage: "open-gate", error: "disk full" });
    expect(h.gateOpen).toBe(false);
    expect(h.completions).toEqual(["ABANDON"]);
  });

  it("a failed CONTINUE keeps the open gate but exits 1", async () => {
    const h = harness({ lifecycleFails: true });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("open");
    expect(r.lifecycle).toMatchObject({ result: "CONTINUE", ok: false });
    expect(h.gateOpen).toBe(true);
    expect(exitCode(r)).toBe(1);
  });

  it("a CONTINUE nothing waited for (the heartbeat timeout passed) is recorded and said so", async () => {
    const h = harness({ noLifecycleAction: true });
    const r = await runPipeline(h.options);
    expect(r.lifecycle).toEqual({ result: "CONTINUE", ok: true, noAction: true });
    expect(lifecycleOutcome(r.lifecycle!)).toBe(
      "CONTINUE not taken: no action was waiting (its heartbeat timeout passed, or no hook launched it)",
    );
    expect(lifecycleOutcome({ result: "CONTINUE", ok: true })).toBe("CONTINUE sent");
  });

  it("told to leave while it booted: converged, gate kept closed, ABANDON so the group replaces it now", async () => {
    const h = harness({ leaving: "the target lifecycle state is Terminated" });
    const r = await runPipeline(h.options);
    expect(h.events.slice(-5)).toEqual([
      "checks",
      "departure-check",
      "heartbeats:stop",
      "lifecycle:ABANDON",
      "unlock",
    ]);
    expect(h.events).not.toContain("gate:open");
    expect(h.gateOpen).toBe(false);
    expect(h.completions).toEqual(["ABANDON"]);
    expect(r).toMatchObject({
      outcome: "leaving",
      departure: "the target lifecycle state is Terminated",
      lifecycle: { result: "ABANDON", ok: true },
    });
    expect(r.failedStage).toBeUndefined();
    expect(h.saved.at(-1)!.outcome).toBe("leaving");
    // not a failure of the boot: `muster watch` takes the departure on from here
    expect(exitCode(r)).toBe(0);
  });

  it("a departure-check whose read fails is tried again with backoff; the converge is not run again", async () => {
    const h = harness({ departureReadFails: 2 });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("open");
    expect(h.events.filter((e) => e === "departure-check")).toHaveLength(3);
    expect(h.events.filter((e) => e === "converge")).toHaveLength(1);
    expect(h.sleeps).toEqual([100, 200]);
    expect(r.stages.filter((s) => s.stage === "departure-check").map((s) => [s.attempt, s.ok])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(h.completions).toEqual(["CONTINUE"]);
  });

  it("a departure-check that still cannot read the metadata service when the retries give up fails closed", async () => {
    const h = harness({ departureReadFails: 99 });
    const r = await runPipeline(h.options);
    expect(r).toMatchObject({
      outcome: "failed",
      failedStage: "departure-check",
      gaveUp: "gave up after 3 attempts",
    });
    expect(h.events).not.toContain("gate:open");
    expect(h.gateOpen).toBe(false);
    expect(h.completions).toEqual(["ABANDON"]);
    expect(exitCode(r)).toBe(1);
  });

  it("no departure-check without the metadata service (a host outside EC2), nor in a periodic run", async () => {
    const off = harness();
    await runPipeline({ ...off.options, plan: { metadata: false, verify: false } });
    expect(off.events).not.toContain("departure-check");
    expect(off.events).toContain("gate:open");
    const periodic = harness({ mode: "periodic", gateInitiallyOpen: true, leaving: "x" });
    expect((await runPipeline(periodic.options)).outcome).toBe("converged");
    expect(periodic.events).not.toContain("departure-check");
  });

  it("warm pools: an instance being warmed converges but keeps its gate closed and the hook open", async () => {
    const h = harness({ targetLifecycleState: "Warmed:Stopped" });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("warmed");
    expect(h.events).toContain("converge");
    expect(h.gateOpen).toBe(false);
    expect(h.completions).toEqual([]);
    expect(exitCode(r)).toBe(0);
  });

  it("periodic: leaves the gate alone, refreshes it when open, never completes a hook", async () => {
    const h = harness({ mode: "periodic", gateInitiallyOpen: true });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("converged");
    expect(h.events).not.toContain("gate:close");
    expect(h.events).toContain("gate:open");
    expect(h.events).not.toContain("heartbeats:start");
    expect(h.completions).toEqual([]);
  });

  it("periodic: a closed gate stays closed even when the run succeeds", async () => {
    const h = harness({ mode: "periodic", gateInitiallyOpen: false });
    await runPipeline(h.options);
    expect(h.gateOpen).toBe(false);
  });

  it("periodic: a failure keeps serving unless configured to close the gate", async () => {
    const keep = harness({ mode: "periodic", gateInitiallyOpen: true, fail: { converge: 99 }, attempts: 1 });
    expect((await runPipeline(keep.options)).outcome).toBe("failed");
    expect(keep.gateOpen).toBe(true);
    expect(keep.completions).toEqual([]);
    const close = harness({ mode: "periodic", gateInitiallyOpen: true, fail: { converge: 99 }, attempts: 1 });
    close.options.closeGateOnPeriodicFailure = true;
    await runPipeline(close.options);
    expect(close.gateOpen).toBe(false);
  });

  it("periodic: skips when another run holds the lock", async () => {
    const h = harness({ mode: "periodic", lockBusy: true });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("skipped");
    expect(h.events).toEqual(["lock"]);
    expect(exitCode(r)).toBe(0);
    // the record of the run that holds the lock (a boot in progress) stays: `status` reads it
    expect(h.saved).toEqual([]);
  });

  it("periodic: a run that holds the lock records itself from the lock on", async () => {
    const h = harness({ mode: "periodic" });
    const r = await runPipeline(h.options);
    expect(r.outcome).toBe("converged");
    expect(h.saved[0]!.stages.map((st) => st.stage)).toEqual(["lock"]);
    expect(h.saved.at(-1)!.outcome).toBe("converged");
  });

  it("a failed ABANDON is recorded, and the exit code stays 1", async () => {
    const h = harness({ fail: { fetch: 99 }, lifecycleFails: true, attempts: 1 });
    const r = await runPipeline(h.options);
    expect(r.failedStage).toBe("fetch");
    expect(r.lifecycle).toMatchObject({ result: "ABANDON", ok: false, error: "Auto Scaling refused" });
    expect(exitCode(r)).toBe(1);
  });

  it("hides credentials in URLs in errors", async () => {
    const h = harness({
      fail: { fetch: new RunError("https://user:s3cret@git.example.test/x.git: 403") },
      attempts: 1,
    });
    const r = await runPipeline(h.options);
    expect(r.error).toBe("https://***@git.example.test/x.git: 403");
    expect(JSON.stringify(h.saved)).not.toContain("s3cret");
  });
});
