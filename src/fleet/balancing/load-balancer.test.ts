import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import { type Answer, httpAnswer } from "../../test-support/http-answer.ts";
import { cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import {
  type AccessLogEntry,
  forwardHeaders,
  type LoadBalancer,
  type LoadBalancerOptions,
  startLoadBalancer,
  type TargetHealthEvent,
} from "./load-balancer.ts";

/** A small app server: /health answers `healthStatus`, /slow?ms=N waits, anything else echoes. */
interface Backend {
  id: string;
  port: number;
  healthStatus: number;
  /** Non-health requests received, with their arrival time. */
  received: Array<{ time: number; path: string; xff?: string }>;
  healthChecks: number;
  server: Server;
  close(): Promise<void>;
}

const backends: Backend[] = [];
const balancers: LoadBalancer[] = [];

afterEach(async () => {
  while (balancers.length > 0) await balancers.pop()!.close();
  while (backends.length > 0) await backends.pop()!.close();
});
afterAll(() => cleanupTmp());

async function backend(id: string): Promise<Backend> {
  const sockets = new Set<Socket>();
  const b: Backend = {
    id,
    port: 0,
    healthStatus: 200,
    received: [],
    healthChecks: 0,
    server: undefined as never,
    close: () =>
      new Promise<void>((resolve) => {
        b.server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  b.server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname === "/health") {
      b.healthChecks++;
      if (b.healthStatus === 0) return; // hang: never answer
      res.writeHead(b.healthStatus, { "content-type": "text/plain" });
      res.end(`${id} health ${b.healthStatus}\n`);
      return;
    }
    b.received.push({
      time: Date.now(),
      path: req.url ?? "/",
      xff: req.headers["x-forwarded-for"] as string,
    });
    if (u.pathname === "/slow") {
      const ms = Number(u.searchParams.get("ms") ?? "1000");
      const timer = setTimeout(() => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`${id} slow done\n`);
      }, ms);
      res.on("close", () => clearTimeout(timer));
      return;
    }
    if (u.pathname === "/echo") {
      const h = createHash("sha256");
      let n = 0;
      req.on("data", (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id, bytes: n, sha256: h.digest("hex") }));
      });
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "x-app": "yes" });
    res.end(JSON.stringify({ id, path: req.url, headers: req.headers }));
  });
  b.server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => b.server.listen(0, "127.0.0.1", () => r()));
  const addr = b.server.address();
  b.port = typeof addr === "object" && addr ? addr.port : 0;
  backends.push(b);
  return b;
}

/** Fast enough for tests: a check every 100 ms, 2 to go either way, 1 s delay. */
const TEST_SETTINGS: LoadBalancerOptions["settings"] = {
  healthCheck: {
    path: "/health",
    intervalMs: 100,
    timeoutMs: 80,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
  },
  deregistrationDelayMs: 1000,
};

async function lb(opts: LoadBalancerOptions = {}): Promise<LoadBalancer> {
  const l = await startLoadBalancer({ host: "127.0.0.1", settings: TEST_SETTINGS, ...opts });
  balancers.push(l);
  return l;
}

function get(
  l: LoadBalancer,
  p: string,
  init: { method?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return httpAnswer(
    { host: l.host, port: l.port, path: p, method: init.method ?? "GET", headers: init.headers },
    init.body,
    10_000,
  );
}

function events(l: LoadBalancer): TargetHealthEvent[] {
  const out: TargetHealthEvent[] = [];
  l.on("health", (e) => out.push(e));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("routing only to healthy targets", () => {
  it("a new target gets no traffic before it passes, then gets it", async () => {
    const a = await backend("a");
    a.healthStatus = 503;
    const l = await lb();
    const ev = events(l);
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    expect(l.targetHealth("i-a")?.state).toBe("initial");

    // Failing checks: initial, then unhealthy; every request is a 503 from the load balancer.
    await l.waitForState("i-a", "unhealthy", 2000);
    const before = await get(l, "/");
    expect(before.status).toBe(503);
    expect(before.body).toMatch(/no healthy target \(1 registered: 1 unhealthy\)/);
    expect(before.headers["x-muster-target"]).toBeUndefined();
    expect(a.received).toEqual([]);

    a.healthStatus = 200;
    await l.waitForState("i-a", "healthy", 2000);
    const healthyAt = ev.find((e) => e.to === "healthy")!.time;
    const after = await get(l, "/hello");
    expect(after.status).toBe(200);
    expect(after.headers["x-muster-target"]).toBe("i-a");
    expect(JSON.parse(after.body).id).toBe("a");
    expect(a.received).toHaveLength(1);
    expect(a.received[0]!.time).toBeGreaterThanOrEqual(healthyAt);

    expect(ev.map((e) => `${e.from}->${e.to}`)).toEqual([
      "unused->initial",
      "initial->unhealthy",
      "unhealthy->healthy",
    ]);
    expect(l.accessLog.map((e) => [e.status, e.targetId])).toEqual([
      [503, null],
      [200, "i-a"],
    ]);
  });

  it("an initial target that passes its first check becomes healthy at once (ALB: one check)", async () => {
    const a = await backend("a");
    const l = await lb();
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 1000);
    expect(a.healthChecks).toBe(1);
    expect(l.targetHealth("i-a")).toMatchObject({ consecutivePasses: 1, reason: undefined });
  });

  it("round robin spreads the load evenly over healthy targets", async () => {
    const l = await lb();
    const ids = ["a", "b", "c"];
    for (const id of ids) {
      const b = await backend(id);
      l.registerTarget({ id: `i-${id}`, host: "127.0.0.1", port: b.port });
    }
    await Promise.all(ids.map((id) => l.waitForState(`i-${id}`, "healthy", 2000)));
    const served: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await get(l, `/n/${i}`);
      expect(r.status).toBe(200);
      served.push(String(r.headers["x-muster-target"]));
    }
    for (const id of ids) expect(served.filter((s) => s === `i-${id}`)).toHaveLength(10);
    // Strict rotation: no target twice in a row.
    for (let i = 1; i < served.length; i++) expect(served[i]).not.toBe(served[i - 1]);
    // The access log names the same targets as the header, request by request.
    expect(l.accessLog.map((e) => e.targetId)).toEqual(served);
    expect(backends.map((b) => b.received.length)).toEqual([10, 10, 10]);
    expect(l.describeTargetHealth().map((t) => t.served)).toEqual([10, 10, 10]);
  });

  it("fails over when a target's health path starts answering 503, and takes it back after recovering", async () => {
    const a = await backend("a");
    const b = await backend("b");
    const l = await lb();
    const ev = events(l);
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    l.registerTarget({ id: "i-b", host: "127.0.0.1", port: b.port });
    await l.waitForState("i-a", "healthy", 2000);
    await l.waitForState("i-b", "healthy", 2000);

    b.healthStatus = 503;
    await l.waitForState("i-b", "unhealthy", 2000);
    const change = ev.find((e) => e.targetId === "i-b" && e.to === "unhealthy")!;
    expect(change).toMatchObject({ from: "healthy", reason: "Target.ResponseCodeMismatch" });
    expect(change.description).toMatch(/503/);
    const bBefore = b.received.length;
    for (let i = 0; i < 10; i++) {
      const r = await get(l, "/");
      expect(r.status).toBe(200);
      expect(r.headers["x-muster-target"]).toBe("i-a");
    }
    expect(b.received.length).toBe(bBefore);

    b.healthStatus = 200;
    await l.waitForState("i-b", "healthy", 2000);
    // healthyThreshold 2: at least two passing checks after the failure.
    expect(l.targetHealth("i-b")?.consecutivePasses).toBeGreaterThanOrEqual(2);
    const targets = new Set<string>();
    for (let i = 0; i < 4; i++) targets.add(String((await get(l, "/")).headers["x-muster-target"]));
    expect(targets).toEqual(new Set(["i-a", "i-b"]));
  });

  it("answers 503 with a clear body when no target is healthy", async () => {
    const l = await lb();
    const none = await get(l, "/x");
    expect(none.status).toBe(503);
    expect(none.body).toBe("503 Service Unavailable: no healthy target (no target is registered)\n");
    const a = await backend("a");
    a.healthStatus = 500;
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "unhealthy", 2000);
    const r = await get(l, "/x");
    expect(r.status).toBe(503);
    expect(l.accessLog.at(-1)).toMatchObject({
      status: 503,
      targetId: null,
      target: null,
      error: "no healthy target",
    });
    expect(a.received).toEqual([]);
  });

  it("failOpen: with no healthy target, unhealthy ones get the traffic (ALB's behaviour)", async () => {
    const a = await backend("a");
    a.healthStatus = 500;
    const l = await lb({ settings: { ...TEST_SETTINGS, failOpen: true } });
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    expect((await get(l, "/")).status).toBe(503); // initial targets never get traffic
    await l.waitForState("i-a", "unhealthy", 2000);
    const r = await get(l, "/");
    expect(r.status).toBe(200);
    expect(r.headers["x-muster-target"]).toBe("i-a");
  });
});

describe("health checks", () => {
  it("a check with no answer within the timeout fails with Target.Timeout", async () => {
    const a = await backend("a");
    a.healthStatus = 0; // hang
    const l = await lb();
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "unhealthy", 2000);
    expect(l.targetHealth("i-a")).toMatchObject({ reason: "Target.Timeout" });
    expect(l.targetHealth("i-a")!.lastCheck!.durationMs).toBeGreaterThanOrEqual(75);
  });

  it("a refused connection fails with Target.FailedHealthChecks", async () => {
    const a = await backend("a");
    const port = a.port;
    await a.close();
    backends.pop();
    const l = await lb();
    l.registerTarget({ id: "i-gone", host: "127.0.0.1", port });
    await l.waitForState("i-gone", "unhealthy", 2000);
    expect(l.targetHealth("i-gone")).toMatchObject({
      reason: "Target.FailedHealthChecks",
      description: "ECONNREFUSED",
    });
  });

  it("checks a separate health port and honours the success codes", async () => {
    const app = await backend("app");
    const health = await backend("health");
    health.healthStatus = 204;
    const l = await lb({
      settings: {
        ...TEST_SETTINGS,
        healthCheck: { ...TEST_SETTINGS!.healthCheck, port: health.port, successCodes: "200-299" },
      },
    });
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: app.port });
    await l.waitForState("i-a", "healthy", 2000);
    expect(health.healthChecks).toBeGreaterThan(0);
    expect(app.healthChecks).toBe(0);
    expect((await get(l, "/")).headers["x-muster-target"]).toBe("i-a");
  });

  it("checks every interval, and not at all once the target is deregistered", async () => {
    const a = await backend("a");
    const l = await lb();
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await sleep(550);
    // One at once, then one every 100 ms.
    expect(a.healthChecks).toBeGreaterThanOrEqual(4);
    expect(a.healthChecks).toBeLessThanOrEqual(7);
    l.deregisterTarget("i-a");
    const n = a.healthChecks;
    await sleep(300);
    expect(a.healthChecks).toBe(n);
  });
});

describe("deregistration and draining", () => {
  it("an in-flight slow request finishes while the target drains; new requests go elsewhere", async () => {
    const a = await backend("a");
    const b = await backend("b");
    const l = await lb({ settings: { ...TEST_SETTINGS, deregistrationDelayMs: 5000 } });
    const ev = events(l);
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);

    const slow = get(l, "/slow?ms=800");
    await sleep(100);
    expect(l.targetHealth("i-a")?.inFlight).toBe(1);
    l.registerTarget({ id: "i-b", host: "127.0.0.1", port: b.port });
    await l.waitForState("i-b", "healthy", 2000);
    l.deregisterTarget("i-a");
    expect(l.targetHealth("i-a")).toMatchObject({
      state: "draining",
      reason: "Target.DeregistrationInProgress",
    });

    for (let i = 0; i < 5; i++) expect((await get(l, "/")).headers["x-muster-target"]).toBe("i-b");
    const done = await slow;
    expect(done.status).toBe(200);
    expect(done.body).toBe("a slow done\n");
    expect(done.headers["x-muster-target"]).toBe("i-a");

    // Removed as soon as it was idle, long before the 5 s delay.
    await l.waitForState("i-a", "unused", 500);
    expect(l.targetHealth("i-a")).toBeUndefined();
    const removed = ev.find((e) => e.targetId === "i-a" && e.to === "unused")!;
    expect(removed.description).toMatch(/no request in flight/);
    const slowEntry = l.accessLog.find((e) => e.path === "/slow?ms=800")!;
    expect(slowEntry).toMatchObject({ targetId: "i-a", status: 200 });
    expect(slowEntry.durationMs).toBeGreaterThanOrEqual(790);
    expect(a.received.map((r) => r.path)).toEqual(["/slow?ms=800"]);
  });

  it("an idle target is removed at once", async () => {
    const a = await backend("a");
    const l = await lb();
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    const ev = events(l);
    l.deregisterTarget("i-a");
    expect(ev.map((e) => `${e.from}->${e.to}`)).toEqual(["healthy->draining", "draining->unused"]);
    expect(l.describeTargetHealth()).toEqual([]);
    l.deregisterTarget("i-unknown"); // ignored, as DeregisterTargets does
  });

  it("requests still running when the deregistration delay expires are cut", async () => {
    const a = await backend("a");
    const l = await lb({ settings: { ...TEST_SETTINGS, deregistrationDelayMs: 300 } });
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    const slow = get(l, "/slow?ms=3000").catch((e: Error) => e);
    await sleep(100);
    const t0 = Date.now();
    l.deregisterTarget("i-a");
    await l.waitForState("i-a", "unused", 1000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const res = await slow;
    expect(res instanceof Error || (res as Answer).status === 502).toBe(true);
    expect(l.accessLog.at(-1)).toMatchObject({
      targetId: "i-a",
      status: 502,
      error: "deregistration delay expired",
    });
  });

  it("a target can be registered again once removed, not while draining", async () => {
    const a = await backend("a");
    const l = await lb({ settings: { ...TEST_SETTINGS, deregistrationDelayMs: 5000 } });
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    const slow = get(l, "/slow?ms=300");
    await sleep(50);
    l.deregisterTarget("i-a");
    expect(() => l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port })).toThrow(
      /already registered \(draining\)/,
    );
    await slow;
    await l.waitForState("i-a", "unused", 1000);
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    expect(l.targetHealth("i-a")?.state).toBe("initial");
  });
});

describe("proxying", () => {
  it("adds X-Forwarded-For and streams request and response bodies", async () => {
    const a = await backend("a");
    const l = await lb();
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);

    const r = await get(l, "/h?q=1", { headers: { "x-forwarded-for": "10.1.2.3", "x-custom": "kept" } });
    const seen = JSON.parse(r.body);
    expect(seen.path).toBe("/h?q=1");
    expect(seen.headers["x-forwarded-for"]).toBe("10.1.2.3, 127.0.0.1");
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers["x-forwarded-port"]).toBe(String(l.port));
    expect(seen.headers["x-custom"]).toBe("kept");
    expect(seen.headers.host).toBe(`${l.host}:${l.port}`);
    expect(r.headers["x-app"]).toBe("yes");

    const body = randomBytes(3 * 1024 * 1024);
    const echo = await get(l, "/echo", { method: "POST", body });
    expect(JSON.parse(echo.body)).toEqual({
      id: "a",
      bytes: body.length,
      sha256: createHash("sha256").update(body).digest("hex"),
    });
  });

  it("answers 502 naming the target when it refuses the connection", async () => {
    const a = await backend("a");
    const l = await lb({
      settings: {
        ...TEST_SETTINGS,
        healthCheck: { ...TEST_SETTINGS!.healthCheck, intervalMs: 5000, timeoutMs: 100 },
      },
    });
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    await a.close();
    backends.pop();
    const r = await get(l, "/");
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/target i-a \(127\.0\.0\.1:\d+\) failed: ECONNREFUSED/);
    expect(r.headers["x-muster-target"]).toBe("i-a");
    expect(l.targetHealth("i-a")?.inFlight).toBe(0);
  });

  it("answers 504 when a target sends nothing for idleTimeoutMs", async () => {
    const a = await backend("a");
    const l = await lb({ idleTimeoutMs: 200 });
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    const t0 = Date.now();
    const r = await get(l, "/slow?ms=60000");
    expect(r.status).toBe(504);
    expect(r.body).toMatch(/target i-a .* sent nothing for 200 ms \(idle timeout\)/);
    // the target would answer after a minute: the 200 ms idle timeout ended it
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(l.accessLog.at(-1)).toMatchObject({ status: 504, targetId: "i-a" });
  });

  it("a slow answer longer than the pool's idle time still arrives", async () => {
    const a = await backend("a");
    const l = await lb({ upstreamIdleMs: 100 });
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    expect((await get(l, "/")).status).toBe(200);
    const r = await get(l, "/slow?ms=400");
    expect(r.status).toBe(200);
    expect(r.body).toBe("a slow done\n");
  });

  it("keeps connections to targets alive across requests", async () => {
    const a = await backend("a");
    let connections = 0;
    a.server.on("connection", () => connections++);
    const l = await lb();
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    const checks = a.healthChecks;
    const before = connections;
    for (let i = 0; i < 10; i++) expect((await get(l, "/")).status).toBe(200);
    // Health checks open their own connections (one each); proxied requests reuse one.
    expect(connections - before - (a.healthChecks - checks)).toBe(1);
  });

  it("a reused connection the target resets is retried once for a bodiless GET, never for a POST", async () => {
    // A raw server that answers the first request on a connection with keep-alive and resets the
    // connection on the second, the race a keep-alive pool meets when a target closes idle
    // connections.
    const sockets = new Set<Socket>();
    let resets = 0;
    const raw = createTcpServer((sock) => {
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
      sock.on("error", () => {});
      let buf = "";
      let n = 0;
      sock.on("data", (d) => {
        buf += d.toString("latin1");
        while (buf.includes("\r\n\r\n")) {
          const end = buf.indexOf("\r\n\r\n");
          const head = buf.slice(0, end);
          const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < end + 4 + len) return;
          buf = buf.slice(end + 4 + len);
          n++;
          if (head.startsWith("GET /health")) {
            sock.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
          }
          if (n >= 2) {
            resets++;
            sock.resetAndDestroy();
            return;
          }
          sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
        }
      });
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", () => r()));
    const port = (raw.address() as { port: number }).port;
    try {
      const l = await lb();
      l.registerTarget({ id: "i-raw", host: "127.0.0.1", port });
      await l.waitForState("i-raw", "healthy", 2000);
      expect((await get(l, "/one")).status).toBe(200);
      // Second GET lands on the kept-alive connection, which is reset: retried on a new one.
      const again = await get(l, "/two");
      expect(again.status).toBe(200);
      expect(again.body).toBe("ok");
      expect(resets).toBe(1);
      // A POST's body cannot be sent twice: the reset surfaces as a 502.
      const post = await get(l, "/three", { method: "POST", body: Buffer.from("data") });
      expect(post.status).toBe(502);
      expect(post.body).toMatch(/failed: ECONNRESET/);
      expect(resets).toBe(2);
    } finally {
      await new Promise<void>((r) => {
        raw.close(() => r());
        for (const s of sockets) s.destroy();
      });
    }
  });

  it("forwardHeaders drops hop-by-hop headers and those named in Connection", () => {
    const h = forwardHeaders(
      {
        connection: "keep-alive, x-secret",
        "keep-alive": "timeout=5",
        "x-secret": "1",
        te: "trailers",
        accept: "*/*",
      },
      "127.0.0.9",
      8080,
    );
    expect(h).toEqual({
      accept: "*/*",
      "x-forwarded-for": "127.0.0.9",
      "x-forwarded-proto": "http",
      "x-forwarded-port": "8080",
    });
  });
});

describe("access log", () => {
  it("writes JSON lines to a file that match the in-memory log and the request events", async () => {
    const dir = tmpDir("muster-lb-");
    const file = path.join(dir, "logs/access.jsonl");
    const a = await backend("a");
    const l = await lb({ accessLogPath: file });
    const seen: AccessLogEntry[] = [];
    l.on("request", (e) => seen.push(e));
    await get(l, "/before");
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await l.waitForState("i-a", "healthy", 2000);
    await get(l, "/after");
    await l.close();
    balancers.pop();
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((x) => JSON.parse(x) as AccessLogEntry);
    expect(lines).toEqual(l.accessLog);
    expect(seen).toEqual(l.accessLog);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      method: "GET",
      path: "/before",
      status: 503,
      targetId: null,
      clientAddress: "127.0.0.1",
    });
    expect(lines[1]).toMatchObject({
      path: "/after",
      status: 200,
      targetId: "i-a",
      target: `127.0.0.1:${a.port}`,
    });
    for (const e of lines) {
      expect(typeof e.time).toBe("number");
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(l.requestCount).toBe(2);
  });

  it("keeps at most accessLogLimit entries in memory", async () => {
    const l = await lb({ accessLogLimit: 3 });
    for (let i = 0; i < 5; i++) await get(l, `/${i}`);
    expect(l.accessLog.map((e) => e.path)).toEqual(["/2", "/3", "/4"]);
    expect(l.requestCount).toBe(5);
  });
});

describe("input", () => {
  it("rejects bad targets and settings with one clear line", async () => {
    const l = await lb();
    expect(() => l.registerTarget({ id: "", host: "127.0.0.1", port: 1 })).toThrow(InputError);
    expect(() => l.registerTarget({ id: "i-x", host: "127.0.0.1", port: 0 })).toThrow(
      /target i-x: port must be 1-65535/,
    );
    await expect(startLoadBalancer({ settings: { healthCheck: { timeoutMs: 2000 } } })).rejects.toThrow(
      /healthCheck.timeoutMs: must be less than intervalMs/,
    );
  });

  it("uses the AWS preset when asked", async () => {
    const l = await lb({ preset: "aws", settings: {} });
    expect(l.settings.healthCheck.intervalMs).toBe(30_000);
    expect(l.settings.deregistrationDelayMs).toBe(300_000);
  });

  it("waitForState times out with the state it is in", async () => {
    const a = await backend("a");
    a.healthStatus = 503;
    const l = await lb();
    l.registerTarget({ id: "i-a", host: "127.0.0.1", port: a.port });
    await expect(l.waitForState("i-a", "healthy", 300)).rejects.toThrow(
      /did not become healthy within 300 ms \(unhealthy\)/,
    );
  });
});
