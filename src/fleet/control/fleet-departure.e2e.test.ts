/**
 * Departure end to end in the local fleet: every instance runs `muster watch` after its boot; a
 * terminate hook holds a departing instance in Terminating:Wait. A scale-in under steady traffic
 * loses no request, the shutdown run list runs before the instance is gone, and CONTINUE is sent
 * once; a connection held open past the heartbeat timeout is waited for with heartbeats, and the
 * hook does not time out; a spot interruption is drained within its notice.
 */
import { existsSync, readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DepartureRecord } from "../../boot/departure-record.ts";
import { BIN, cleanupTmp } from "../../test-support/tmp.ts";
import { startTraffic } from "../balancing/traffic.ts";
import { FleetController, type FleetStatus } from "./controller.ts";
import { shutdownLeftovers, stable, testFleetConfig, until } from "./fleet-testing.ts";

let c: FleetController;
const status = (): FleetStatus => c.status();

beforeAll(async () => {
  const cfg = testFleetConfig(61, {
    group: {
      min: 1,
      max: 4,
      desired: 3,
      terminateHook: { name: "terminate", heartbeatTimeout: 4, defaultResult: "ABANDON" },
    },
    instances: { boot: { heartbeatInterval: 1 }, spotNotice: 12, watchInterval: 0.5 },
    loadBalancer: { deregistrationDelay: 20 },
  });
  c = await FleetController.start(cfg, { musterBin: BIN });
  await until("three instances InService", () => stable(status(), 3), 90_000);
}, 120_000);

afterAll(async () => {
  try {
    if (c) {
      const left = await shutdownLeftovers(c);
      expect(left).toEqual({ reported: [], started: [], found: [] });
    }
  } finally {
    cleanupTmp();
  }
}, 60_000);

function departureOf(id: string): DepartureRecord | undefined {
  const root = status().instances.find((i) => i.id === id)?.root;
  const file = root && path.join(root, "var/lib/muster/departure.json");
  return file && existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as DepartureRecord) : undefined;
}

const terminatedAt = (id: string) =>
  status().instances.find((i) => i.id === id && i.state === "Terminated")?.terminatedAt;

const completions = (id: string) =>
  c.autoscaling.calls.filter(
    (k) =>
      k.action === "CompleteLifecycleAction" &&
      k.params.InstanceId === id &&
      k.params.LifecycleHookName === "terminate" &&
      k.status === 200,
  );

describe("departure", () => {
  it("a scale-in under steady traffic loses no request; the shutdown run list runs first; CONTINUE once", async () => {
    const before = new Set(
      status()
        .instances.filter((i) => i.state === "InService")
        .map((i) => i.id),
    );
    const traffic = startTraffic(c.lb.url, { clients: 3, pauseMs: 10 });
    await new Promise((r) => setTimeout(r, 1500));
    c.scale(2);
    const gone = await until(
      "an instance Terminated",
      () => status().instances.find((i) => before.has(i.id) && i.state === "Terminated")?.id,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const result = await traffic.stop();
    expect(result.requests).toBeGreaterThan(50);
    expect(result.failures).toEqual([]);
    expect(result.failed).toBe(0);

    const d = departureOf(gone)!;
    expect(d.outcome).toBe("done");
    expect(d.reason).toBe("terminate");
    expect(d.steps.map((s) => [s.step, s.ok])).toEqual([
      ["close-gate", true],
      ["drain", true],
      ["shutdown", true],
      ["lifecycle", true],
    ]);
    const shutdown = d.steps.find((s) => s.step === "shutdown")!;
    expect(Date.parse(shutdown.at)).toBeLessThan(terminatedAt(gone)!);
    const root = status().instances.find((i) => i.id === gone)!.root;
    expect(readFileSync(path.join(root, "var/log/app/departed"), "utf8")).toBe(
      `${gone} departed: Terminated\n`,
    );
    const sent = completions(gone);
    expect(sent.map((k) => [k.params.LifecycleHookName, k.params.LifecycleActionResult])).toEqual([
      ["terminate", "CONTINUE"],
    ]);
  }, 120_000);

  it("a drain longer than the heartbeat timeout: heartbeats keep the hook waiting, no timeout", async () => {
    const ready = status().instances.filter((i) => i.state === "InService");
    const oldest = ready.sort((a, b) => a.launchedAt - b.launchedAt)[0]!;
    // a long-lived connection to the app that the load balancer does not know of
    const sock = net.connect(c.cfg.instances.trafficPort, oldest.address);
    await new Promise<void>((r, j) => sock.once("connect", () => r()).once("error", j));
    sock.on("error", () => {});
    c.scale(1);
    await until(
      "its drain under way",
      () => departureOf(oldest.id)?.steps.some((s) => s.step === "close-gate"),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 7000)); // longer than the hook's 4 s heartbeat timeout
    expect(status().instances.find((i) => i.id === oldest.id)?.state).toBe("Terminating:Wait");
    sock.destroy();
    await until("it Terminated", () => terminatedAt(oldest.id), 60_000);
    const d = departureOf(oldest.id)!;
    expect(d.outcome).toBe("done");
    expect(d.drain?.how).toBe("idle");
    expect(d.drain!.waitedMs).toBeGreaterThan(5000);
    expect(d.heartbeats).toBeGreaterThanOrEqual(3);
    const beats = c.autoscaling.calls.filter(
      (k) =>
        k.action === "RecordLifecycleActionHeartbeat" &&
        k.params.InstanceId === oldest.id &&
        k.status === 200,
    );
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(completions(oldest.id).map((k) => k.params.LifecycleActionResult)).toEqual(["CONTINUE"]);
    const events = c
      .eventsAfter(0)
      .filter((e) => e.instanceId === oldest.id)
      .map((e) => e.message);
    expect(events.join("\n")).not.toMatch(/timeout reached/);
  }, 120_000);

  it("a spot interruption is drained and shut down within its notice", async () => {
    await until("one instance InService", () => stable(status(), 1), 60_000);
    const victim = status().instances.find((i) => i.state === "InService")!;
    const announced = Date.now();
    await c.fault({ kind: "spot-interrupt", instance: victim.id });
    await until("it Terminated", () => terminatedAt(victim.id), 60_000);
    const d = departureOf(victim.id)!;
    expect(d.reason).toBe("spot");
    expect(d.outcome).toBe("done");
    expect(d.steps.map((s) => s.step)).toEqual(["close-gate", "drain", "shutdown"]);
    const last = Date.parse(d.finishedAt!);
    expect(last - announced).toBeLessThan(12_000);
    expect(terminatedAt(victim.id)! - announced).toBeGreaterThanOrEqual(11_000);
  }, 120_000);
});
