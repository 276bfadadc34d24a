/**
 * When a start counts as done: a supervisor run in this process with a settle time (20 s) longer
 * than these tests wait, so only "it listens" can end a start early.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { supervisorRequest } from "./supervisor-client.ts";
import { runSupervisor } from "./supervisor-daemon.ts";
import { definitionText } from "./supervisor-policy.ts";

const running: { root: string; done: Promise<void> }[] = [];
const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
const ownListeners = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
afterEach(async () => {
  for (const r of running.splice(0)) {
    // a start still settling holds up a shutdown: end its process group first
    const services = await supervisorRequest(r.root, { op: "status" }, 10_000).catch(() => undefined);
    for (const st of Object.values(services?.services ?? {}))
      if (st.pid)
        try {
          process.kill(-st.pid, "SIGKILL");
        } catch {}
    await supervisorRequest(r.root, { op: "shutdown" }, 10_000).catch(() => {});
    await r.done;
  }
  // the supervisor, run in this process, listens for signals as its own process would
  for (const s of SIGNALS)
    for (const l of process.listeners(s)) if (!ownListeners.get(s)!.includes(l)) process.off(s, l);
});
afterAll(cleanupTmp);

async function supervisor(services: Record<string, string[]>): Promise<string> {
  const root = tmpDir("muster-settle-");
  mkdirSync(path.join(root, "etc/muster/services"), { recursive: true });
  for (const [name, command] of Object.entries(services))
    writeFileSync(
      path.join(root, `etc/muster/services/${name}.json`),
      definitionText({ command, restart: "on-failure" }),
    );
  const done = runSupervisor({ root, startSettleMs: 20_000 });
  running.push({ root, done });
  for (let i = 0; i < 200; i++) {
    try {
      await supervisorRequest(root, { op: "ping" }, 1000);
      return root;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error("the supervisor did not answer");
}

const SERVER = `require("net").createServer().listen(0, "127.0.0.1"); setInterval(() => {}, 1000);`;

describe.runIf(process.platform === "linux")("a start is done", () => {
  it("as soon as the service listens on a TCP port, long before the settle time", async () => {
    const root = await supervisor({ web: [process.execPath, "-e", SERVER] });
    const res = await supervisorRequest(root, { op: "start", name: "web" }, 10_000);
    expect(res.services.web?.state).toBe("running");
  }, 40_000);

  it("not before the settle time for a service that never listens (or when it exits)", async () => {
    const root = await supervisor({ worker: ["sh", "-c", "sleep 3; exit 5"] });
    let answered = false;
    const start = supervisorRequest(root, { op: "start", name: "worker" }, 30_000).finally(() => {
      answered = true;
    });
    start.catch(() => {});
    await new Promise((r) => setTimeout(r, 1500));
    expect(answered).toBe(false);
    await expect(start).rejects.toThrow(/service worker exited with code 5 right after it started/);
  });

  it("a service that dies before it listens still fails its start", async () => {
    const root = await supervisor({ bad: ["sh", "-c", "echo 'no config' >&2; exit 4"] });
    await expect(supervisorRequest(root, { op: "start", name: "bad" }, 30_000)).rejects.toThrow(
      /service bad exited with code 4 right after it started: no config/,
    );
  });
});
