/**
 * Builtin services with the real supervisor: muster's health endpoint served inside the
 * supervisor's process (no node process of its own) with the flags of `muster health serve`,
 * started with the supervisor when enabled, stopped, started again, gone with the supervisor;
 * bad flags fail the start with one clear line.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openGate } from "../gate/gate-file.ts";
import { RootFs } from "../host/root-fs.ts";
import { BIN, cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import {
  ensureSupervisor,
  stopSupervisor,
  supervisorRequest,
  supervisorStatus,
} from "./supervisor-client.ts";
import { definitionText, type ServiceDefinition } from "./supervisor-policy.ts";

const BOOT_ID = "b0000000-0000-0000-0000-000000000001";
const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((r) => stopSupervisor(r).catch(() => false)));
});
afterAll(cleanupTmp);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function healthRoot(args: string[], enabled: boolean): string {
  const root = tmpDir("muster-sv-builtin-");
  roots.push(root);
  mkdirSync(path.join(root, "etc/muster/services/enabled"), { recursive: true });
  writeFileSync(
    path.join(root, "etc/muster/boot.json"),
    JSON.stringify({ repo: { url: "/srv/git/config.git" }, gate: { file: "/var/lib/muster/gate.json" } }),
  );
  const def: ServiceDefinition = {
    description: "muster health endpoint",
    command: [process.execPath, BIN, "health", "serve", "--root", root, ...args],
    environment: { MUSTER_BOOT_ID: BOOT_ID },
    restart: "always",
    builtin: "health",
  };
  writeFileSync(path.join(root, "etc/muster/services/muster-health.json"), definitionText(def));
  if (enabled) writeFileSync(path.join(root, "etc/muster/services/enabled/muster-health"), "");
  return root;
}

async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function statusCode(url: string): Promise<number | "refused"> {
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    return res.status;
  } catch {
    return "refused";
  }
}

describe("the health endpoint as a builtin service of the supervisor", () => {
  it("starts with the supervisor, in its process, and answers for the gate of this boot", async () => {
    const port = await freePort();
    const root = healthRoot(["--port", String(port), "--host", "127.0.0.1"], true);
    await ensureSupervisor(root);
    const supervisorPid = JSON.parse(readFileSync(path.join(root, "run/muster/supervisor.json"), "utf8")).pid;
    const st = await until("muster-health running", async () => {
      const s = (await supervisorStatus(root))?.["muster-health"];
      return s?.state === "running" ? s : undefined;
    });
    expect(st.pid).toBe(supervisorPid); // no process of its own
    const url = `http://127.0.0.1:${port}/health`;
    expect(await statusCode(url)).toBe(503);
    openGate(new RootFs(root), "/var/lib/muster/gate.json", {
      gate: "open",
      bootId: BOOT_ID,
      role: "web",
      runId: "r1",
      openedAt: new Date().toISOString(),
    });
    expect(await statusCode(url)).toBe(200);

    const stopped = (await supervisorRequest(root, { op: "stop", name: "muster-health" })).services[
      "muster-health"
    ];
    expect(stopped).toMatchObject({ state: "stopped" });
    expect(stopped?.pid).toBeUndefined();
    expect(await statusCode(url)).toBe("refused");
    const again = (await supervisorRequest(root, { op: "restart", name: "muster-health" })).services[
      "muster-health"
    ];
    expect(again).toMatchObject({ state: "running", pid: supervisorPid, starts: 2 });
    expect(await statusCode(url)).toBe(200);

    await stopSupervisor(root);
    expect(await statusCode(url)).toBe("refused");
  });

  it("bad flags fail the start with one line naming the service", async () => {
    const root = healthRoot(["--bogus"], false);
    await ensureSupervisor(root);
    await expect(supervisorRequest(root, { op: "start", name: "muster-health" })).rejects.toThrow(
      /^service muster-health: health serve --root \S+ --bogus: error: unknown option '--bogus'$/,
    );
    expect((await supervisorStatus(root))?.["muster-health"]?.state).toBe("failed");
  });

  it("a port that is taken fails the start", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    try {
      const port = (taken.address() as { port: number }).port;
      const root = healthRoot(["--port", String(port), "--host", "127.0.0.1"], false);
      await ensureSupervisor(root);
      await expect(supervisorRequest(root, { op: "start", name: "muster-health" })).rejects.toThrow(
        `service muster-health: health endpoint: cannot listen on 127.0.0.1:${port}`,
      );
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
