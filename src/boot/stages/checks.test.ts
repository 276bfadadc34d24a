import { createServer as createHttp } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runChecks } from "./checks.ts";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function listen(server: Server | ReturnType<typeof createHttp>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return (server.address() as { port: number }).port;
}

/** A port nothing listens on (just freed). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("checks before the gate opens", () => {
  it("pass when every URL answers its expected status", async () => {
    const port = await listen(
      createHttp((req, res) => res.writeHead(req.url === "/ready" ? 204 : 200).end()),
    );
    await expect(
      runChecks([
        { url: `http://127.0.0.1:${port}/health`, status: 200, timeoutMs: 1000 },
        { url: `http://127.0.0.1:${port}/ready`, status: 204, timeoutMs: 1000 },
      ]),
    ).resolves.toBeUndefined();
  });

  it("fail on another status, a refused connection, or no answer in time", async () => {
    const port = await listen(createHttp((_req, res) => res.writeHead(500).end()));
    await expect(
      runChecks([{ url: `http://127.0.0.1:${port}/health`, status: 200, timeoutMs: 1000 }]),
    ).rejects.toThrow(`check http://127.0.0.1:${port}/health answered 500, expected 200`);
    const closed = await freePort();
    await expect(
      runChecks([{ url: `http://127.0.0.1:${closed}/health`, status: 200, timeoutMs: 1000 }]),
    ).rejects.toThrow(`check http://127.0.0.1:${closed}/health failed: connection refused`);
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    const sp = await listen(silent);
    closers.push(() => {
      for (const s of sockets) s.destroy();
    });
    await expect(
      runChecks([{ url: `http://127.0.0.1:${sp}/`, status: 200, timeoutMs: 200 }]),
    ).rejects.toThrow(`check http://127.0.0.1:${sp}/ did not answer within 0.2 s`);
  });
});
