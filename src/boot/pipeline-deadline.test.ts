/**
 * The run's deadline with a clock the test moves: a stage that keeps failing is tried again only
 * while the deadline allows, and each stage is told the time really left.
 */
import { describe, expect, it } from "vitest";
import { RunError } from "../core/errors.ts";
import { type PipelineOptions, runPipeline, type StageFn } from "./pipeline.ts";
import type { AttemptStage } from "./plan.ts";

const STAGE_MS = 1_000;
const DEADLINE_MS = 20_000;

/** Every stage takes STAGE_MS of the fake clock; converge always fails; sleeps move the clock. */
function failingRun() {
  let clock = 5_000_000;
  const seen = {
    remaining: [] as number[],
    sleeps: [] as number[],
    gate: [] as string[],
    results: [] as string[],
  };
  const stage: StageFn = async () => {
    clock += STAGE_MS;
  };
  const stages = Object.fromEntries(
    (["identify", "fetch", "verify", "deps", "role", "checks"] as AttemptStage[]).map((s) => [s, stage]),
  ) as Record<AttemptStage, StageFn>;
  stages.converge = async (ctx) => {
    seen.remaining.push(ctx.remainingMs());
    clock += STAGE_MS;
    throw new RunError("the app's package mirror is down");
  };
  const options: PipelineOptions = {
    mode: "boot",
    runId: "run-d",
    bootId: "boot-d",
    pid: 1,
    plan: { metadata: true, verify: true },
    // many attempts allowed: only the deadline can stop this run in time
    policy: { attempts: 1_000, backoffBaseMs: 500, backoffCapMs: 2_000, jitter: 0, deadlineMs: DEADLINE_MS },
    onFailure: "abandon",
    closeGateOnPeriodicFailure: false,
    stages,
    gate: {
      close: () => seen.gate.push("close"),
      open: () => seen.gate.push("open"),
      isOpen: () => false,
    },
    lock: async () => ({ release() {} }),
    lifecycle: {
      complete: async (result) => {
        seen.results.push(result);
        return "completed";
      },
      startHeartbeats: () => undefined,
    },
    save() {},
    log() {},
    say() {},
    now: () => clock,
    sleep: async (ms) => {
      seen.sleeps.push(ms);
      clock += ms;
    },
    random: () => 0,
    isPermanent: () => false,
  };
  return { options, seen, elapsed: (t0: number) => clock - t0, now: () => clock };
}

describe("the run's deadline, on a clock the test moves", () => {
  it("a stage that keeps failing stops being retried at the deadline, then ABANDON and the gate stays closed", async () => {
    const run = failingRun();
    const t0 = run.now();
    const record = await runPipeline(run.options);
    // 6 s per attempt (identify .. converge; checks never runs), pauses of 0.5 and 1 s: attempt 3
    // ends at 19.5 s, and its 2 s pause would pass the 20 s deadline
    expect(record.attempts).toBe(3);
    expect(run.seen.sleeps).toEqual([500, 1_000]);
    expect(record.gaveUp).toBe("gave up after 3 attempts: the deadline of 20 s would pass");
    expect(record.outcome).toBe("failed");
    expect(record.failedStage).toBe("converge");
    expect(run.seen.results).toEqual(["ABANDON"]);
    expect(run.seen.gate).toEqual(["close", "close"]);
    expect(run.elapsed(t0)).toBe(19_500);
    // the record's times come from the same clock: each stage took its 1 s, the run 19.5 s
    expect(record.durationMs).toBe(19_500);
    expect(record.stages.filter((st) => st.stage === "converge").map((st) => st.durationMs)).toEqual([
      STAGE_MS,
      STAGE_MS,
      STAGE_MS,
    ]);
    expect(Date.parse(record.finishedAt!) - Date.parse(record.startedAt)).toBe(19_500);
  });

  it("each attempt's stages are told the time left, less what the run has spent", async () => {
    const run = failingRun();
    await runPipeline(run.options);
    // converge starts 5 s into each attempt; an attempt takes 6 s, then its pause (0.5 s, 1 s)
    expect(run.seen.remaining).toEqual([DEADLINE_MS - 5_000, DEADLINE_MS - 11_500, DEADLINE_MS - 18_500]);
  });
});
