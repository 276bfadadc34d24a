import { describe, expect, it } from "vitest";
import type { FleetStatus } from "./controller.ts";
import { watchLines } from "./status-table.ts";

const instance = (id: string, state: string, boot: Record<string, unknown>) => ({
  id,
  address: "127.0.0.1",
  state,
  health: "Healthy",
  launchedAt: 0,
  root: "",
  bootId: "",
  boot: { running: false, ...boot },
  gate: { state: "closed" },
  requests: 0,
});

describe("fleet status --watch", () => {
  it("adds the last minute's requests, the dashboard, a scale in progress and each failed boot", () => {
    const st = {
      group: { name: "web", min: 1, max: 4, desired: 2, counts: { InService: 1 }, launchFailures: 1 },
      loadBalancer: { url: "http://127.0.0.1:1", kind: "builtin", targets: [], state: "up", restarts: 0 },
      gitServer: { url: "" },
      dashboard: { url: "http://127.0.0.1:2/#key=k" },
      instances: [
        instance("i-1", "InService", { outcome: "open", durationMs: 1000 }),
        instance("i-2", "Terminated", { outcome: "failed", failedStage: "fetch", error: "git down" }),
      ],
    } as unknown as FleetStatus;
    const now = 120_000;
    const lines = watchLines(
      st,
      [
        { time: 100_000, status: 200 },
        { time: 110_000, status: 503 },
        { time: 10_000, status: 200 },
      ],
      { now },
    );
    expect(lines[2]).toBe(
      "requests 0.0/s over the last minute, 1 errors; dashboard http://127.0.0.1:2/#key=k",
    );
    expect(lines[3]).toBe("scaling out to 2: 1 of 2 InService, 0 on the way in (50%)");
    expect(lines.slice(-2)).toEqual(["failed boots:", "  i-2: FAILED at fetch: git down"]);
  });
});
