/**
 * The apt provider's effects. apt-get itself is replaced by a recording fake (so these run on any
 * machine and change nothing), the locks and index stamps are temporary files, and a real
 * flock(1) holds a lock to test the bounded wait. On the CI machine (root) a real, tiny Debian
 * package is installed and removed through the package resource.
 */
import { spawn } from "node:child_process";
import { utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunError, TimeoutError } from "../core/errors.ts";
import type { Exec, ExecResult } from "../host/exec.ts";
import { exec as realExec } from "../host/exec.ts";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import {
  type AptHost,
  applyPackagePlan,
  lockHoldersOf,
  queryInstalled,
  queryPolicy,
  waitForLocks,
} from "./apt.ts";
import { type DpkgEntry, planPackages } from "./apt-plan.ts";

afterAll(cleanupTmp);

/** A stand-in for dpkg-query, apt-cache and apt-get over a little package universe. */
function fakeApt(opts: {
  installed?: string[];
  known: string[];
  knownAfterUpdate?: string[];
  failInstall?: string;
}) {
  const installed = new Set(opts.installed ?? []);
  let known = new Set(opts.known);
  const calls: string[][] = [];
  const ok = (stdout = "", code = 0, stderr = ""): ExecResult => ({ code, stdout, stderr, durationMs: 1 });
  const exec: Exec = async (argv) => {
    calls.push(argv);
    const names = argv.slice(argv.indexOf("--") + 1);
    if (argv[0] === "dpkg-query") {
      const lines = names.filter((n) => installed.has(n)).map((n) => `${n}\tinstall ok installed\t1.0-1\n`);
      const missing = names.filter((n) => !installed.has(n));
      return ok(
        lines.join(""),
        missing.length ? 1 : 0,
        missing.map((n) => `dpkg-query: no packages found matching ${n}\n`).join(""),
      );
    }
    if (argv[0] === "apt-cache")
      return ok(
        names
          .filter((n) => known.has(n))
          .map((n) => `${n}:\n  Installed: ${installed.has(n) ? "1.0-1" : "(none)"}\n  Candidate: 1.0-1\n`)
          .join(""),
      );
    if (argv[0] === "apt-get") {
      const verb = argv.find((a) => ["update", "install", "remove", "purge"].includes(a));
      if (verb === "update") {
        known = new Set([...known, ...(opts.knownAfterUpdate ?? [])]);
        return ok("Reading package lists...\n");
      }
      if (verb === "install") {
        if (opts.failInstall) return ok("", 100, `W: something harmless\n${opts.failInstall}\n`);
        for (const n of names) installed.add(n.split("=")[0]);
      }
      if (verb === "remove" || verb === "purge") for (const n of names) installed.delete(n);
      return ok();
    }
    throw new Error(`unexpected command ${argv.join(" ")}`);
  };
  return { exec, calls, installed };
}

function host(
  exec: Exec,
  dir: string,
  stampAgeSeconds: number | undefined,
): AptHost & { progress: string[] } {
  const stamp = path.join(dir, "update-success-stamp");
  if (stampAgeSeconds !== undefined) {
    writeFileSync(stamp, "");
    const t = new Date(Date.now() - stampAgeSeconds * 1000);
    utimesSync(stamp, t, t);
  }
  for (const f of ["lock-frontend", "lock", "lists-lock"]) writeFileSync(path.join(dir, f), "");
  const progress: string[] = [];
  return {
    exec,
    env: {},
    log: { info() {}, warn() {}, progress: (m) => progress.push(m) },
    dpkgLocks: [path.join(dir, "lock-frontend"), path.join(dir, "lock")],
    listsLock: path.join(dir, "lists-lock"),
    indexStamps: [stamp],
    updateStamp: stamp,
    procLocks: "/proc/locks",
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    progress,
  };
}

async function plan(h: AptHost, names: string[]) {
  const installed: Map<string, DpkgEntry> = await queryInstalled(h, names);
  return planPackages(
    names.map((name) => ({ name })),
    "install",
    installed,
    await queryPolicy(h, names),
  );
}

const verbs = (calls: string[][]) =>
  calls
    .filter((c) => c[0] === "apt-get")
    .map((c) => c.slice(c.findIndex((a) => /^(update|install|remove|purge)$/.test(a))).join(" "));

describe("applyPackagePlan", () => {
  it("a fresh index: no refresh, and every missing package in one apt-get call", async () => {
    const apt = fakeApt({ installed: ["git"], known: ["git", "curl", "jq"] });
    const h = host(apt.exec, tmpDir(), 60);
    await applyPackagePlan(h, await plan(h, ["git", "curl", "jq"]), { cacheValidTime: 3600, lockTimeout: 5 });
    expect(verbs(apt.calls)).toEqual(["install -- curl jq"]);
    const install = apt.calls.find((c) => c.includes("install"))!;
    expect(install).toContain("-y");
    expect(install.some((a) => a.startsWith("DPkg::Lock::Timeout="))).toBe(true);
  });

  it("a stale index is refreshed first, and the stamp says so afterwards", async () => {
    const apt = fakeApt({ known: ["curl"] });
    const dir = tmpDir();
    const h = host(apt.exec, dir, 7200);
    await applyPackagePlan(h, await plan(h, ["curl"]), { cacheValidTime: 3600, lockTimeout: 5 });
    expect(verbs(apt.calls)).toEqual(["update", "install -- curl"]);
    expect(h.progress[0]).toBe("apt: refreshing the package index (older than 3600 s)");
    // the second run finds the index fresh
    apt.calls.length = 0;
    apt.installed.delete("curl");
    await applyPackagePlan(h, await plan(h, ["curl"]), { cacheValidTime: 3600, lockTimeout: 5 });
    expect(verbs(apt.calls)).toEqual(["install -- curl"]);
  });

  it("a package the fresh index does not know triggers a refresh", async () => {
    const apt = fakeApt({ known: [], knownAfterUpdate: ["newtool"] });
    const h = host(apt.exec, tmpDir(), 60);
    await applyPackagePlan(h, await plan(h, ["newtool"]), { cacheValidTime: 3600, lockTimeout: 5 });
    expect(verbs(apt.calls)).toEqual(["update", "install -- newtool"]);
    expect(h.progress[0]).toBe("apt: refreshing the package index (it has no newtool)");
  });

  it("a package no source has fails naming it, and nothing is installed", async () => {
    const apt = fakeApt({ known: ["curl"] });
    const h = host(apt.exec, tmpDir(), 60);
    const p = await plan(h, ["curl", "muster-no-such-package"]);
    await expect(applyPackagePlan(h, p, { cacheValidTime: 3600, lockTimeout: 5 })).rejects.toThrow(
      new RunError(
        'no package "muster-no-such-package" in apt\'s sources (the index was just refreshed); check the name',
      ),
    );
    expect(verbs(apt.calls)).toEqual(["update"]);
  });

  it("an apt-get failure reports apt's error line", async () => {
    const apt = fakeApt({
      known: ["curl"],
      failInstall: "E: Sub-process /usr/bin/dpkg returned an error code (1)",
    });
    const h = host(apt.exec, tmpDir(), 60);
    await expect(
      applyPackagePlan(h, await plan(h, ["curl"]), { cacheValidTime: 3600, lockTimeout: 5 }),
    ).rejects.toThrow("apt-get install failed: E: Sub-process /usr/bin/dpkg returned an error code (1)");
  });
});

describe("the dpkg lock", () => {
  let holder: ReturnType<typeof spawn> | undefined;
  afterEach(() => {
    try {
      if (holder?.pid) process.kill(-holder.pid, "SIGKILL");
    } catch {} // already gone
    holder = undefined;
  });

  /** flock(1) holds `file` (as apt would) until killed. */
  async function hold(file: string): Promise<number> {
    holder = spawn("flock", [file, "sleep", "60"], { detached: true, stdio: "ignore" });
    const deadline = Date.now() + 5000;
    while (lockHoldersOf([file]).length === 0) {
      if (Date.now() > deadline) throw new Error("flock did not take the lock");
      await new Promise((r) => setTimeout(r, 20));
    }
    return holder.pid!;
  }

  it("names who holds it: pid and command, from /proc/locks", async () => {
    const h = host(fakeApt({ known: [] }).exec, tmpDir(), 60);
    const pid = await hold(h.dpkgLocks[0]);
    expect(lockHoldersOf(h.dpkgLocks)).toEqual([
      { lock: h.dpkgLocks[0], pid, command: `flock ${h.dpkgLocks[0]} sleep 60` },
    ]);
  });

  it("waits a bounded time, then fails naming the holder, and runs no apt-get", async () => {
    const apt = fakeApt({ known: ["curl"] });
    const h = host(apt.exec, tmpDir(), 60);
    const pid = await hold(h.dpkgLocks[0]);
    const started = Date.now();
    const err = await applyPackagePlan(h, await plan(h, ["curl"]), {
      cacheValidTime: 3600,
      lockTimeout: 0.5,
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^the dpkg lock ${h.dpkgLocks[0]} is held by pid ${pid} \\(flock .* sleep 60\\); waited \\d+ s\\.`,
      ),
    );
    expect((err as Error).message).toContain("cloud-init");
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(verbs(apt.calls)).toEqual([]);
    expect(h.progress[0]).toMatch(new RegExp(`^apt: waiting for .*lock-frontend, held by pid ${pid}`));
  });

  it("goes on as soon as the holder lets go", async () => {
    const apt = fakeApt({ known: ["curl"] });
    const h = host(apt.exec, tmpDir(), 60);
    const pid = await hold(h.dpkgLocks[1]);
    setTimeout(() => process.kill(-pid, "SIGKILL"), 300);
    const started = Date.now();
    await waitForLocks(h, h.dpkgLocks, Date.now() + 120_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // it went on when the lock was let go, long before its own deadline
    expect(Date.now() - started).toBeLessThan(60_000);
    await applyPackagePlan(h, await plan(h, ["curl"]), { cacheValidTime: 3600, lockTimeout: 5 });
    expect(verbs(apt.calls)).toEqual(["install -- curl"]);
  });
});

// CI runs as root on a fresh machine: only there may a test install a real package. `hello` is
// tiny (one binary), needs nothing beyond libc6, and nothing depends on it.
const onCiAsRoot = process.env.CI === "true" && process.getuid?.() === 0;
const PKG = "hello";

describe.runIf(onCiAsRoot)("a real package on the CI machine (in CI as root only)", () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Field} syntax
  const dpkgStatus = async () => (await realExec(["dpkg-query", "-W", "-f", "${Status}", PKG])).stdout.trim();

  beforeAll(async () => {
    expect(await dpkgStatus(), `${PKG} must not be installed before this test`).not.toBe(
      "install ok installed",
    );
  });
  afterAll(async () => {
    await realExec(["apt-get", "-y", "-q", "purge", PKG], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  });

  it("installs it, then a second converge is up to date, then removes it", async () => {
    const first = await convergeDecls("/", [{ kind: "package", name: PKG }]);
    expect(first.outcome, first.error).toBe("converged");
    expect(first.resources[0].status).toBe("updated");
    expect(first.resources[0].changes[0].what).toMatch(new RegExp(`^install ${PKG}`));
    expect(await dpkgStatus()).toBe("install ok installed");

    const second = await convergeDecls("/", [{ kind: "package", name: PKG }]);
    expect(second.resources.map((r) => r.status)).toEqual(["up-to-date"]);

    const removed = await convergeDecls("/", [{ kind: "package", name: PKG, props: { action: "purge" } }]);
    expect(removed.outcome, removed.error).toBe("converged");
    expect(removed.resources[0].changes[0].what).toMatch(new RegExp(`^purge ${PKG} `));
    expect(await dpkgStatus()).not.toBe("install ok installed");
  });

  it("a package that does not exist fails naming it", async () => {
    const report = await convergeDecls("/", [{ kind: "package", name: "muster-no-such-package" }]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toMatch(
      /^package\[muster-no-such-package\] \(recipe test\): no package "muster-no-such-package" in apt's sources/,
    );
  });
});
