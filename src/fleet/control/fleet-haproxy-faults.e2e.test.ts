/**
 * HAProxy through faults: instances killed one after another under steady traffic (HAProxy 2.6
 * used to crash on the admin-socket commands that followed), and HAProxy itself killed (the fleet
 * must notice, say so, show it down, start it again with the current targets, and register new
 * instances with it afterwards).
 *
 * Skipped only when haproxy is not installed and this is not CI (.ci/run installs it; with
 * CI=true a missing binary fails the test).
 */
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanupTmp } from "../../test-support/tmp.ts";
import { startTraffic, type Traffic } from "../balancing/traffic.ts";
import { isRunning } from "../instances/processes.ts";
import { FleetController as Controller, type FleetController, type FleetEvent } from "./controller.ts";
import {
  inService,
  readAccessLog,
  shutdownLeftovers,
  stable,
  testFleetConfig,
  until,
} from "./fleet-testing.ts";

const HAPROXY = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find((p) => existsSync(p));
const inCi = process.env.CI === "true";
const run = it.skipIf(HAPROXY === undefined && !inCi);

/** A request in flight when its instance was killed: sent up to this long before the kill... */
const IN_FLIGHT_BEFORE_MS = 1000;
/** ...or this long after it (SIGKILL to the socket closing takes a moment) */
const IN_FLIGHT_AFTER_MS = 300;

let c: FleetController | undefined;
let traffic: Traffic | undefined;

afterAll(async () => {
  try {
    await traffic?.stop();
    if (c) expect(await shutdownLeftovers(c)).toEqual({ reported: [], started: [], found: [] });
  } finally {
    cleanupTmp();
  }
}, 60_000);

describe("HAProxy through faults", () => {
  run(
    "ten instances killed under traffic: HAProxy lives on, only requests in flight to them fail",
    async () => {
      expect(HAPROXY, "haproxy is not installed (.ci/run installs it from Debian)").toBeDefined();
      const cfg = testFleetConfig(41, {
        group: { min: 1, max: 8, desired: 4 },
        loadBalancer: { kind: "haproxy", haproxy: HAPROXY, preset: "fast" },
      });
      c = await Controller.start(cfg, { musterBin: BIN });
      await until("four instances InService behind HAProxy", () => stable(c!.status(), 4), 60_000);
      const before = c.status().loadBalancer;
      expect(before).toMatchObject({ kind: "haproxy", state: "up", restarts: 0 });
      const haproxyPid = before.pid!;

      traffic = startTraffic(c.lb.url, { clients: 4, pauseMs: 10 });
      const kills: { id: string; at: number }[] = [];
      while (kills.length < 10) {
        // keep two serving while one is killed, so every request has somewhere to go
        const victim = await until(
          "three healthy targets to kill one of",
          () => {
            const up = inService(c!.status()).filter((i) => !kills.some((k) => k.id === i.id));
            return up.length >= 3 ? up[0] : undefined;
          },
          60_000,
        );
        kills.push({ id: victim.id, at: Date.now() });
        await c.fault({ kind: "kill", instance: victim.id });
        await until(
          "HAProxy to take the killed target out",
          () => c!.status().loadBalancer.targets.find((t) => t.id === victim.id)?.state !== "healthy",
          15_000,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
      const t = await traffic.stop();
      traffic = undefined;

      const after = c.status().loadBalancer;
      expect(after).toMatchObject({ state: "up", pid: haproxyPid, restarts: 0 });
      expect(isRunning(haproxyPid)).toBe(true);
      expect(c.eventsAfter(0).filter((e) => /load balancer .* is gone/.test(e.message))).toEqual([]);

      const inFlight = (time: number, id?: string) =>
        kills.some(
          (k) =>
            (id === undefined || k.id === id) &&
            time >= k.at - IN_FLIGHT_BEFORE_MS &&
            time <= k.at + IN_FLIGHT_AFTER_MS,
        );
      expect(t.requests).toBeGreaterThan(500);
      // no failure but requests in flight to a killed instance, at most one per client per kill
      expect(t.records.filter((r) => r.status !== 200 && !inFlight(r.time))).toEqual([]);
      expect(t.failed).toBeLessThanOrEqual(kills.length * 4);
      // HAProxy's own log agrees: no 503 for want of a server, errors only from the killed ones
      const errors = readAccessLog(c.lb.accessLogPath).filter((e) => e.status !== 200);
      expect(errors.filter((e) => !e.targetId || !inFlight(e.time, e.targetId))).toEqual([]);
    },
    150_000,
  );

  run(
    "HAProxy itself killed: an event says so, status shows it down, it is started again with the targets",
    async () => {
      expect(c, "the fleet of the test before").toBeDefined();
      const fleet = c!;
      await until("three instances InService", () => inService(fleet.status()).length >= 3, 60_000);
      const pid = fleet.status().loadBalancer.pid!;
      const targets = fleet.status().loadBalancer.targets.length;
      let seenDown: ReturnType<FleetController["status"]>["loadBalancer"] | undefined;
      const events: FleetEvent[] = [];
      fleet.on("event", (e) => {
        events.push(e);
        if (/load balancer haproxy .* is gone/.test(e.message)) seenDown = fleet.status().loadBalancer;
      });
      process.kill(pid, "SIGKILL");

      await until("the fleet to notice", () => seenDown, 10_000);
      expect(seenDown).toMatchObject({ state: "down", pid });
      expect(events.find((e) => e.kind === "error")?.message).toBe(
        `load balancer haproxy (pid ${pid}) is gone; restarting it on ${fleet.lb.url} with ${targets} targets`,
      );
      const restarted = await until(
        "the restart",
        () => events.find((e) => /load balancer haproxy restarted/.test(e.message)),
        15_000,
      );
      const now = fleet.status().loadBalancer;
      expect(now).toMatchObject({ state: "up", restarts: 1 });
      expect(now.pid).not.toBe(pid);
      expect(isRunning(now.pid!)).toBe(true);
      expect(restarted.message).toBe(
        `load balancer haproxy restarted (pid ${now.pid}) on ${fleet.lb.url} with ${targets} targets`,
      );
      expect(fleet.startedProcesses().some((p) => p.pid === now.pid && p.role === "haproxy")).toBe(true);
      // the targets it had serve at once, on the same address
      const res = await fetch(fleet.lb.url);
      expect(res.status).toBe(200);
      // and a new instance registers with it and gets traffic
      const n = inService(fleet.status()).length;
      fleet.scale(Math.min(n + 1, 8));
      await until(
        "a new instance InService behind the new HAProxy",
        () => stable(fleet.status(), n + 1),
        60_000,
      );
      expect(fleet.status().loadBalancer).toMatchObject({ state: "up", pid: now.pid, restarts: 1 });
    },
    90_000,
  );
});
