/**
 * The local supervisor with real processes: `muster supervise --root` started detached by the
 * client, services started with their environment and working directory mapped into the root,
 * stopped, restarted, reloaded, restarted after a crash (bounded), and no process left behind
 * however the supervisor ends.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RunError } from "../core/errors.ts";
import { BIN, cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";
import {
  ensureSupervisor,
  noteStartingSupervisor,
  processAlive,
  stopStartedSupervisors,
  stopSupervisor,
  supervisorRequest,
  supervisorStatus,
} from "./supervisor-client.ts";
import {
  definitionText,
  MAX_SOCKET_PATH,
  type ServiceDefinition,
  type ServiceStatus,
} from "./supervisor-policy.ts";

const roots: string[] = [];
afterEach(async () => {
  await stopStartedSupervisors();
  await Promise.all(roots.splice(0).map((r) => stopSupervisor(r).catch(() => false)));
});
afterAll(cleanupTmp);

function newRoot(): string {
  const root = tmpDir("muster-sv-");
  roots.push(root);
  return root;
}

function define(root: string, name: string, def: Partial<ServiceDefinition> & { command: string[] }): void {
  mkdirSync(path.join(root, "etc/muster/services"), { recursive: true });
  writeFileSync(
    path.join(root, `etc/muster/services/${name}.json`),
    definitionText({ restart: "on-failure", ...def }),
  );
}

async function request(root: string, op: "start" | "stop" | "restart" | "reload", name: string) {
  await ensureSupervisor(root);
  return (await supervisorRequest(root, { op, name })).services[name];
}

async function status(root: string, name: string): Promise<ServiceStatus | undefined> {
  return (await supervisorStatus(root))?.[name];
}

const alive = processAlive;

async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SLEEPER = ["sleep", "1000"];

describe("the supervisor", () => {
  it("starts a service with its environment and working directory inside the root", async () => {
    const root = newRoot();
    mkdirSync(path.join(root, "srv/app"), { recursive: true });
    mkdirSync(path.join(root, "etc"), { recursive: true });
    writeFileSync(path.join(root, "etc/app.env"), "PORT=1234\n# comment\nGREETING=from-file\n");
    define(root, "app", {
      command: [
        "sh",
        "-c",
        'echo "$PWD|$PORT|$GREETING|$MUSTER_ROOT|x$MUSTER_TEST_LEAK" > out.txt; exec sleep 1000',
      ],
      workingDirectory: "/srv/app",
      environmentFile: "/etc/app.env",
      environment: { GREETING: "from-unit" },
    });
    process.env.MUSTER_TEST_LEAK = "leaked"; // the converge run's environment must not reach services
    try {
      const st = await request(root, "start", "app");
      expect(st.state).toBe("running");
      expect(alive(st.pid!)).toBe(true);
      const outFile = path.join(root, "srv/app/out.txt");
      const out = await until("out.txt", () => existsSync(outFile) && readFileSync(outFile, "utf8").trim());
      expect(out).toBe(`${root}/srv/app|1234|from-unit|${root}|x`);
      expect(readFileSync(path.join(root, "run/muster/services/app.pid"), "utf8")).toBe(`${st.pid}\n`);
      const state = JSON.parse(readFileSync(path.join(root, "run/muster/services/app.json"), "utf8"));
      expect(state).toMatchObject({ name: "app", state: "running", pid: st.pid, starts: 1 });
      expect(st.logFile).toBe(path.join(root, "var/log/muster/services/app.log"));
    } finally {
      delete process.env.MUSTER_TEST_LEAK;
    }
  });

  it.runIf(process.getuid?.() === 0)(
    "a service with a user and no group runs with the user's primary group (needs root: skipped when not root)",
    async () => {
      const root = newRoot();
      chmodSync(root, 0o755);
      mkdirSync(path.join(root, "etc"), { recursive: true });
      writeFileSync(path.join(root, "etc/passwd"), "svc:x:2345:2346::/nonexistent:/bin/sh\n");
      writeFileSync(path.join(root, "etc/group"), "svcgroup:x:2346:\n");
      const outDir = tmpDir();
      chmodSync(outDir, 0o777);
      const out = path.join(outDir, "ids");
      define(root, "who", {
        command: ["sh", "-c", `echo "$(id -u) $(id -g)" > ${out}; exec sleep 1000`],
        user: "svc",
      });
      expect((await request(root, "start", "who")).state).toBe("running");
      expect(await until("ids", () => existsSync(out) && readFileSync(out, "utf8").trim())).toBe("2345 2346");
    },
  );

  it("stops, restarts with a new pid, and keeps no pid file for a stopped service", async () => {
    const root = newRoot();
    define(root, "s", { command: SLEEPER });
    const first = await request(root, "start", "s");
    const restarted = await request(root, "restart", "s");
    expect(restarted.pid).not.toBe(first.pid);
    expect(alive(first.pid!)).toBe(false);
    expect(restarted.pids).toEqual([first.pid, restarted.pid]);
    const stopped = await request(root, "stop", "s");
    expect(stopped.state).toBe("stopped");
    expect(alive(restarted.pid!)).toBe(false);
    expect(existsSync(path.join(root, "run/muster/services/s.pid"))).toBe(false);
  });

  it("attack: var/log/muster swapped for another user's directory whose services/s.log is a link: the start refuses, nothing is written outside", async () => {
    const root = newRoot();
    define(root, "s", { command: SLEEPER });
    await request(root, "start", "s");
    await request(root, "stop", "s");
    // a member of a group that may write var/log puts their own directory there
    const outside = path.join(tmpDir(), "cron.d-x");
    renameSync(path.join(root, "var/log/muster"), path.join(root, "var/log/muster.old"));
    mkdirSync(path.join(root, "var/log/muster/services"), { recursive: true });
    symlinkSync(outside, path.join(root, "var/log/muster/services/s.log"));
    chownSync(path.join(root, "var/log/muster/services"), 65534, 65534);
    chownSync(path.join(root, "var/log/muster"), 65534, 65534);
    await expect(request(root, "start", "s")).rejects.toThrow(
      /belongs to another user or can be written by others/,
    );
    expect(existsSync(outside)).toBe(false);
    // and a link muster's own directory holds is not written through either
    rmSync(path.join(root, "var/log/muster"), { recursive: true });
    mkdirSync(path.join(root, "var/log/muster/services"), { recursive: true });
    symlinkSync(outside, path.join(root, "var/log/muster/services/s.log"));
    await expect(request(root, "start", "s")).rejects.toThrow(/s\.log is a symbolic link/);
    expect(existsSync(outside)).toBe(false);
  });

  it("reload sends the reload signal when the service has one, else restarts", async () => {
    const root = newRoot();
    mkdirSync(path.join(root, "srv"));
    define(root, "hup", {
      command: ["sh", "-c", "trap 'echo hup >> hups' HUP; while :; do sleep 0.05; done"],
      workingDirectory: "/srv",
      reloadSignal: "SIGHUP",
    });
    define(root, "plain", { command: SLEEPER });
    const hup = await request(root, "start", "hup");
    const reloaded = await request(root, "reload", "hup");
    expect(reloaded.pid).toBe(hup.pid);
    await until("the HUP", () => existsSync(path.join(root, "srv/hups")));
    const plain = await request(root, "start", "plain");
    expect((await request(root, "reload", "plain")).pid).not.toBe(plain.pid);
  });

  it("restarts a crashed service with a new pid", async () => {
    const root = newRoot();
    define(root, "s", { command: SLEEPER });
    const st = await request(root, "start", "s");
    process.kill(st.pid!, "SIGKILL");
    const again = await until("a restart", async () => {
      const s = await status(root, "s");
      return s?.state === "running" && s.pid !== st.pid ? s : undefined;
    });
    expect(again.crashes).toBe(1);
    expect(again.lastExit).toMatchObject({ code: null, signal: "SIGKILL" });
  });

  it("gives up on a service that keeps crashing, after a bounded number of restarts with backoff", async () => {
    const root = newRoot();
    define(root, "flaky", { command: ["sh", "-c", "sleep 0.4; exit 3"] });
    await request(root, "start", "flaky");
    const failed = await until(
      "failed",
      async () => {
        const s = await status(root, "flaky");
        return s?.state === "failed" ? s : undefined;
      },
      20_000,
    );
    expect(failed.starts).toBe(6); // the start, then 5 restarts
    expect(failed.error).toBe("exited with code 3; restarted 5 times within 30 s, giving up");
  });

  it("a service that dies at once fails its start, with the last line of its log", async () => {
    const root = newRoot();
    define(root, "bad", { command: ["sh", "-c", "echo 'cannot bind 127.0.0.1:80' >&2; exit 7"] });
    await expect(request(root, "start", "bad")).rejects.toThrow(
      new RunError(
        `service bad exited with code 7 right after it started: cannot bind 127.0.0.1:80 (log: ${root}/var/log/muster/services/bad.log)`,
      ),
    );
    expect((await status(root, "bad"))?.state).toBe("failed");
  });

  it("a command that does not exist, or a service without a definition, is a clear error", async () => {
    const root = newRoot();
    define(root, "ghost", { command: ["muster-no-such-command", "x"] });
    await expect(request(root, "start", "ghost")).rejects.toThrow(
      "service ghost: command not found: muster-no-such-command",
    );
    await expect(request(root, "start", "undefined-one")).rejects.toThrow(
      `service undefined-one has no definition (${root}/etc/muster/services/undefined-one.json): give the service resource a unit with execStart`,
    );
  });

  it("enabled services start with the supervisor", async () => {
    const root = newRoot();
    define(root, "boot", { command: SLEEPER });
    mkdirSync(path.join(root, "etc/muster/services/enabled"));
    writeFileSync(path.join(root, "etc/muster/services/enabled/boot"), "");
    await ensureSupervisor(root);
    const st = await until("boot running", async () => {
      const s = await status(root, "boot");
      return s?.state === "running" ? s : undefined;
    });
    expect(alive(st.pid!)).toBe(true);
  });

  it("one supervisor per root: a second one refuses to start", async () => {
    const root = newRoot();
    await ensureSupervisor(root);
    const res = await muster(["supervise", "--root", root]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^muster: another muster supervisor \(pid \d+\) holds .*: a supervisor already runs for /,
    );
  });
});

describe("a supervisor that is still starting", () => {
  it("a converge waits for it instead of starting a second one (the fleet starts its init and the boot together)", async () => {
    const root = newRoot();
    define(root, "s", { command: SLEEPER });
    // what an init starter does: spawn `muster supervise`, note it at once
    const child = spawn(process.execPath, [BIN, "supervise", "--root", root], {
      detached: true,
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    noteStartingSupervisor(root, child.pid!);
    // at once, long before it listens: a service start must reach this supervisor
    const st = await request(root, "start", "s");
    expect(st.state).toBe("running");
    const info = JSON.parse(readFileSync(path.join(root, "run/muster/supervisor.json"), "utf8"));
    expect(info.pid).toBe(child.pid);
    expect(info.starting).toBeUndefined(); // rewritten by the supervisor once it listened
    const log = readFileSync(path.join(root, "var/log/muster/supervisor.log"), "utf8");
    expect(log.match(/supervisor\.started/g)).toHaveLength(1);
    expect(log).not.toMatch(/already runs/);
    await stopSupervisor(root);
    expect(await exited).toBe(0);
  });

  it("a deep root's socket is the same path for its starter (with TMPDIR) and for it (without)", async () => {
    const root = path.join(newRoot(), "d".repeat(MAX_SOCKET_PATH));
    roots.push(root);
    define(root, "s", { command: SLEEPER });
    const ownTmp = tmpDir("muster-sv-tmpdir-");
    const before = process.env.TMPDIR;
    process.env.TMPDIR = ownTmp; // the starter's; the supervisor gets a service's environment
    try {
      const { TMPDIR: _, ...serviceEnv } = process.env;
      const child = spawn(process.execPath, [BIN, "supervise", "--root", root], {
        detached: true,
        stdio: "ignore",
        env: serviceEnv,
      });
      noteStartingSupervisor(root, child.pid!);
      const infoFile = path.join(root, "run/muster/supervisor.json");
      const starting = JSON.parse(readFileSync(infoFile, "utf8"));
      expect(starting.socket).toMatch(/^\/tmp\/muster-\d+\/supervisor-[0-9a-f]{16}\.sock$/);
      expect((await request(root, "start", "s")).state).toBe("running");
      const listening = JSON.parse(readFileSync(infoFile, "utf8"));
      expect(listening.starting).toBeUndefined();
      expect(listening.socket).toBe(starting.socket);
      expect(existsSync(path.join(ownTmp, path.basename(starting.socket)))).toBe(false);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });

  it("one that died while starting is replaced", async () => {
    const root = newRoot();
    define(root, "s", { command: SLEEPER });
    const child = spawn("sh", ["-c", "exit 0"], { stdio: "ignore" });
    await new Promise((r) => child.once("exit", r));
    noteStartingSupervisor(root, child.pid!); // names a process that is gone
    expect((await request(root, "start", "s")).state).toBe("running");
  });
});

describe("no process left behind", () => {
  it("`muster supervise stop` stops the supervisor and every service", async () => {
    const root = newRoot();
    define(root, "a", { command: SLEEPER });
    define(root, "b", { command: ["sh", "-c", "sleep 1000 & sleep 1000"] });
    const a = await request(root, "start", "a");
    const b = await request(root, "start", "b");
    const st = await muster(["supervise", "status", "--root", root, "--json"]);
    expect(JSON.parse(st.stdout).services.a).toMatchObject({ state: "running", pid: a.pid });
    const supervisor = JSON.parse(readFileSync(path.join(root, "run/muster/supervisor.json"), "utf8")).pid;
    const res = await muster(["supervise", "stop", "--root", root]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(`muster: stopped the supervisor of ${root} and its services\n`);
    expect([supervisor, a.pid, b.pid].filter(alive)).toEqual([]);
    // b's own child (the backgrounded sleep) went with its process group
    const ps = execFileSync("ps", ["-eo", "pid,pgid,stat"], { encoding: "utf8" });
    const groupB = ps.split("\n").filter((l) => {
      const [, pgid, stat] = l.trim().split(/\s+/);
      return pgid === String(b.pid) && !stat?.startsWith("Z");
    });
    expect(groupB).toEqual([]);
    expect(await supervisorStatus(root)).toBeUndefined();
    expect((await muster(["supervise", "stop", "--root", root])).stdout).toBe(
      `muster: no supervisor runs for ${root}\n`,
    );
  });

  it("a supervisor killed with SIGKILL takes its services with it", async () => {
    const root = newRoot();
    define(root, "s", { command: SLEEPER });
    const st = await request(root, "start", "s");
    const supervisor = JSON.parse(readFileSync(path.join(root, "run/muster/supervisor.json"), "utf8")).pid;
    process.kill(supervisor, "SIGKILL");
    await until("the service to die", () => !alive(st.pid!), 5000);
  });

  it("when the root disappears, the supervisor stops its services and exits", async () => {
    const root = newRoot();
    define(root, "s", { command: SLEEPER });
    const st = await request(root, "start", "s");
    const supervisor = JSON.parse(readFileSync(path.join(root, "run/muster/supervisor.json"), "utf8")).pid;
    rmSync(root, { recursive: true, force: true });
    await until("the supervisor to exit", () => !alive(supervisor) && !alive(st.pid!), 8000);
  });
});
