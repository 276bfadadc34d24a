/**
 * `muster watch` as the group terminates its instance. Once CONTINUE is taken, Auto Scaling ends the
 * instance at once: its shutdown stops muster-watch.service with SIGTERM, which can arrive before the
 * watch has recorded CONTINUE's answer. Here the SIGTERM is sent at the worst moment, while the
 * emulator handles CompleteLifecycleAction and before it answers, and the record must still end
 * "done" with the lifecycle step in it (a watch that dies on SIGTERM leaves it "running").
 */
import { spawn } from "node:child_process";
import { getEventListeners } from "node:events";
import { readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openGate } from "../gate/gate-file.ts";
import { RootFs } from "../host/root-fs.ts";
import { BIN, cleanupTmp } from "../test-support/tmp.ts";
import type { DepartureRecord } from "./departure-record.ts";
import {
  BOOT_ID,
  type BootFixture,
  bootFixture,
  exampleBareRepos,
  GATE_FILE,
  GROUP,
  INSTANCE_ID,
} from "./testing/fixture.ts";
import { sleep } from "./watch.ts";

const TERMINATE_HOOK = "terminate-hook";
let fx: BootFixture;

beforeAll(async () => {
  fx = await bootFixture(await exampleBareRepos());
  // the instance served and is now leaving: its launch action is long done
  fx.asg.cancelLifecycleActions(INSTANCE_ID);
  fx.asg.putLifecycleHook({
    group: GROUP,
    hook: TERMINATE_HOOK,
    transition: "autoscaling:EC2_INSTANCE_TERMINATING",
    heartbeatTimeoutMs: 60_000,
  });
  fx.asg.setInstance({ instanceId: INSTANCE_ID, group: GROUP, lifecycleState: "InService" });
});

beforeEach(() => {
  rmSync(path.join(fx.root, "var/lib/muster/departure.json"), { force: true });
  fx.asg.cancelLifecycleActions(INSTANCE_ID);
  fx.asg.startLifecycleAction({ group: GROUP, hook: TERMINATE_HOOK, instanceId: INSTANCE_ID });
  fx.asg.setInstance({ instanceId: INSTANCE_ID, group: GROUP, lifecycleState: "Terminating:Wait" });
  fx.meta.updateInstance(INSTANCE_ID, { targetLifecycleState: "Terminated" });
});

function writeConfig(drain: Record<string, unknown>): void {
  fx.writeConfig({
    ...fx.baseConfig(),
    lifecycle: { terminateHook: TERMINATE_HOOK, heartbeatInterval: 0.2 },
    drain,
    watch: { interval: 0.1 },
  });
}

const departure = (): DepartureRecord | undefined => {
  try {
    return JSON.parse(readFileSync(path.join(fx.root, "var/lib/muster/departure.json"), "utf8"));
  } catch {
    return undefined;
  }
};

afterAll(async () => {
  await fx?.close();
  cleanupTmp();
});

/**
 * Run `muster watch` to its exit; `onComplete` sees CompleteLifecycleAction before the emulator
 * answers it, `onStart` the child as it starts.
 */
function watchUntilExit(
  onComplete: (pid: number) => void,
  onStart: (pid: number) => void = () => {},
): Promise<{ code: number | null; signal: string | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "watch", "--root", fx.root, "--boot-id", BOOT_ID], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    const off = fx.asg.onComplete(() => onComplete(child.pid!));
    onStart(child.pid!);
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      off();
      resolve({ code, signal, out, ms: Date.now() - started });
    });
  });
}

describe("muster watch", () => {
  it("SIGTERM as CONTINUE is taken: the record still says done, with the lifecycle step", async () => {
    writeConfig({ timeout: 1 });
    let signalled = 0;
    const run = await watchUntilExit((pid) => {
      signalled++;
      process.kill(pid, "SIGTERM"); // the instance's shutdown, before the answer reaches the watch
    });
    expect(signalled).toBe(1);
    expect(run.signal, run.out).toBeNull();
    expect(run.code, run.out).toBe(0);
    const record = departure()!;
    expect(record.outcome).toBe("done");
    expect(record.steps.map((s) => [s.step, s.ok])).toEqual([
      ["close-gate", true],
      ["drain", true],
      ["shutdown", true],
      ["lifecycle", true],
    ]);
    expect(record.lifecycle).toMatchObject({ hook: TERMINATE_HOOK, result: "CONTINUE", ok: true });
    expect(fx.completions("CONTINUE").map((c) => c.params.LifecycleHookName)).toEqual([TERMINATE_HOOK]);
  }, 60_000);

  it("SIGTERM during the drain: the watch ends at once, recorded as stopped there; no CONTINUE", async () => {
    // a server that served (its gate open for this boot) with a connection still open to its app
    const host = `127.88.${(process.pid % 254) + 1}.7`;
    const server = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => server.listen(0, host, r));
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, host);
    await new Promise<void>((r, j) => client.once("connect", () => r()).once("error", j));
    try {
      openGate(new RootFs(fx.root), GATE_FILE, {
        gate: "open",
        bootId: BOOT_ID,
        role: "web",
        runId: "r-1",
        openedAt: new Date().toISOString(),
      });
      writeConfig({ timeout: 600, port, address: host });
      const before = fx.completions().length;
      let timer: NodeJS.Timeout | undefined;
      const run = await watchUntilExit(
        () => {},
        (pid) => {
          // SIGTERM once the drain is under way (the gate closed, the connection still open)
          timer = setInterval(() => {
            if (departure()?.steps.some((s) => s.step === "close-gate")) {
              clearInterval(timer);
              process.kill(pid, "SIGTERM");
            }
          }, 50);
        },
      );
      clearInterval(timer);
      expect(run.signal, run.out).toBeNull();
      expect(run.code, run.out).toBe(1);
      expect(run.ms).toBeLessThan(20_000); // not the drain's 600 s
      const record = departure()!;
      expect(record.outcome).toBe("failed");
      expect(record.error).toMatch(/^stopped \(SIGTERM\) before its wait-drain step$/);
      expect(record.steps.map((s) => s.step)).toEqual(["close-gate"]);
      expect(fx.completions().length).toBe(before);
    } finally {
      client.destroy();
      server.close();
    }
  }, 60_000);

  it("a spot notice, then the group terminating it through its hook: the hook is completed, the shutdown run once", async () => {
    writeConfig({ timeout: 1 });
    // EC2 announces the interruption while the group still has the instance InService
    fx.asg.cancelLifecycleActions(INSTANCE_ID);
    fx.asg.setInstance({ instanceId: INSTANCE_ID, group: GROUP, lifecycleState: "InService" });
    const notice = { action: "terminate" as const, time: new Date(Date.now() + 120_000).toISOString() };
    fx.meta.updateInstance(INSTANCE_ID, { targetLifecycleState: "InService", spotInstanceAction: notice });
    const before = fx.completions().length;
    let timer: NodeJS.Timeout | undefined;
    let spotDone: DepartureRecord | undefined;
    try {
      const run = await watchUntilExit(
        () => {},
        () => {
          timer = setInterval(() => {
            const d = departure();
            if (spotDone || d?.outcome !== "done") return;
            // the spot departure is over and the watch still runs: now the closed gate has failed
            // the load balancer's check, and the group terminates the instance through its hook
            spotDone = d;
            fx.asg.startLifecycleAction({ group: GROUP, hook: TERMINATE_HOOK, instanceId: INSTANCE_ID });
            fx.asg.setInstance({ instanceId: INSTANCE_ID, group: GROUP, lifecycleState: "Terminating:Wait" });
            fx.meta.updateInstance(INSTANCE_ID, { targetLifecycleState: "Terminated" });
          }, 50);
        },
      );
      expect(run.signal, run.out).toBeNull();
      expect(run.code, run.out).toBe(0);
      expect(spotDone?.steps.map((s) => s.step)).toEqual(["close-gate", "drain", "shutdown"]);
      expect(run.out).toContain("waiting for the group to terminate it");
      const record = departure()!;
      expect(record).toMatchObject({ reason: "spot", outcome: "done" });
      expect(record.steps.map((s) => [s.step, s.ok])).toEqual([
        ["close-gate", true],
        ["drain", true],
        ["shutdown", true],
        ["lifecycle", true],
      ]);
      expect(
        fx
          .completions()
          .slice(before)
          .map((c) => c.params.LifecycleHookName),
      ).toEqual([TERMINATE_HOOK]);
    } finally {
      clearInterval(timer);
      fx.meta.updateInstance(INSTANCE_ID, { spotInstanceAction: undefined });
    }
  }, 60_000);

  it("a poll's wait leaves no listener on the watch's stop signal (a watch polls for days)", async () => {
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, stop.signal);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
    const waiting = sleep(60_000, stop.signal);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(1);
    stop.abort();
    await waiting; // ends at once
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  });
});
