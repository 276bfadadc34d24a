import { describe, expect, it } from "vitest";
import { barPlacement, bootBars, timelineLayout } from "./timeline.ts";

const stages = (...s: [string, number, boolean?][]) =>
  s.map(([stage, durationMs, ok]) => ({ stage, attempt: 1, ok: ok ?? true, durationMs }));

describe("boot timeline", () => {
  it("lays a boot's stages end to end after node's start, naming open-gate 'gate'", () => {
    const bars = bootBars({
      startedAt: 1000,
      pipelineStartedAt: 1300,
      stages: stages(["identify", 50], ["fetch", 200], ["open-gate", 10]),
    });
    expect(bars.map((b) => [b.label, b.startMs, b.durationMs])).toEqual([
      ["start", 0, 300],
      ["identify", 300, 50],
      ["fetch", 350, 200],
      ["gate", 550, 10],
    ]);
  });

  it("shares one axis as long as the longest boot, and names a failed boot's stage and cause", () => {
    const layout = timelineLayout([
      { id: "a", boot: { stages: stages(["identify", 500], ["fetch", 2500]), outcome: "open" } },
      {
        id: "b",
        boot: {
          stages: stages(["identify", 400], ["fetch", 100, false]),
          outcome: "failed",
          failedStage: "fetch",
          error: "git down",
        },
      },
      { id: "c", boot: { running: false } },
    ]);
    expect(layout.axisMs).toBe(3000);
    expect(layout.rows.map((r) => r.instanceId)).toEqual(["a", "b"]);
    expect(layout.rows[1]!.failed).toEqual({ stage: "fetch", error: "git down" });
    expect(layout.rows[1]!.bars[1]!.ok).toBe(false);
    expect(barPlacement(layout.rows[0]!.bars[1]!, layout.axisMs)).toEqual({
      leftPct: (500 / 3000) * 100,
      widthPct: (2500 / 3000) * 100,
    });
  });

  it("keeps a booting instance with no stage yet, and gives a 0 ms stage a visible sliver", () => {
    const layout = timelineLayout([{ id: "x", boot: { running: true, stages: stages(["lock", 0]) } }]);
    expect(layout.axisMs).toBe(1000);
    expect(layout.rows[0]!.running).toBe(true);
    expect(barPlacement(layout.rows[0]!.bars[0]!, layout.axisMs).widthPct).toBeGreaterThan(0);
  });
});
