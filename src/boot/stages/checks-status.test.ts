/**
 * The checks are the last barrier before traffic: only the exact status a check names passes,
 * a redirect is not followed, and every check of several must pass.
 */
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runChecks } from "./checks.ts";

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** An app that answers each path with the status the table gives it (a redirect to /ok for 3xx). */
async function app(statuses: Record<string, number>): Promise<{ base: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? "");
    const status = statuses[req.url ?? ""] ?? 200;
    res.writeHead(status, status >= 300 && status < 400 ? { location: "/ok" } : {}).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits };
}

describe("a check's status must be the one it names", () => {
  it("a 404 fails a check that expects 200", async () => {
    const { base } = await app({ "/health": 404 });
    await expect(runChecks([{ url: `${base}/health`, status: 200, timeoutMs: 5000 }])).rejects.toThrow(
      `check ${base}/health answered 404, expected 200`,
    );
  });

  it("a 302 fails a check that expects 200, and its redirect is not followed", async () => {
    const { base, hits } = await app({ "/health": 302, "/ok": 200 });
    await expect(runChecks([{ url: `${base}/health`, status: 200, timeoutMs: 5000 }])).rejects.toThrow(
      `check ${base}/health answered 302, expected 200`,
    );
    expect(hits).toEqual(["/health"]);
  });

  it("a 302 passes a check that names 302 (the redirect itself is what it checks)", async () => {
    const { base, hits } = await app({ "/login": 302 });
    await expect(
      runChecks([{ url: `${base}/login`, status: 302, timeoutMs: 5000 }]),
    ).resolves.toBeUndefined();
    expect(hits).toEqual(["/login"]);
  });

  it("another 2xx than the one named fails; the one named passes", async () => {
    const { base } = await app({ "/created": 201, "/empty": 204 });
    await expect(runChecks([{ url: `${base}/created`, status: 200, timeoutMs: 5000 }])).rejects.toThrow(
      `check ${base}/created answered 201, expected 200`,
    );
    await expect(
      runChecks([
        { url: `${base}/created`, status: 201, timeoutMs: 5000 },
        { url: `${base}/empty`, status: 204, timeoutMs: 5000 },
      ]),
    ).resolves.toBeUndefined();
  });
});

describe("several checks", () => {
  it("fail when the last one fails, after the ones before it passed", async () => {
    const { base, hits } = await app({ "/a": 200, "/b": 200, "/c": 503 });
    await expect(
      runChecks([
        { url: `${base}/a`, status: 200, timeoutMs: 5000 },
        { url: `${base}/b`, status: 200, timeoutMs: 5000 },
        { url: `${base}/c`, status: 200, timeoutMs: 5000 },
      ]),
    ).rejects.toThrow(`check ${base}/c answered 503, expected 200`);
    expect(hits).toEqual(["/a", "/b", "/c"]);
  });

  it("fail when the second of three fails, and the third is not asked", async () => {
    const { base, hits } = await app({ "/a": 200, "/b": 404, "/c": 200 });
    await expect(
      runChecks([
        { url: `${base}/a`, status: 200, timeoutMs: 5000 },
        { url: `${base}/b`, status: 200, timeoutMs: 5000 },
        { url: `${base}/c`, status: 200, timeoutMs: 5000 },
      ]),
    ).rejects.toThrow(`check ${base}/b answered 404, expected 200`);
    expect(hits).toEqual(["/a", "/b"]);
  });
});

describe("why a check failed", () => {
  it("a connection the app resets is not reported as refused", async () => {
    const resetting = createTcpServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((r) => resetting.listen(0, "127.0.0.1", r));
    servers.push(resetting);
    const url = `http://127.0.0.1:${(resetting.address() as { port: number }).port}/health`;
    const err = (await runChecks([{ url, status: 200, timeoutMs: 5000 }]).catch((e) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`^check ${url} failed: `));
    expect(err.message).not.toContain("connection refused");
  });
});
