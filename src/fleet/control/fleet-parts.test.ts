/** The fleet's pure parts: unit command lines, nginx and HAProxy configs and logs, metrics, ids, the table. */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import { expectLine, haproxyConfig, parseHaproxyLog, parseShowStat } from "../balancing/haproxy.ts";
import { percentile, requestsPerTarget } from "../balancing/metrics.ts";
import { FAST_DEFAULTS } from "../balancing/target-health.ts";
import { nginxConf, parseNginxAccessLog, unitCommands } from "../instances/instance-files.ts";
import {
  belongsToFleet,
  fleetProcesses,
  instanceProcesses,
  isRunning,
  type ProcInfo,
  procStart,
  waitGone,
} from "../instances/processes.ts";
import type { FleetStatus, InstanceStatus } from "./controller.ts";
import { resolveInstanceId } from "./controller.ts";
import { launchTrouble, statusLines } from "./status-table.ts";

describe("an instance runs what the systemd units run", () => {
  it("muster-boot.service's ExecStartPre and ExecStart, with the instance root in place of /", () => {
    const c = unitCommands({
      node: "/usr/bin/node",
      muster: "/opt/muster/bin/muster.js",
      root: "/state/instances/i-1/root",
      gateFile: "/var/lib/muster/gate.json",
      deadline: 60,
    });
    expect(c.bootPre).toEqual(["/bin/rm", "-f", "/state/instances/i-1/root/var/lib/muster/gate.json"]);
    expect(c.boot).toEqual([
      "/usr/bin/node",
      "/opt/muster/bin/muster.js",
      "boot",
      "--root",
      "/state/instances/i-1/root",
    ]);
    expect(c.health).toEqual([
      "/usr/bin/node",
      "/opt/muster/bin/muster.js",
      "health",
      "serve",
      "--root",
      "/state/instances/i-1/root",
    ]);
  });
});

describe("nginx in front of an instance", () => {
  it("keeps every path under the prefix and serves the gate file at /ping.html", () => {
    const conf = nginxConf({
      hostRoot: "/s/r",
      address: "127.77.0.3",
      webPort: 8088,
      appPort: 8080,
      gateFile: "/srv/www/ping.html",
      user: "root",
    });
    expect(conf).toContain("listen 127.77.0.3:8088;");
    expect(conf).toContain("pid /s/r/var/lib/nginx/nginx.pid;");
    expect(conf).toContain(
      "location = /ping.html {\n      root /s/r/srv/www;\n      try_files /ping.html =503;",
    );
    expect(conf).toContain("proxy_pass http://127.77.0.3:8080;");
    for (const t of ["client", "proxy", "fastcgi", "uwsgi", "scgi"])
      expect(conf).toContain(`/s/r/var/lib/nginx/temp/${t};`);
    expect(conf).not.toMatch(/\s\/var\/(log|lib)\/nginx/);
    expect(parseNginxAccessLog('1767225600.123 127.0.0.1 "GET / HTTP/1.1" 200 "curl"\nnoise\n')).toEqual([
      { time: 1767225600123, request: "GET / HTTP/1.1", status: 200, userAgent: "curl" },
    ]);
  });
});

describe("HAProxy as the load balancer", () => {
  const where = { socket: "/s/admin.sock", logPort: 5514, host: "127.0.0.1", port: 18080, backend: "web" };
  it("health-checks the gate path, logs to the controller, listens on loopback", () => {
    const cfg = haproxyConfig({
      ...where,
      settings: { ...FAST_DEFAULTS, healthCheck: { ...FAST_DEFAULTS.healthCheck, path: "/ping.html" } },
      slots: [],
    });
    expect(cfg).toContain("option httpchk GET /ping.html");
    expect(cfg).toContain("http-check expect status 200");
    expect(cfg).toContain("bind 127.0.0.1:18080");
    expect(cfg).toContain("log 127.0.0.1:5514 len 2048 format raw local0");
    expect(expectLine("200-202,204")).toBe("http-check expect rstatus ^(200|201|202|204)$");
  });

  it("declares every server slot, a healthy target's in service, and retries a failed connection elsewhere", () => {
    const cfg = haproxyConfig({
      ...where,
      settings: { ...FAST_DEFAULTS, healthCheck: { ...FAST_DEFAULTS.healthCheck, port: 8081 } },
      slots: [
        { name: "slot1", address: "127.77.0.3:8080", enabled: true },
        { name: "slot2", address: "127.77.0.4:8080", enabled: false },
        { name: "slot3", enabled: false },
      ],
    });
    const backend = cfg.slice(cfg.indexOf("backend web"));
    expect(backend).toMatch(/^ {2}retries 3$/m);
    expect(backend).toMatch(/^ {2}option redispatch$/m);
    expect(backend).toContain(
      "  server slot1 127.77.0.3:8080 check inter 1000 fall 2 rise 2 port 8081\n" +
        "  server slot2 127.77.0.4:8080 check inter 1000 fall 2 rise 2 port 8081 disabled\n" +
        "  server slot3 127.0.0.1:1 check inter 1000 fall 2 rise 2 port 8081 disabled\n",
    );
  });

  it("turns its log lines and stats into access-log entries and server rows", () => {
    expect(
      parseHaproxyLog("1767225600.042 i-00000000000000003 127.77.0.3:8088 200 4 GET / 127.0.0.1"),
    ).toEqual({
      time: 1767225600042,
      method: "GET",
      path: "/",
      status: 200,
      targetId: "i-00000000000000003",
      target: "127.77.0.3:8088",
      durationMs: 4,
      clientAddress: "127.0.0.1",
    });
    expect(parseHaproxyLog("1767225600.042 <NOSRV> -:- 503 0 GET /x 127.0.0.1")).toMatchObject({
      targetId: null,
      status: 503,
      error: "no healthy target",
    });
    expect(parseHaproxyLog("garbage")).toBeUndefined();
    expect(parseShowStat("# pxname,svname,scur,status\nweb,i-1,0,DRAIN\nweb,BACKEND,0,UP\n")).toEqual([
      { pxname: "web", svname: "i-1", scur: "0", status: "DRAIN" },
      { pxname: "web", svname: "BACKEND", scur: "0", status: "UP" },
    ]);
  });
});

describe("metrics and names", () => {
  it("requests per healthy target in a sample period", () => {
    const e = [1, 5, 10, 11, 20].map((time) => ({ time }));
    expect(requestsPerTarget(e, 4, 11, 2)).toEqual({
      requests: 3,
      healthyTargets: 2,
      requestsPerTarget: 1.5,
    });
    expect(requestsPerTarget(e, 0, 100, 0).requestsPerTarget).toBeUndefined();
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
    expect(percentile([], 50)).toBeUndefined();
  });

  it("an instance is named by its id, its launch number (decimal), or the end of its id after i-", () => {
    const ids = ["i-00000000000000001", "i-0000000000000000a", "i-00000000000000011"];
    expect(resolveInstanceId("1", ids)).toBe("i-00000000000000001");
    expect(resolveInstanceId("10", ids)).toBe("i-0000000000000000a"); // the tenth
    expect(resolveInstanceId("17", ids)).toBe("i-00000000000000011"); // the seventeenth
    expect(resolveInstanceId("11", ids)).toBeUndefined(); // no eleventh
    expect(resolveInstanceId("i-a", ids)).toBe("i-0000000000000000a");
    expect(resolveInstanceId("i-11", ids)).toBe("i-00000000000000011");
    expect(resolveInstanceId("i-00000000000000011", ids)).toBe("i-00000000000000011");
    expect(resolveInstanceId("a", ids)).toBeUndefined();
    expect(resolveInstanceId("7", ids)).toBeUndefined();
    expect(resolveInstanceId("web-1", ids)).toBeUndefined();
  });
});

describe("the status table", () => {
  const inst = (over: Partial<InstanceStatus>): InstanceStatus => ({
    id: "i-00000000000000001",
    address: "127.77.0.1",
    state: "InService",
    health: "Healthy",
    targetState: "healthy",
    launchedAt: 0,
    root: "/r",
    bootId: "b",
    boot: { running: false, outcome: "open", appRevision: "abcdef0123", durationMs: 1500 },
    gate: { state: "open" },
    requests: 12,
    ...over,
  });
  it("one row per instance; terminated ones last with their cause", () => {
    const st = {
      group: {
        name: "web",
        min: 1,
        max: 4,
        desired: 2,
        counts: { InService: 1, Pending: 1 } as FleetStatus["group"]["counts"],
      },
      loadBalancer: { kind: "builtin", url: "http://127.0.0.1:1", targets: [] },
      gitServer: { url: "http://127.0.0.1:2", fault: { down: true } },
      instances: [
        inst({
          id: "i-00000000000000003",
          state: "Terminated",
          cause: "launch lifecycle action completed: ABANDON",
          boot: {
            running: false,
            outcome: "failed",
            failedStage: "fetch",
            lifecycle: { result: "ABANDON", ok: true },
          },
        }),
        inst({}),
        inst({
          id: "i-00000000000000002",
          address: "127.77.0.2",
          state: "Pending:Wait",
          targetState: undefined,
          gate: { state: "closed" },
          requests: 0,
          boot: {
            running: true,
            startedAt: 1000,
            stages: [{ stage: "fetch", attempt: 1, ok: true, durationMs: 5 }],
          },
        }),
      ],
    } as unknown as FleetStatus;
    const lines = statusLines(st, { now: 3500 });
    expect(lines[0]).toBe("fleet web: desired 2 (min 1, max 4), InService 1  faults: git server DOWN");
    expect(lines[3]).toMatch(
      /^i-00000000000000001 127\.77\.0\.1 +InService +healthy +open +12 +(-|v\d+|[0-9a-f]{8} [=!?]) +open, app abcdef0 in 1\.5 s$/,
    );
    expect(lines[4]).toMatch(
      /^i-00000000000000002 .*Pending:Wait +- +closed +0 +- +running 2\.5 s, fetch ok$/,
    );
    expect(lines[5]).toMatch(
      /^i-00000000000000003 .*Terminated +- +- .*FAILED at fetch \(ABANDON\) +\(launch lifecycle action completed: ABANDON\)$/,
    );
  });
  it("shows the five latest Terminated instances, and says how many more there are", () => {
    const gone = Array.from({ length: 7 }, (_, n) =>
      inst({ id: `i-0000000000000000${n + 1}`, state: "Terminated", terminatedAt: n }),
    );
    const st = {
      group: { name: "web", min: 1, max: 4, desired: 1, counts: { InService: 0 }, launchFailures: 0 },
      loadBalancer: { kind: "builtin", url: "http://127.0.0.1:1", targets: [] },
      gitServer: { url: "http://127.0.0.1:2" },
      instances: gone,
    } as unknown as FleetStatus;
    const lines = statusLines(st, { now: 10 });
    expect(lines[1]).toBe("load balancer http://127.0.0.1:1 (builtin)");
    expect(lines.filter((l) => l.startsWith("i-"))).toHaveLength(5);
    expect(lines.some((l) => l.startsWith("i-00000000000000007"))).toBe(true); // the latest first
    expect(lines.some((l) => l.startsWith("i-00000000000000001"))).toBe(false);
    expect(lines[lines.length - 1]).toBe("(2 more Terminated; `muster fleet status --json` has them all)");
  });

  it("the load balancer's process: its pid, and DOWN while it is gone", () => {
    const st = (lb: Partial<FleetStatus["loadBalancer"]>) =>
      ({
        group: { name: "web", min: 1, max: 4, desired: 1, counts: { InService: 0 }, launchFailures: 0 },
        loadBalancer: { kind: "haproxy", url: "http://127.0.0.1:1", targets: [], ...lb },
        gitServer: { url: "http://127.0.0.1:2" },
        instances: [],
      }) as unknown as FleetStatus;
    expect(statusLines(st({ state: "up", pid: 42, restarts: 0 }))[1]).toBe(
      "load balancer http://127.0.0.1:1 (haproxy, pid 42)",
    );
    expect(
      statusLines(st({ state: "down", pid: 42, restarts: 1, downSince: Date.UTC(2027, 0, 1, 12, 0, 5) }))[1],
    ).toBe(
      "load balancer http://127.0.0.1:1 (haproxy, pid 42) DOWN since 12:00:05, restarting, restarted 1x",
    );
    expect(statusLines(st({ state: "up", pid: 43, restarts: 1 }))[1]).toBe(
      "load balancer http://127.0.0.1:1 (haproxy, pid 43), restarted 1x",
    );
  });

  it("launch trouble: none below three failed launches in a row; then why the latest one ended", () => {
    const group = (launchFailures: number) =>
      ({ name: "web", min: 1, max: 4, desired: 1, counts: {}, launchFailures }) as FleetStatus["group"];
    const died = inst({
      id: "i-00000000000000004",
      state: "Terminated",
      launchedAt: 40,
      cause: "instance died: its init (the supervisor) exited with code 9",
      boot: { running: false },
    });
    const failed = inst({
      id: "i-00000000000000003",
      state: "Terminated",
      launchedAt: 30,
      boot: { running: false, outcome: "failed", failedStage: "role", error: 'no tag "Role"' },
    });
    const served = inst({ id: "i-00000000000000005", state: "Terminated", launchedAt: 50, inServiceAt: 60 });
    const st = (n: number, instances: InstanceStatus[]) =>
      ({ group: group(n), instances }) as unknown as FleetStatus;
    expect(launchTrouble(st(2, [died, failed]))).toBeUndefined();
    // the latest launch that never served, whatever the order of the list
    expect(launchTrouble(st(3, [failed, served, died]))).toEqual({
      message:
        "3 launches in a row ended before InService; the last, i-00000000000000004: instance died: its init (the supervisor) exited with code 9",
      instance: died,
    });
    expect(launchTrouble(st(4, [failed]))?.message).toBe(
      '4 launches in a row ended before InService; the last, i-00000000000000003: its boot failed at role: no tag "Role"',
    );
    expect(launchTrouble(st(3, []))).toEqual({
      message: "3 launches in a row ended before InService",
      instance: undefined,
    });
  });
});

describe("the fleet's processes, from /proc", () => {
  afterEach(() => cleanupTmp());
  it("finds what runs in an instance's root (not a sibling's), not what only names the state directory; by start time", async () => {
    const base = tmpDir();
    const state = path.join(base, "state");
    const sibling = path.join(base, "state2");
    mkdirSync(path.join(state, "instances/i-1/root"), { recursive: true });
    mkdirSync(path.join(sibling, "instances/i-1/root"), { recursive: true });
    writeFileSync(path.join(state, "daemon.log"), "");
    // detached: no terminal, as the fleet starts its processes
    const run = (args: string[], cwd: string) =>
      spawn(args[0]!, args.slice(1), { cwd, stdio: "ignore", detached: true });
    const ours = run(["sleep", "30"], path.join(state, "instances/i-1/root"));
    const theirs = run(["sleep", "30"], path.join(sibling, "instances/i-1/root"));
    // an operator watching the fleet's log from the state directory is not the fleet
    const watcher = run(["tail", "-f", path.join(state, "daemon.log")], state);
    try {
      await new Promise((r) => setTimeout(r, 100));
      const found = fleetProcesses(state).map((p) => p.pid);
      expect(found).toContain(ours.pid);
      expect(found).not.toContain(theirs.pid);
      expect(found).not.toContain(watcher.pid);
      expect(found).not.toContain(process.pid);
      const start = procStart(ours.pid!);
      expect(isRunning(ours.pid!, start)).toBe(true);
      expect(isRunning(ours.pid!, `${start}1`)).toBe(false); // a reused pid is another process
    } finally {
      for (const c of [ours, theirs, watcher]) c.kill("SIGKILL");
    }
    expect(await waitGone([{ pid: ours.pid!, role: "sleep" }], 5000)).toEqual([]);
    expect(fleetProcesses(state)).toEqual([]);
  });

  it("belongs to a fleet: its daemon, its services anywhere, detached processes on its roots; never one with a terminal", () => {
    const state = "/var/tmp/fleet";
    const p = (over: Partial<ProcInfo>): ProcInfo => ({
      pid: 10,
      ppid: 1,
      start: "1",
      state: "S",
      tty: false,
      argv: ["sleep", "1"],
      cwd: "/",
      ...over,
    });
    const root = `${state}/instances/i-1/root`;
    expect(
      belongsToFleet(
        p({ argv: ["node", "muster.js", "fleet", "up", "--foreground", "--state-dir", state] }),
        state,
      ),
    ).toBe(true);
    expect(
      belongsToFleet(
        p({ argv: ["node", "muster.js", "fleet", "up", "--foreground", "--state-dir", `${state}2`] }),
        state,
      ),
    ).toBe(false);
    expect(belongsToFleet(p({ musterRoot: root, cwd: "/elsewhere" }), state)).toBe(true);
    expect(belongsToFleet(p({ argv: ["node", "muster.js", "supervise", "--root", root] }), state)).toBe(true);
    expect(belongsToFleet(p({ argv: ["haproxy", "-f", `${state}/lb/haproxy.cfg`, "-D"] }), state)).toBe(true);
    expect(belongsToFleet(p({ cwd: `${root}/srv/app` }), state)).toBe(true);
    // what only names the state directory, or has a terminal, is someone's, not the fleet's
    expect(belongsToFleet(p({ argv: ["tail", "-f", `${state}/daemon.log`] }), state)).toBe(false);
    expect(belongsToFleet(p({ cwd: state }), state)).toBe(false);
    expect(belongsToFleet(p({ tty: true, cwd: root, argv: ["bash"] }), state)).toBe(false);
    expect(belongsToFleet(p({ tty: true, argv: ["less", `${root}/var/log/muster/boot.out`] }), state)).toBe(
      false,
    );
    // a fleet command (status, down) names it too, and is not the fleet
    expect(
      belongsToFleet(p({ argv: ["node", "muster.js", "fleet", "down", "--state-dir", state] }), state),
    ).toBe(false);
  });

  it("an instance's processes: the boot's git clone in a process group of its own is one of them", async () => {
    const state = tmpDir();
    const dir = path.join(state, "instances/i-1");
    const root = path.join(dir, "root");
    mkdirSync(root, { recursive: true });
    // as the boot runs git: detached (own group, no terminal), naming the instance's root
    const clone = spawn(
      process.execPath,
      ["-e", "setTimeout(() => {}, 30000)", "--", `${root}/var/lib/muster/config`],
      { stdio: "ignore", detached: true },
    );
    const neighbour = spawn(
      process.execPath,
      ["-e", "setTimeout(() => {}, 30000)", "--", `${state}/instances/i-10/root/var/lib/muster/config`],
      { stdio: "ignore", detached: true },
    );
    try {
      await new Promise((r) => setTimeout(r, 100));
      const found = instanceProcesses(dir, []).map((p) => p.pid);
      expect(found).toContain(clone.pid);
      expect(found).not.toContain(neighbour.pid); // i-10 is not i-1
      expect(found).not.toContain(process.pid);
    } finally {
      clone.kill("SIGKILL");
      neighbour.kill("SIGKILL");
    }
  });
});
