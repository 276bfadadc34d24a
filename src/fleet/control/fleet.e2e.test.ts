/**
 * The local fleet end to end, one fleet for the file (two `web` instances of the example repos,
 * muster's own load balancer with the fast preset): a scale-out serves the current code and no
 * request reaches an instance before its gate opened; a scale-out with the git server down fails
 * closed (ABANDON, replaced, never a request); steady traffic sees no failed request while
 * instances come and go; an instance's processes start with a service's environment, not the
 * fleet's (whose environment here carries a variable of its own and a CA bundle that does not
 * exist). Everything runs on 127.x; afterAll proves by pid that nothing is left.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitTo } from "../../demo/example-repos.ts";
import { BIN, cleanupTmp } from "../../test-support/tmp.ts";
import { startTraffic } from "../balancing/traffic.ts";
import { SYSTEMD_DEFAULT_PATH } from "../instances/instance-env.ts";
import { fleetProcesses, type PidRecord, stillRunning } from "../instances/processes.ts";
import { FleetController, type FleetStatus } from "./controller.ts";
import { gateOpenedAt, inService, readAccessLog, stable, testFleetConfig, until } from "./fleet-testing.ts";

let c: FleetController;
let stateDir: string;
const status = (): FleetStatus => c.status();

/**
 * Set in the fleet's (this process's) environment for the whole file. Node reads
 * NODE_EXTRA_CA_CERTS at start and warns on stderr when it cannot: a leak shows in a boot's log.
 */
const DAEMON_ONLY: Record<string, string> = {
  FLEET_TEST_LEAK: "leaked",
  NODE_EXTRA_CA_CERTS: "/nonexistent/muster-fleet-test/ca.pem",
};
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  for (const [k, v] of Object.entries(DAEMON_ONLY)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  const cfg = testFleetConfig(1, { instances: { environment: { FLEET_TEST_GIVEN: "given" } } });
  stateDir = cfg.stateDir;
  c = await FleetController.start(cfg, { musterBin: BIN });
  await until("two instances InService", () => stable(status(), 2), 60_000);
}, 90_000);

afterAll(async () => {
  let started: PidRecord[] = [];
  try {
    if (c) {
      started = c.startedProcesses().filter((p) => p.pid !== process.pid);
      const left = await c.shutdown();
      expect(left).toEqual([]);
    }
    // every process it ever started is gone (start times guard against reused pids)
    expect(stillRunning(started)).toEqual([]);
    if (stateDir) expect(fleetProcesses(stateDir)).toEqual([]);
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    cleanupTmp();
  }
}, 60_000);

/** A process's environment as the kernel holds it (/proc/<pid>/environ). */
function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean)) {
    const i = kv.indexOf("=");
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

describe("local fleet", () => {
  it("an instance's boot and init start with a service's environment, not the fleet's", () => {
    const ready = inService(status());
    expect(ready).toHaveLength(2);
    for (const i of ready) {
      // the boot (exited by now): node would have warned about the CA bundle in its output
      const bootOut = readFileSync(path.join(i.root, "var/log/muster/boot.out"), "utf8");
      expect(bootOut).not.toMatch(/extra certs/i);
      expect(i.boot.outcome).toBe("open");
      // the init (still running), spawned with the same environment as the boot
      const sup = c.startedProcesses().find((p) => p.role === `${i.id} supervisor`);
      expect(sup).toBeDefined();
      const env = environOf(sup!.pid);
      for (const k of Object.keys(DAEMON_ONLY)) expect(env).not.toHaveProperty(k);
      expect(env.FLEET_TEST_GIVEN).toBe("given"); // fleet.yaml's instances.environment
      expect(env.MUSTER_BOOT_ID).toBe(i.bootId);
      expect(env.HOME).toBe(path.join(i.root, "root"));
      expect(env.PATH!.endsWith(SYSTEMD_DEFAULT_PATH)).toBe(true);
      expect(readFileSync(path.join(i.root, "var/log/muster/supervisor.out"), "utf8")).not.toMatch(
        /extra certs/i,
      );
    }
  });

  it("scale-out serves current code: a new commit plus one more instance; no request before its gate opened", async () => {
    const appGit = path.join(stateDir, "repos/app.git");
    const rev = await commitTo(
      appGit,
      { "public/index.html": "<p>release 2: {{revision}}</p>\n" },
      "release 2",
    );
    const before = new Set(status().instances.map((i) => i.id));
    const oldRevisions = new Set(inService(status()).map((i) => i.boot.appRevision));
    expect(oldRevisions.has(rev)).toBe(false);

    // traffic all along: a target that got requests too early would show in the access log
    const traffic = startTraffic(c.lb.url, { clients: 2 });
    c.scale(3);
    const st = await until("the third instance InService", () => stable(status(), 3) && status());
    const fresh = st.instances.find((i) => !before.has(i.id) && i.state === "InService")!;
    expect(fresh).toBeDefined();
    await until(
      "the new instance to serve requests",
      () => (status().instances.find((i) => i.id === fresh.id)?.requests ?? 0) >= 5,
      20_000,
    );
    const t = await traffic.stop();
    expect(t.failed).toBe(0);

    const now = status().instances.find((i) => i.id === fresh.id)!;
    expect(now.boot.outcome).toBe("open");
    expect(now.boot.appRevision).toBe(rev);
    // through the load balancer: the new revision is served, by the new instance only
    const revisions = new Set(t.records.map((r) => r.revision));
    expect([...revisions].some((r) => r && rev.startsWith(r))).toBe(true);

    const opened = gateOpenedAt(now)!;
    expect(opened).toBeGreaterThan(fresh.launchedAt);
    const served = readAccessLog(c.lb.accessLogPath).filter((e) => e.targetId === fresh.id);
    expect(served.length).toBeGreaterThan(0);
    const early = served.filter((e) => e.time < opened);
    expect(early).toEqual([]);
    // ... and requests were flowing to the others while it booted (the check above meant something)
    expect(
      readAccessLog(c.lb.accessLogPath).filter((e) => e.time > fresh.launchedAt && e.time < opened).length,
    ).toBeGreaterThan(0);
  }, 90_000);

  it("fails closed: with the git server down a new instance never gets a request, ABANDONs and is replaced", async () => {
    const attempts = c.cfg.instances.boot.attempts;
    const traffic = startTraffic(c.lb.url, { clients: 2 });
    await c.fault({ kind: "git-down" });
    const before = new Set(status().instances.map((i) => i.id));
    c.scale(4);
    const abandonedOf = (st: FleetStatus) =>
      st.instances.find(
        (i) => !before.has(i.id) && i.state === "Terminated" && /ABANDON/.test(i.cause ?? ""),
      );
    const first = await until("the new instance to be abandoned", () => abandonedOf(status()), 60_000);
    await c.fault({ kind: "git-up" });
    const st = await until("four instances InService again", () => stable(status(), 4) && status(), 90_000);
    const t = await traffic.stop();
    expect(t.failed).toBe(0);

    // the boot gave up after its retries and sent ABANDON itself (the emulator's recorded calls)
    const calls = c.autoscaling.calls.filter(
      (x) => x.action === "CompleteLifecycleAction" && x.params.InstanceId === first.id && x.status === 200,
    );
    expect(calls.map((x) => x.params.LifecycleActionResult)).toEqual(["ABANDON"]);
    const ab = st.instances.find((i) => i.id === first.id)!;
    expect(ab.boot.outcome).toBe("failed");
    expect(ab.boot.failedStage).toBe("fetch");
    expect(ab.boot.attempts).toBe(attempts);
    expect(ab.boot.stages?.filter((s) => s.stage === "fetch" && !s.ok)).toHaveLength(attempts);
    expect(ab.gate.state).not.toBe("open");
    // never registered, never a request: not in the access log, no target state ever
    const log = readAccessLog(c.lb.accessLogPath);
    const failedOnes = st.instances.filter((i) => !before.has(i.id) && i.state === "Terminated");
    expect(failedOnes.length).toBeGreaterThanOrEqual(1);
    for (const i of failedOnes) {
      expect(i.requests).toBe(0);
      expect(i.targetState).toBeUndefined();
      expect(log.filter((e) => e.targetId === i.id)).toEqual([]);
    }
    // the replacement that went InService came after it, once git was back
    const replacement = inService(st).find((i) => !before.has(i.id))!;
    expect(replacement).toBeDefined();
    expect(replacement.launchedAt).toBeGreaterThanOrEqual(first.launchedAt);
    expect(replacement.boot.outcome).toBe("open");
    expect(
      c.autoscaling.calls.some(
        (x) => x.params.InstanceId === replacement.id && x.params.LifecycleActionResult === "CONTINUE",
      ),
    ).toBe(true);
  }, 150_000);

  it("zero errors: steady traffic during a scale-out and a scale-in sees no failed request", async () => {
    const before = new Set(status().instances.map((i) => i.id));
    const count = inService(status()).length;
    const traffic = startTraffic(c.lb.url, { clients: 4 });
    c.scale(count + 1);
    await until("scale-out", () => stable(status(), count + 1), 60_000);
    c.scale(2);
    await until("scale-in to 2", () => stable(status(), 2), 60_000);
    await new Promise((r) => setTimeout(r, 300));
    const t = await traffic.stop();
    const st = status();
    const launched = st.instances.filter((i) => !before.has(i.id));
    const drained = st.instances.filter(
      (i) => before.has(i.id) && i.state === "Terminated" && /scale-in/.test(i.cause ?? ""),
    );
    expect(launched.length).toBe(1);
    expect(drained.length).toBe(count - 1);
    // the ones that left had served traffic in this test, so they were drained under load
    expect(drained.every((i) => (i.lastRequestAt ?? 0) > t.records[0]!.time)).toBe(true);
    expect(t.requests).toBeGreaterThan(100);
    expect(t.failures).toEqual([]);
    expect(t.failed).toBe(0);
  }, 150_000);
});
