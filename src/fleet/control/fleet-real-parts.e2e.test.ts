/**
 * Scenario 1 with real parts: HAProxy as the load balancer (its health check is
 * `option httpchk GET /ping.html`, the gate file) and nginx on every instance serving the web
 * root and the gate file in front of the app. A new app commit plus a scale-out: the new instance
 * serves the new revision through HAProxy, and neither HAProxy's log nor the instance's own nginx
 * log shows a request to it before its gate opened.
 *
 * Skipped only when haproxy or nginx is not installed and this is not CI (.ci/run installs them;
 * with CI=true a missing binary fails the test).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commitTo } from "../../demo/example-repos.ts";
import { BIN, cleanupTmp } from "../../test-support/tmp.ts";
import { startTraffic } from "../balancing/traffic.ts";
import { nginxPaths, parseNginxAccessLog } from "../instances/instance-files.ts";
import { FleetController } from "./controller.ts";
import {
  gateOpenedAt,
  readAccessLog,
  shutdownLeftovers,
  stable,
  testFleetConfig,
  until,
} from "./fleet-testing.ts";

const HAPROXY = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find((p) => existsSync(p));
const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));
const present = HAPROXY !== undefined && NGINX !== undefined;
const inCi = process.env.CI === "true";

let c: FleetController | undefined;

afterAll(async () => {
  try {
    if (c) {
      expect(c.startedProcesses().some((p) => p.role === "haproxy")).toBe(true);
      expect(await shutdownLeftovers(c)).toEqual({ reported: [], started: [], found: [] });
    }
  } finally {
    cleanupTmp();
  }
}, 60_000);

describe("real parts: HAProxy and nginx", () => {
  it.skipIf(!present && !inCi)(
    "a scale-out serves the new revision through HAProxy; no request before the gate",
    async () => {
      expect(HAPROXY, "haproxy is not installed (.ci/run installs it from Debian)").toBeDefined();
      expect(NGINX, "nginx is not installed (.ci/run installs nginx-light from Debian)").toBeDefined();
      const cfg = testFleetConfig(3, {
        loadBalancer: { kind: "haproxy", haproxy: HAPROXY, preset: "fast" },
        instances: { webServer: "nginx", nginx: NGINX },
      });
      expect(cfg.loadBalancer.settings.healthCheck.path).toBe("/ping.html");
      c = await FleetController.start(cfg, { musterBin: BIN });
      expect(readFileSync(path.join(cfg.stateDir, "lb/haproxy.cfg"), "utf8")).toContain(
        "option httpchk GET /ping.html",
      );
      await until("two instances InService behind HAProxy", () => stable(c!.status(), 2), 90_000);

      const rev = await commitTo(
        path.join(cfg.stateDir, "repos/app.git"),
        { "public/index.html": "<p>release 2: {{revision}}</p>\n" },
        "release 2",
      );
      const before = new Set(c.status().instances.map((i) => i.id));
      const traffic = startTraffic(c.lb.url, { clients: 2, pauseMs: 10 });
      c.scale(3);
      await until("the third instance InService", () => stable(c!.status(), 3), 90_000);
      const fresh = c.status().instances.find((i) => !before.has(i.id) && i.state === "InService")!;
      await until(
        "HAProxy to send it requests",
        () => (c!.status().instances.find((i) => i.id === fresh.id)?.requests ?? 0) >= 5,
        30_000,
      );
      const t = await traffic.stop();
      expect(t.failures).toEqual([]);

      const st = c.status().instances.find((i) => i.id === fresh.id)!;
      expect(st.boot.appRevision).toBe(rev);
      // through HAProxy -> nginx -> the app
      expect(t.records.some((r) => r.revision && rev.startsWith(r.revision))).toBe(true);
      const opened = gateOpenedAt(st)!;
      const log = readAccessLog(c.lb.accessLogPath);
      expect(log.filter((e) => e.targetId === fresh.id).length).toBeGreaterThan(0);
      expect(log.filter((e) => e.targetId === fresh.id && e.time < opened)).toEqual([]);
      // the instance's own web server agrees: nothing but health checks before the gate opened
      const nginxLog = parseNginxAccessLog(readFileSync(nginxPaths(st.root).accessLog, "utf8"));
      const appRequests = nginxLog.filter((e) => !e.request.includes("/ping.html"));
      expect(appRequests.length).toBeGreaterThan(0);
      expect(appRequests.filter((e) => e.time < opened)).toEqual([]);
      expect(nginxLog.some((e) => e.request.startsWith("GET /ping.html"))).toBe(true);
    },
    180_000,
  );
});
