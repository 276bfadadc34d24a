/**
 * A gate left in the image (an image captured without `muster image prepare`) must not give a
 * new instance traffic before its boot has converged. The fleet here has no launch lifecycle
 * hook, so an instance is registered with the load balancer as soon as it runs: the gate (the
 * health check, judged by boot id) is then the only thing between a half-configured server and
 * traffic, and a request loop runs against the load balancer the whole time.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gateContent } from "../../gate/gate-state.ts";
import { BIN, cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import { startTraffic } from "../balancing/traffic.ts";
import { FleetController } from "./controller.ts";
import {
  gateOpenedAt,
  readAccessLog,
  shutdownLeftovers,
  stable,
  testFleetConfig,
  until,
} from "./fleet-testing.ts";

let c: FleetController | undefined;

afterAll(async () => {
  try {
    if (c) {
      expect(await shutdownLeftovers(c)).toEqual({ reported: [], started: [], found: [] });
    }
  } finally {
    cleanupTmp();
  }
}, 60_000);

describe("a gate left in the image", () => {
  it("gives no traffic before converge, even with targets registered at launch", async () => {
    // the image: a server's tree captured with its gate open (from the boot that made the image)
    const image = tmpDir("muster-fleet-image-");
    const imageGate = {
      gate: "open" as const,
      bootId: "boot-of-the-machine-the-image-was-made-from",
      role: "web",
      runId: "image-run",
      openedAt: "2024-01-01T00:00:00.000Z",
    };
    mkdirSync(path.join(image, "var/lib/muster"), { recursive: true });
    writeFileSync(path.join(image, "var/lib/muster/gate.json"), gateContent(imageGate));
    const cfg = testFleetConfig(2, {
      group: { desired: 1, launchHook: false, healthCheckGracePeriod: 60 },
      image: { dir: image, prepare: false },
    });
    expect(cfg.group.launchHook).toBeUndefined();

    // the health endpoint of the instance, polled directly from its launch
    const healthAnswers: { time: number; status: number; bootId?: string }[] = [];
    let polling = true;
    c = await FleetController.start(cfg, { musterBin: BIN });
    const traffic = startTraffic(c.lb.url, { clients: 2, pauseMs: 20 });
    const id = (await until("the instance", () => c!.status().instances[0]))!.id;
    const address = (await until("its address", () => c!.status().instances[0]?.address))!;
    const poller = (async () => {
      while (polling) {
        try {
          const res = await fetch(`http://${address}:${cfg.instances.healthPort}/health`, {
            signal: AbortSignal.timeout(1000),
          });
          const body = (await res.json()) as { bootId?: string };
          healthAnswers.push({ time: Date.now(), status: res.status, bootId: body.bootId });
        } catch {}
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    await until("the instance InService and healthy", () => stable(c!.status(), 1), 60_000);
    await until("requests served by it", () => (c!.status().instances[0]?.requests ?? 0) >= 5, 20_000);
    polling = false;
    await poller;
    const t = await traffic.stop();

    const st = c.status().instances.find((i) => i.id === id)!;
    expect(st.boot.outcome).toBe("open");
    const opened = gateOpenedAt(st)!;
    // the target was registered at launch, long before the gate opened ...
    const events = c.eventsAfter(0).filter((e) => e.instanceId === id && e.kind === "target");
    const registered = events.find((e) => e.to === "initial")!;
    expect(registered.time).toBeLessThan(opened);
    // ... yet it turned healthy only after this boot's gate opened
    const healthy = events.find((e) => e.to === "healthy")!;
    expect(healthy.time).toBeGreaterThanOrEqual(opened);
    // the health endpoint never passed the image's gate: 503 (stale) until this boot opened its own
    expect(healthAnswers.some((a) => a.status === 503 && a.time < opened)).toBe(true);
    for (const a of healthAnswers.filter((x) => x.status === 200)) expect(a.bootId).toBe(st.bootId);
    expect(healthAnswers.filter((a) => a.status === 200 && a.time < opened)).toEqual([]);
    // the load balancer sent it nothing before: the clients got 503s meanwhile
    const log = readAccessLog(c.lb.accessLogPath);
    expect(log.filter((e) => e.targetId === id && e.time < opened)).toEqual([]);
    expect(
      log.filter((e) => e.targetId === null && e.status === 503 && e.time < opened).length,
    ).toBeGreaterThan(0);
    expect(log.filter((e) => e.targetId === id).length).toBeGreaterThan(0);
    expect(t.records.filter((r) => r.status === 200 && r.time < opened)).toEqual([]);
  }, 120_000);
});
