/**
 * The fleet through the real CLI: `muster fleet up` starts a detached daemon, `status`, `scale`,
 * `fault` and `events` drive and show it, and `muster fleet down` leaves no process behind
 * (checked by pid, with start times, and by scanning /proc for anything of the state directory).
 * Bad fleet.yaml files are refused with every problem named (exit 2), and `muster demo` keeps its
 * three promises within its time budget and leaves nothing running.
 */

import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { BIN, cleanupTmp, muster, tmpDir } from "../../test-support/tmp.ts";
import { allProcesses, fleetProcesses, isRunning, type PidRecord } from "../instances/processes.ts";
import { type FleetInfo, readFleetInfo } from "./control.ts";
import type { FleetStatus } from "./controller.ts";
import { type AddressRange, addressAt, parseAddressRange } from "./fleet-config.ts";
import { testFleetYaml, until } from "./fleet-testing.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f().catch(() => {});
  cleanupTmp();
}, 60_000);

function fleetFile(
  salt: number,
  overrides: Record<string, unknown> = {},
): { file: string; stateDir: string } {
  const dir = tmpDir("muster-fleet-cli-");
  const stateDir = path.join(dir, "state");
  const file = path.join(dir, "fleet.yaml");
  writeFileSync(file, YAML.stringify({ ...testFleetYaml(salt, overrides), stateDir: "state" }));
  return { file, stateDir };
}

describe("muster fleet (CLI)", () => {
  it("up, status, scale, fault, events, and down leaves no process behind (checked by pid)", async () => {
    const { file, stateDir } = fleetFile(4, { group: { desired: 1 } });
    cleanups.push(() => muster(["fleet", "down", "--state-dir", stateDir]));
    const up = await muster(["fleet", "up", "--config", file, "--wait", "--timeout", "90"], {
      timeoutMs: 120_000,
    });
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/load balancer http:\/\/127\.0\.0\.1:\d+/);
    // its hints find this fleet, not the default one
    expect(up.stdout).toContain(`\`muster fleet down --state-dir ${stateDir}\``);
    const info = readFleetInfo(stateDir)!;
    expect(isRunning(info.pid, info.pidStart)).toBe(true);

    // a second fleet on the same state directory is refused
    const again = await muster(["fleet", "up", "--config", file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("a fleet already runs");

    const res = await fetch(info.loadBalancer);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-app-revision")).toMatch(/^[0-9a-f]{7,}$/);

    // outside [min, max]: refused, as SetDesiredCapacity refuses it, not clamped
    const tooMany = await muster(["fleet", "scale", "7", "--config", file]);
    expect([tooMany.code, tooMany.stderr]).toEqual([
      2,
      "muster: fleet scale 7: above the group's max 6; scale within [1, 6], or change group.min/max in fleet.yaml\n",
    ]);
    const scale = await muster(["fleet", "scale", "2", "--config", file]);
    expect(scale.stdout).toContain("desired capacity 1 -> 2");
    const st = await until(
      "two instances InService",
      async () => {
        const r = await muster(["fleet", "status", "--json", "--state-dir", stateDir]);
        const s = JSON.parse(r.stdout) as FleetStatus;
        return (
          s.instances.filter((i) => i.state === "InService" && i.targetState === "healthy").length === 2 && s
        );
      },
      60_000,
    );
    const table = await muster(["fleet", "status", "--state-dir", stateDir]);
    expect(table.stdout).toMatch(/i-00000000000000002 +127\.77\.\d+\.2 +InService +healthy +open/);

    const kill = await muster(["fleet", "fault", "kill", "1", "--state-dir", stateDir]);
    expect(kill.code).toBe(0);
    await until(
      "the killed instance replaced",
      async () => {
        const s = JSON.parse(
          (await muster(["fleet", "status", "--json", "--state-dir", stateDir])).stdout,
        ) as FleetStatus;
        return (
          s.instances.find((i) => i.id === "i-00000000000000001")?.state === "Terminated" &&
          s.instances.filter((i) => i.state === "InService" && i.targetState === "healthy").length === 2
        );
      },
      60_000,
    );
    const bad = await muster(["fleet", "fault", "git-slow", "--state-dir", stateDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("give the delay in milliseconds");
    // longer than a timer can wait (Node would fire it at once): refused, not a fault of 1 ms
    const huge = await muster(["fleet", "fault", "git-slow", "99999999999", "--state-dir", stateDir]);
    expect([huge.code, huge.stderr]).toEqual([
      2,
      "muster: fleet fault git-slow: 99999999999 ms is more than an hour; give at most 3600000 (0 clears it)\n",
    ]);
    // a terminated instance takes no fault, as EC2 takes no action on one
    const gone = await muster(["fleet", "fault", "break-health", "1", "--state-dir", stateDir]);
    expect([gone.code, gone.stderr]).toEqual([
      2,
      "muster: i-00000000000000001 is Terminated; `muster fleet status` lists the running instances\n",
    ]);
    const events = await muster(["fleet", "events", "--state-dir", stateDir]);
    expect(events.stdout).toMatch(/i-00000000000000001 +transition +InService -> Terminating: instance died/);
    expect(events.stdout).toMatch(/i-00000000000000003 +transition +Pending:Proceed -> InService/);

    // every process of the fleet, as /proc shows it right now, and every one it recorded
    const now = await muster(["fleet", "status", "--json", "--state-dir", stateDir]);
    const recorded = (JSON.parse(now.stdout) as FleetStatus).processes;
    const seen = fleetProcesses(stateDir, info.pid).map((p) => ({
      pid: p.pid,
      start: p.start,
      role: p.argv.join(" "),
    }));
    // daemon, 2 x (supervisor, app) at least; the health endpoint is served by the supervisor
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(seen.some((p) => p.pid === info.pid)).toBe(true);
    expect(st.processes.length).toBeGreaterThan(0);

    const down = await muster(["fleet", "down", "--config", file], { timeoutMs: 120_000 });
    expect(down.stderr).toBe("");
    expect(down.stdout).toMatch(/down; \d+ processes were started, none is left/);
    expect(down.code).toBe(0);
    const all: PidRecord[] = [...seen, ...recorded, { pid: info.pid, start: info.pidStart, role: "daemon" }];
    expect(all.filter((p) => isRunning(p.pid, p.start))).toEqual([]);
    expect(fleetProcesses(stateDir)).toEqual([]);
    const pids = JSON.parse(readFileSync(path.join(stateDir, "pids.json"), "utf8")) as PidRecord[];
    expect(pids.length).toBeGreaterThanOrEqual(all.length - seen.length);
    expect(pids.filter((p) => isRunning(p.pid, p.start))).toEqual([]);
    expect(existsSync(info.socket)).toBe(false);
    expect(readFleetInfo(stateDir)?.stoppedAt).toBeDefined();

    const status = await muster(["fleet", "status", "--state-dir", stateDir]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain("no fleet runs with state directory");
  }, 240_000);

  it("up --wait stops waiting after three launches in a row fail, and says why the last did", async () => {
    // no instance has the tag the role is read from: every boot fails at its role stage
    const { file, stateDir } = fleetFile(5, {
      group: { desired: 1 },
      role: { source: "tag:NoSuchTag" },
      instances: {
        addresses: testFleetYaml(5).instances.addresses,
        boot: { attempts: 1 },
        metadataTags: true,
      },
    });
    cleanups.push(() => muster(["fleet", "down", "--state-dir", stateDir]));
    const started = Date.now();
    const up = await muster(["fleet", "up", "--config", file, "--wait", "--timeout", "90"], {
      timeoutMs: 120_000,
    });
    expect(up.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000); // not the 90 s timeout
    const lines = up.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^muster: 3 launches in a row ended before InService; the last, i-\d+: its boot failed at role: .*NoSuchTag.* \(logs: .*\/var\/log\/muster\); the fleet stays up: /,
    );
    // the hints find this fleet: its state directory is not the default one
    expect(lines[0]).toContain(
      `the fleet stays up: \`muster fleet events --state-dir ${stateDir}\`, \`muster fleet down --state-dir ${stateDir}\``,
    );
    // it does stay up, and goes on launching
    const st = JSON.parse(
      (await muster(["fleet", "status", "--json", "--state-dir", stateDir])).stdout,
    ) as FleetStatus;
    expect(st.group.launchFailures).toBeGreaterThanOrEqual(3);
    expect((await muster(["fleet", "down", "--state-dir", stateDir])).code).toBe(0);
  }, 180_000);

  it("a daemon that died is said so, and down stops what it left and records the stop", async () => {
    const stateDir = tmpDir("muster-fleet-dead-");
    const info: FleetInfo = {
      pid: 2 ** 22 + 12345, // no such process
      pidStart: "1",
      startedAt: new Date().toISOString(),
      stateDir,
      source: "(test)",
      socket: path.join(stateDir, "control.sock"),
      loadBalancer: "http://127.0.0.1:1",
    };
    writeFileSync(path.join(stateDir, "fleet.json"), JSON.stringify(info));
    const status = await muster(["fleet", "status", "--state-dir", stateDir]);
    expect([status.code, status.stderr]).toEqual([
      1,
      `muster: the fleet daemon of ${stateDir} (pid ${info.pid}) is gone without being stopped; \`muster fleet down --state-dir ${stateDir}\` stops what it left running\n`,
    ]);
    expect((await muster(["fleet", "down", "--state-dir", stateDir])).code).toBe(0);
    expect(readFleetInfo(stateDir)?.stoppedAt).toBeDefined();
    const after = await muster(["fleet", "status", "--state-dir", stateDir]);
    expect(after.stderr).toBe(
      `muster: no fleet runs with state directory ${stateDir}; start one with \`muster fleet up --config FLEET.yaml\` (the fleet.yaml whose stateDir this is)\n`,
    );
  });

  it("up again after its daemon was killed: what it left holds its addresses, and up stops it first", async () => {
    const { file, stateDir } = fleetFile(7, { group: { desired: 1 } });
    cleanups.push(() => muster(["fleet", "down", "--state-dir", stateDir]));
    expect((await muster(["fleet", "up", "--config", file, "--wait"], { timeoutMs: 120_000 })).code).toBe(0);
    const first = readFleetInfo(stateDir)!;
    process.kill(first.pid, "SIGKILL"); // its instances go on serving, on the fleet's addresses
    await until("the daemon gone", () => !isRunning(first.pid, first.pidStart), 10_000);
    const again = await muster(["fleet", "up", "--config", file, "--wait"], { timeoutMs: 120_000 });
    expect([again.code, again.stderr]).toEqual([0, ""]);
    expect(readFleetInfo(stateDir)!.pid).not.toBe(first.pid);
    expect((await muster(["fleet", "down", "--state-dir", stateDir])).code).toBe(0);
  }, 180_000);

  it("refuses an over-large fleet.yaml value in one line, before anything starts", async () => {
    const dir = tmpDir("muster-fleet-bounds-");
    const file = path.join(dir, "fleet.yaml");
    writeFileSync(
      file,
      YAML.stringify({
        repositories: { ref: "r".repeat(10 * 2 ** 20) },
        instances: { boot: { deadline: 1e308 } },
      }),
    );
    const r = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
    expect([r.code, r.stderr]).toEqual([
      2,
      `muster: ${file}: repositories.ref: must be at most 255 characters long\n` +
        `muster: ${file}: instances.boot.deadline: must be at most 172800 (got 1e+308)\n`,
    ]);
    expect(existsSync(path.join(dir, "state"))).toBe(false);
  });

  it("refuses a bad fleet.yaml with every problem named, and starts nothing", async () => {
    const dir = tmpDir("muster-fleet-bad-");
    const file = path.join(dir, "fleet.yaml");
    writeFileSync(
      file,
      YAML.stringify({
        group: { min: 3, max: 2, healthCheckType: "ALB", launchHook: { defaultResult: "MAYBE" } },
        repositories: { app: { dir: "nope", bare: "also-nope" } },
        instances: { addresses: "10.0.0.1-10.0.0.9", appPort: 8081 },
        loadBalancer: { host: "0.0.0.0", healthCheck: { interval: 1, timeout: 2 } },
        colour: "blue",
      }),
    );
    const r = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    for (const want of [
      'unknown field "colour"',
      "group.healthCheckType:",
      "group.launchHook.defaultResult:",
      "repositories.app:",
      "loadBalancer.host: must be a loopback address",
    ])
      expect(
        lines.some((l) => l.startsWith(`muster: ${file}: `) && l.includes(want)),
        want,
      ).toBe(true);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(existsSync(path.join(dir, "state"))).toBe(false);

    // once the shape is right, the cross-field rules are reported together
    writeFileSync(
      file,
      YAML.stringify({
        group: { min: 3, max: 2 },
        instances: { addresses: "10.0.0.1-10.0.0.9", appPort: 8081 },
        loadBalancer: { healthCheck: { interval: 1, timeout: 2 } },
      }),
    );
    const r2 = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
    expect(r2.code).toBe(2);
    for (const want of [
      "group.min: must not exceed max (3 > 2)",
      "instances.addresses:",
      "instances.healthPort: must differ from appPort (both 8081)",
      "loadBalancer.healthCheck.timeout: must be less than interval (2 s >= 1 s)",
    ])
      expect(r2.stderr, want).toContain(want);

    // NODE_OPTIONS that node refuses would kill every instance at launch: one line, nothing started
    // every fleet.yaml below names an address block of its own: a fleet running on the default
    // block (the user's own) must not change what these runs report
    const own = testFleetYaml(9).instances.addresses as string;
    writeFileSync(
      file,
      YAML.stringify({ instances: { addresses: own, environment: { NODE_OPTIONS: "--cpu-prof" } } }),
    );
    const r3 = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toBe(
      `muster: ${file}: instances.environment.NODE_OPTIONS: node refuses "--cpu-prof" (--cpu-prof is not allowed in NODE_OPTIONS); every instance would die at launch: leave that option out\n`,
    );
    expect(existsSync(path.join(dir, "state"))).toBe(false);

    // a role read from tags while tags are not in instance metadata fails every boot on AWS:
    // said up front, with the fix
    writeFileSync(file, YAML.stringify({ role: { source: "autoscaling-group" } }));
    const rt = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
    expect([rt.code, rt.stderr.trim().split("\n").length]).toEqual([2, 1]);
    expect(rt.stderr).toMatch(
      /^muster: .*fleet\.yaml: role\.source: autoscaling-group reads instance tags .*set instances\.metadataTags: true/,
    );
    expect(existsSync(path.join(dir, "state"))).toBe(false);

    // a state directory fleet up would clear, and it is not a fleet's: refused, left as it was
    // (the other refusals of a state directory: state-dir.test.ts)
    const mine = path.join(dir, "mine");
    mkdirSync(path.join(mine, "repos/config"), { recursive: true });
    mkdirSync(path.join(mine, "image/etc"), { recursive: true });
    writeFileSync(path.join(mine, "repos/config/keep.txt"), "mine\n");
    writeFileSync(file, YAML.stringify({ image: { dir: "mine/image" }, instances: { addresses: own } }));
    const r4 = await muster(["fleet", "up", "--config", file, "--state-dir", mine]);
    expect(r4.code).toBe(2);
    expect(r4.stderr.trim().split("\n")).toEqual([
      `muster: state directory ${mine}: not a fleet's (no fleet.json) but holds repos, image, which \`muster fleet up\` clears; give a new or empty directory`,
      `muster: ${file}: image.dir: ${path.join(mine, "image")} is inside the state directory's image, which \`muster fleet up\` clears; move it, or choose another stateDir`,
    ]);
    expect(readFileSync(path.join(mine, "repos/config/keep.txt"), "utf8")).toBe("mine\n");
    expect(readdirSync(mine).sort()).toEqual(["image", "repos"]);
    // an empty repository directory, a web server that is not installed: one line each
    mkdirSync(path.join(dir, "empty"));
    writeFileSync(
      file,
      YAML.stringify({
        repositories: { config: { dir: "empty" } },
        instances: { addresses: own, webServer: "nginx", nginx: "/nope/nginx" },
      }),
    );
    const r7 = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
    expect([r7.code, r7.stderr]).toEqual([
      2,
      `muster: ${file}: repositories.config.dir: ${path.join(dir, "empty")} is empty; a repository needs its files to commit\n`,
    ]);
    writeFileSync(
      file,
      YAML.stringify({ instances: { addresses: own, webServer: "nginx", nginx: "/nope/nginx" } }),
    );
    const r8 = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
    expect([r8.code, r8.stderr]).toEqual([
      2,
      `muster: ${file}: instances.nginx: /nope/nginx is no program on this machine; install it (Debian: apt-get install nginx-light) or give its path\n`,
    ]);
    expect(existsSync(path.join(dir, "state"))).toBe(false);
    // the other commands only need the state directory from it: gone repositories do not matter
    writeFileSync(file, YAML.stringify({ repositories: { config: { dir: "gone" } }, stateDir: "state" }));
    const down = await muster(["fleet", "down", "--config", file]);
    expect(down.code).toBe(0);

    // an address of its block taken (another fleet on the same block), not the first one even:
    // refused before anything starts
    const block = testFleetYaml(6).instances.addresses as string;
    const third = addressAt(parseAddressRange(block) as AddressRange, 2);
    const squatter = createServer().listen(0, third);
    await once(squatter, "listening");
    const port = (squatter.address() as AddressInfo).port;
    try {
      writeFileSync(file, YAML.stringify({ instances: { addresses: block, appPort: port } }));
      const r10 = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
      expect([r10.code, r10.stderr]).toEqual([
        2,
        `muster: ${file}: instances.addresses: ${third}:${port} (the appPort) is taken already, by another fleet or program; give this fleet an address block of its own (instances.addresses or --addresses: a range no other fleet uses, such as 127.77.N.1-127.77.N.254 with another N)\n`,
      ]);
      expect(existsSync(path.join(dir, "state"))).toBe(false);
    } finally {
      squatter.close();
    }
    writeFileSync(file, YAML.stringify({ image: { dir: "mine/image" }, instances: { addresses: own } }));

    // a directory where fleet.yaml should be
    const r6 = await muster(["fleet", "up", "--config", mine, "--state-dir", path.join(dir, "state")]);
    expect([r6.code, r6.stderr]).toEqual([
      2,
      `muster: --config ${mine}: a directory; pass the path of a fleet.yaml in it\n`,
    ]);
    // --timeout limits --wait, and means nothing without it
    const r9 = await muster([
      "fleet",
      "up",
      "--config",
      file,
      "--state-dir",
      path.join(dir, "state"),
      "--timeout",
      "5",
    ]);
    expect([r9.code, r9.stderr]).toEqual([
      2,
      "muster: --timeout 5: it limits --wait; add --wait, or leave --timeout out\n",
    ]);
    expect(existsSync(path.join(dir, "state"))).toBe(false);
  });

  it("finds ./fleet.yaml, takes --addresses, and status --watch prints one status per interval until Ctrl-C", async () => {
    const dir = tmpDir("muster-fleet-cwd-");
    const stateDir = path.join(dir, "state");
    const own = testFleetYaml(10).instances.addresses as string;
    // the file names no addresses: --addresses gives them
    const { instances: _, ...doc } = testFleetYaml(10, { group: { min: 0, desired: 1, max: 1 } });
    writeFileSync(path.join(dir, "fleet.yaml"), YAML.stringify({ ...doc, stateDir: "state" }));
    cleanups.push(() => muster(["fleet", "down", "--state-dir", stateDir]));
    const up = await muster(["fleet", "up", "--addresses", own, "--wait"], { cwd: dir, timeoutMs: 120_000 });
    expect([up.code, up.stderr]).toEqual([0, ""]);
    expect(up.stdout).toContain(`muster fleet: using ${path.join(dir, "fleet.yaml")}\n`);
    // status in the fleet.yaml's directory, no flags: this fleet, on the block --addresses gave
    const st = await muster(["fleet", "status", "--json"], { cwd: dir });
    expect(st.code, st.stderr).toBe(0);
    const status = JSON.parse(st.stdout) as FleetStatus;
    expect(status.stateDir).toBe(stateDir);
    expect(status.instances[0]?.address).toBe(addressAt(parseAddressRange(own) as AddressRange, 0));

    // --watch, not on a terminal: one whole status per interval, Ctrl-C ends it with exit 0
    const child = spawn(process.execPath, [BIN, "fleet", "status", "--watch", "--interval", "0.2"], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    const exited = once(child, "exit");
    try {
      await until(
        "three statuses",
        () => (text.match(/^muster fleet status at /gm) ?? []).length >= 3,
        20_000,
      );
    } finally {
      child.kill("SIGINT");
    }
    const [code] = (await Promise.race([
      exited,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("--watch did not stop on SIGINT")), 10_000),
      ),
    ])) as [number | null];
    expect(code).toBe(0);
    expect(text).not.toContain("\x1b[");
    expect(text).toMatch(/i-00000000000000001 +127\.77\.\d+\.1 +InService/);
    // --interval paces --watch only
    const bad = await muster(["fleet", "status", "--interval", "1"], { cwd: dir });
    expect([bad.code, bad.stderr]).toEqual([
      2,
      "muster: --interval 1: it paces --watch; add --watch, or leave --interval out\n",
    ]);

    const down = await muster(["fleet", "down"], { cwd: dir, timeoutMs: 120_000 });
    expect([down.code, down.stderr]).toEqual([0, ""]);
    expect(readFleetInfo(stateDir)?.stoppedAt).toBeDefined();
  }, 180_000);

  it("a default fleet whose address block is in use says which free block it takes instead", async () => {
    // the default block's last address, health port: taken here, or by a fleet already running
    const squatter = createServer().listen(8081, "127.77.0.254");
    await Promise.race([once(squatter, "listening"), once(squatter, "error")]);
    try {
      const dir = tmpDir("muster-fleet-moved-");
      // a program that is not there stops `up` after the block was picked: nothing starts
      const file = path.join(dir, "fleet.yaml");
      writeFileSync(file, YAML.stringify({ instances: { webServer: "nginx", nginx: "/nope/nginx" } }));
      const r = await muster(["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")]);
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(
        /^muster fleet: the default address block 127\.77\.0\.1-127\.77\.0\.254 is in use \(127\.77\.0\.\d+:\d+ \(the \w+\).*\); this fleet takes 127\.77\.(\d+)\.1-127\.77\.\1\.254 \(choose one with --addresses or instances\.addresses\)$/m,
      );
      expect(r.stderr).not.toContain("instances.addresses");
      expect(r.stderr).toContain("instances.nginx: /nope/nginx is no program");
      expect(existsSync(path.join(dir, "state"))).toBe(false);
      // a block that was chosen is refused, not moved
      const chosen = await muster([
        ...["fleet", "up", "--config", file, "--state-dir", path.join(dir, "state")],
        ...["--addresses", "127.77.0.1-127.77.0.254"],
      ]);
      expect(chosen.code).toBe(2);
      expect(chosen.stdout).toBe("");
      expect(chosen.stderr).toContain("instances.addresses: 127.77.0.");
      const badFlag = await muster(["fleet", "up", "--config", file, "--addresses", "10.0.0.1-10.0.0.9"]);
      expect([badFlag.code, badFlag.stderr]).toEqual([
        2,
        'muster: --addresses "10.0.0.1-10.0.0.9": instance addresses must be loopback (127.x.y.z)\n',
      ]);
    } finally {
      squatter.close();
    }
  });

  it("muster demo keeps its six promises well within two minutes and leaves nothing running", async () => {
    const before = new Set(allProcesses().map((p) => p.pid));
    const t0 = Date.now();
    const r = await muster(["demo"], { timeoutMs: 150_000 });
    const secs = (Date.now() - t0) / 1000;
    expect(r.stderr).toBe("");
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/load balancer: http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toContain("✓ new commit + scale-out");
    expect(r.stdout).toContain("✓ fail closed");
    expect(r.stdout).toContain("✓ zero errors");
    expect(r.stdout).toContain("✓ drained departure");
    expect(r.stdout).toContain("✓ instance refresh");
    expect(r.stdout).toContain("✓ auto rollback");
    expect(r.stdout).not.toContain("✗");
    // the figures behind them: every departed instance ran its shutdown run list and sent CONTINUE
    const departed =
      /✓ (\d+) of (\d+) departed instances wrote var\/log\/app\/departed \(shutdown run list\) and (\d+) completed the terminate hook with CONTINUE; 0 failed/.exec(
        r.stdout,
      );
    expect(departed).not.toBeNull();
    expect(Number(departed![2])).toBeGreaterThan(0);
    expect(new Set(departed!.slice(1))).toEqual(new Set([departed![2]]));
    expect(r.stdout).toMatch(
      /✓ refresh Successful after pausing at its 50% checkpoint: 2 of 2 instances on \w{7} .*, 0 failed/,
    );
    expect(r.stdout).toMatch(
      /✓ refresh RollbackSuccessful: \d+ instances? tried \w{7} and 0 went in service; 2 of 2 instances on \w{7}, the previous commit; \d+ requests, 0 failed/,
    );
    expect(r.stdout).toMatch(/none is left \(checked by pid\)/);
    // plain lines when not on a terminal: the instances' lifecycle as it happened
    expect(r.stdout).toMatch(
      /transition Pending:Wait -> Terminating: launch lifecycle action completed: ABANDON/,
    );
    expect(secs).toBeLessThan(90);
    const stateDir = /state in (\S+)/.exec(r.stdout)?.[1];
    expect(stateDir).toBeDefined();
    expect(existsSync(stateDir!)).toBe(false);
    const leftovers = allProcesses().filter(
      (p) => !before.has(p.pid) && p.argv.some((a) => a.includes(stateDir!)),
    );
    expect(leftovers).toEqual([]);
  }, 180_000);
});
