/** The fleet benchmark's pooling of several launches (pure; the launches themselves are benched). */
import { describe, expect, it } from "vitest";
import type { InstanceStatus } from "../src/fleet/control/controller.ts";
import { type Launch, launchesFor, summarize } from "./fleet.ts";

/** An instance that went InService `totalMs` after its launch, `convergeMs` of it converging. */
function instance(totalMs: number, convergeMs: number, cpuMs = 200): InstanceStatus {
  return {
    launchedAt: 1000,
    inServiceAt: 1000 + totalMs,
    boot: {
      running: false,
      startedAt: 1010,
      pipelineStartedAt: 1100,
      transferMs: 50,
      stages: [
        { stage: "fetch", attempt: 1, ok: true, durationMs: 50 },
        { stage: "converge", attempt: 1, ok: true, durationMs: convergeMs },
      ],
      cpu: { beforeRunMs: 80, totalMs: cpuMs },
    },
  } as unknown as InstanceStatus;
}

function launch(served: InstanceStatus[], over: Partial<Launch> = {}): Launch {
  return {
    allInService: true,
    served,
    peakKb: 100 * 1024,
    peakByKindKb: { daemon: 60 * 1024 },
    peakWithoutAppKb: 90 * 1024,
    peakOwnKb: 60 * 1024,
    peakInstancesKb: 40 * 1024,
    peakInstancesByKindKb: { supervisor: 40 * 1024 },
    cpuByKindMs: { supervisor: 100 * served.length },
    daemonCpuMs: 50 * served.length,
    ...over,
  };
}

describe("summarize", () => {
  it("pools the instances of every launch: the median is over all of them", () => {
    const r = summarize(1, [
      launch([instance(400, 200)]),
      launch([instance(900, 200)]),
      launch([instance(420, 200)]),
    ]);
    expect(r.launches).toBe(3);
    expect(r.samplesMs).toEqual([400, 900, 420]);
    expect(r.p50Ms).toBe(420);
    expect(r.maxMs).toBe(900);
    expect(r.allInService).toBe(true);
    // own share = 1 - (transfer 50 + converge 200) / total, median over the three
    expect(r.ownShare).toBeCloseTo(1 - 250 / 420, 5);
    expect(r.partsMs.converge).toBe(200);
  });

  it("keeps the highest launch's peaks and gives CPU per instance over all launches", () => {
    const r = summarize(2, [
      launch([instance(400, 200, 180), instance(410, 200, 220)], {
        peakKb: 300 * 1024,
        peakByKindKb: { daemon: 70 * 1024, supervisor: 230 * 1024 },
        cpuByKindMs: { supervisor: 300 },
        daemonCpuMs: 100,
      }),
      launch([instance(430, 200, 240), instance(440, 200, 260)], {
        cpuByKindMs: { supervisor: 100 },
        daemonCpuMs: 300,
      }),
    ]);
    expect(r.peakRssMb).toBe(300);
    expect(r.peakByKindMb).toEqual({ daemon: 70, supervisor: 230 });
    expect(r.cpuMs.instancesByKind).toEqual({ supervisor: 100 }); // 400 ms over 4 instances
    expect(r.cpuMs.daemonPerInstance).toBe(100);
    expect(r.cpuMs.boot).toBe(220); // median of 180, 220, 240, 260 (the lower middle)
    expect(r.cpuMs.bootBeforeRun).toBe(80);
  });

  it("is not all InService when a launch was not, or an instance is missing", () => {
    expect(
      summarize(1, [launch([instance(400, 200)]), launch([], { allInService: false })]).allInService,
    ).toBe(false);
    expect(summarize(2, [launch([instance(400, 200)])]).allInService).toBe(false);
  });

  it("launches small counts several times", () => {
    expect([1, 5, 20].map(launchesFor)).toEqual([5, 3, 1]);
  });
});
