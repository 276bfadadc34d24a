import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RootFs } from "../host/root-fs.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { closeGate, openGate, readGate } from "./gate-file.ts";
import { type GateRecord, gateContent } from "./gate-state.ts";
import { type HealthServer, startHealthServer } from "./health-server.ts";

const GATE = "/var/www/ping.html";
const record = (bootId: string): GateRecord => ({
  gate: "open",
  bootId,
  role: "web",
  configRevision: "c1",
  appRevision: "a1",
  runId: "r1",
  openedAt: "2024-01-01T00:00:00.000Z",
});

const servers: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  cleanupTmp();
});

async function serve(root: string, extra: { appCheck?: string } = {}): Promise<HealthServer> {
  const s = await startHealthServer({
    root,
    gateFile: GATE,
    bootId: "boot-now",
    port: 0,
    host: "127.0.0.1",
    ...extra,
  });
  servers.push(s);
  return s;
}

async function appServer(status: () => number): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(status());
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  const a = server.address();
  return `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/up`;
}

describe("the gate file", () => {
  it("opens atomically with mode 0644 and closes, temporary leftovers included", () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    openGate(fs, GATE, record("boot-now"));
    expect(fs.stat(GATE)?.mode).toBe(0o644);
    expect(readGate(fs, GATE, "boot-now").state).toBe("open");
    writeFileSync(path.join(root, "var/www/.ping.html.muster-abcd1234"), "half");
    expect(closeGate(fs, GATE)).toEqual([GATE, "/var/www/.ping.html.muster-abcd1234"]);
    expect(readGate(fs, GATE, "boot-now")).toEqual({ state: "closed", reason: "no gate file" });
    expect(closeGate(fs, GATE)).toEqual([]);
  });
});

describe("the HTTP gate", () => {
  it("answers 503 while the gate is closed, 200 with the record once open, 503 again when closed", async () => {
    const root = tmpDir();
    const s = await serve(root);
    let res = await fetch(s.url);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ gate: "closed", reason: "no gate file" });
    openGate(new RootFs(root), GATE, record("boot-now"));
    res = await fetch(s.url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(record("boot-now"));
    closeGate(new RootFs(root), GATE);
    expect((await fetch(s.url)).status).toBe(503);
  });

  it("a gate from another boot (baked into an image) is stale: 503", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "var/www"), { recursive: true });
    writeFileSync(path.join(root, "var/www/ping.html"), gateContent(record("boot-of-the-image")));
    const s = await serve(root);
    const res = await fetch(s.url);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ gate: "stale" });
  });

  it("with an app check, the app must pass too, on every request", async () => {
    const root = tmpDir();
    openGate(new RootFs(root), GATE, record("boot-now"));
    let appStatus = 200;
    const s = await serve(root, { appCheck: await appServer(() => appStatus) });
    expect((await fetch(s.url)).status).toBe(200);
    appStatus = 500;
    const res = await fetch(s.url);
    expect(res.status).toBe(503);
    expect((await res.json()).reason).toMatch(/app check http:\/\/127\.0\.0\.1:\d+\/up answered 500/);
  });

  it("an app that does not answer in time, or is not there, fails the check; a redirect passes", async () => {
    const root = tmpDir();
    openGate(new RootFs(root), GATE, record("boot-now"));
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    servers.push({
      close: () =>
        new Promise<void>((r) => {
          silent.closeAllConnections();
          silent.close(() => r());
        }),
    });
    const port = (silent.address() as { port: number }).port;
    const slow = await startHealthServer({
      root,
      gateFile: GATE,
      bootId: "boot-now",
      port: 0,
      host: "127.0.0.1",
      appCheck: `http://127.0.0.1:${port}/up`,
      appCheckTimeoutMs: 150,
    });
    servers.push(slow);
    const t0 = Date.now();
    const res = await fetch(slow.url);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      gate: "open",
      app: "failing", // the gate is open, the app is not well: a reader of the body sees which
      reason: `app check http://127.0.0.1:${port}/up did not answer within 150 ms`,
    });
    // the app never answers: only the 150 ms check timeout can have ended the wait (a bound far
    // above it, so a busy machine does not fail the test)
    expect(Date.now() - t0).toBeLessThan(10_000);
    // nothing listens on a port just freed
    const gone = await appServer(() => 200);
    await servers.splice(-1)[0]!.close();
    const refused = await serve(root, { appCheck: gone });
    const r2 = await fetch(refused.url);
    expect(r2.status).toBe(503);
    expect((await r2.json()).reason).toMatch(
      /^app check http:\/\/127\.0\.0\.1:\d+\/up failed: .*ECONNREFUSED/,
    );
    const moved = await serve(root, { appCheck: await appServer(() => 302) });
    expect((await fetch(moved.url)).status).toBe(200);
  });

  it("answers only its path and only GET/HEAD", async () => {
    const s = await serve(tmpDir());
    expect((await fetch(s.url.replace("/health", "/other"))).status).toBe(404);
    const post = await fetch(s.url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(s.url, { method: "HEAD" })).status).toBe(503);
  });
});
