/**
 * The dnf provider against the real thing: two versions of a tiny noarch rpm are built here,
 * served as a local repository (a file:// baseurl the sandbox root declares), and converged into
 * the sandbox root with `dnf --installroot`. A lock holder is a real process holding dnf's lock
 * file the way dnf does (flock, its pid inside).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../host/exec.ts";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

const PKG = "muster-hello";
const tools = ["rpmbuild", "createrepo_c", "dnf", "rpm"];
const missing: string[] = [];
for (const t of tools) if ((await exec(["sh", "-c", `command -v ${t}`])).code !== 0) missing.push(t);

const AMAZON_2023 = 'NAME="Amazon Linux"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n';

async function buildRepo(): Promise<string> {
  const dir = tmpDir("muster-rpm-");
  const repo = path.join(dir, "repo");
  for (const version of ["1.0", "2.0"]) {
    const spec = path.join(dir, `${PKG}-${version}.spec`);
    writeFileSync(
      spec,
      [
        `Name: ${PKG}`,
        `Version: ${version}`,
        "Release: 1",
        "Summary: a test package",
        "License: MIT",
        "BuildArch: noarch",
        "%description",
        "A file that says its version.",
        "%install",
        `mkdir -p %{buildroot}/usr/share/${PKG}`,
        `echo ${version} > %{buildroot}/usr/share/${PKG}/version`,
        "%files",
        `/usr/share/${PKG}/version`,
        "",
      ].join("\n"),
    );
    const res = await exec([
      "rpmbuild",
      "--quiet",
      "--define",
      `_topdir ${path.join(dir, "top")}`,
      "--define",
      `_rpmdir ${repo}`,
      "-bb",
      spec,
    ]);
    if (res.code !== 0) throw new Error(`rpmbuild: ${res.stderr}`);
  }
  const res = await exec(["createrepo_c", "-q", repo]);
  if (res.code !== 0) throw new Error(`createrepo_c: ${res.stderr}`);
  return repo;
}

/** A sandbox root that says it is Amazon Linux 2023 and declares the local repository. */
function amazonRoot(repo: string): string {
  const root = tmpDir();
  mkdirSync(path.join(root, "etc/yum.repos.d"), { recursive: true });
  writeFileSync(path.join(root, "etc/os-release"), AMAZON_2023);
  writeFileSync(
    path.join(root, "etc/yum.repos.d/local.repo"),
    `[local]\nname=local\nbaseurl=file://${repo}\ngpgcheck=0\n`,
  );
  return root;
}

async function installed(root: string): Promise<string> {
  const res = await exec(["rpm", "--root", root, "-q", "--queryformat", "%{VERSION}-%{RELEASE}", PKG]);
  return res.code === 0 ? res.stdout : "not installed";
}

/** dnf install refuses anyone but root, into an install root too */
const notRoot = process.getuid?.() !== 0;
const skipWhy = missing.length
  ? ` (skipped: no ${missing.join(", ")} on this machine)`
  : notRoot
    ? " (skipped: dnf install needs root)"
    : "";

describe.skipIf(missing.length > 0 || notRoot)(`dnf into a sandbox root${skipWhy}`, () => {
  let repo: string;
  beforeAll(async () => {
    repo = await buildRepo();
  }, 60_000);

  it("installs, is then up to date, pins a lower version, upgrades, removes", async () => {
    const root = amazonRoot(repo);
    const first = await convergeDecls(root, [{ kind: "package", name: PKG }]);
    expect(first.outcome, first.error).toBe("converged");
    expect(first.resources[0].changes).toEqual([{ key: "install", what: `install ${PKG}` }]);
    expect(readFileSync(path.join(root, `usr/share/${PKG}/version`), "utf8")).toBe("2.0\n");
    expect(await installed(root)).toBe("2.0-1");

    const again = await convergeDecls(root, [{ kind: "package", name: PKG }]);
    expect(again.resources.map((r) => [r.status, r.changes])).toEqual([["up-to-date", []]]);

    // the metadata is fresh: a pinned install does not download it again
    const cacheDir = readdirSync(path.join(root, "var/cache/dnf")).find((d) => d.startsWith("local-"));
    const repomd = path.join(root, "var/cache/dnf", cacheDir ?? "none", "repodata/repomd.xml");
    const fetched = statSync(repomd).mtimeMs;
    const pinned = await convergeDecls(root, [{ kind: "package", name: PKG, props: { version: "1.0" } }]);
    expect(pinned.outcome, pinned.error).toBe("converged");
    expect(pinned.resources[0].changes).toEqual([
      { key: "install", what: `install ${PKG} 1.0-1 (was 2.0-1)` },
    ]);
    expect(await installed(root)).toBe("1.0-1");
    expect(statSync(repomd).mtimeMs).toBe(fetched);
    const pinnedAgain = await convergeDecls(root, [
      { kind: "package", name: PKG, props: { version: "1.0-1" } },
    ]);
    expect(pinnedAgain.resources[0].status).toBe("up-to-date");

    const upgraded = await convergeDecls(root, [
      { kind: "package", name: PKG, props: { action: "upgrade" } },
    ]);
    expect(upgraded.resources[0].changes).toEqual([
      { key: "upgrade", what: `upgrade ${PKG} 1.0-1 -> 2.0-1` },
    ]);
    expect(await installed(root)).toBe("2.0-1");

    const removed = await convergeDecls(root, [{ kind: "package", name: PKG, props: { action: "remove" } }]);
    expect(removed.resources[0].changes).toEqual([{ key: "remove", what: `remove ${PKG} 2.0-1` }]);
    expect(await installed(root)).toBe("not installed");
    expect(existsSync(path.join(root, `usr/share/${PKG}/version`))).toBe(false);
    const removedAgain = await convergeDecls(root, [
      { kind: "package", name: PKG, props: { action: "purge" } },
    ]);
    expect(removedAgain.resources[0].status).toBe("up-to-date");
  }, 60_000);

  it("a package no repository has is one line naming it, and nothing is installed", async () => {
    const root = amazonRoot(repo);
    const report = await convergeDecls(root, [
      { kind: "package", name: "web", props: { names: [PKG, "muster-no-such-package"] } },
    ]);
    expect(report.outcome).toBe("failed");
    expect(report.error).toBe(
      'package[web] (recipe test): no package "muster-no-such-package" in the dnf repositories (the metadata was just refreshed); check the name, or add the repository that has it',
    );
    expect(await installed(root)).toBe("not installed");
  }, 30_000);

  it("provider dnf works on a root without os-release", async () => {
    const root = amazonRoot(repo);
    rmSync(path.join(root, "etc/os-release"));
    const report = await convergeDecls(root, [
      { kind: "package", name: PKG, props: { provider: "dnf", version: "1.0-1" } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect(await installed(root)).toBe("1.0-1");
  }, 30_000);

  describe("dnf's lock", () => {
    let holder: ChildProcess | undefined;
    afterEach(() => {
      try {
        if (holder?.pid) process.kill(-holder.pid, "SIGKILL");
      } catch {} // already gone
      holder = undefined;
    });

    /** A process holding `file` as dnf does: flock on it, its own pid inside. */
    async function hold(file: string, withFlock: boolean): Promise<number> {
      mkdirSync(path.dirname(file), { recursive: true });
      const script = withFlock ? `echo $$ > "$1"; exec flock "$1" sleep 60` : `echo $$ > "$1"; exec sleep 60`;
      holder = spawn("sh", ["-c", script, "sh", file], { detached: true, stdio: "ignore" });
      const deadline = Date.now() + 5000;
      while (readFileSync(file, "utf8").trim() !== String(holder.pid) || (withFlock && !flocked(file))) {
        if (Date.now() > deadline) throw new Error("the holder did not take the lock");
        await new Promise((r) => setTimeout(r, 20));
      }
      return holder.pid as number;
    }
    const flocked = (file: string) => {
      const ino = statSync(file).ino;
      return readFileSync("/proc/locks", "utf8").includes(`:${ino} `);
    };

    it.each([
      ["flock and pid", true, /\(flock .*rpmdb_lock\.pid sleep 60\)/],
      ["pid alone", false, /\(sleep 60\)/],
    ])(
      "a held lock (%s) is waited for, then named, and nothing is installed",
      async (_l, withFlock, command) => {
        const root = amazonRoot(repo);
        const lock = path.join(root, "var/lib/dnf/rpmdb_lock.pid");
        writeFileSync(path.join(root, "etc/os-release"), AMAZON_2023);
        mkdirSync(path.dirname(lock), { recursive: true });
        writeFileSync(lock, "");
        const pid = await hold(lock, withFlock);
        const started = Date.now();
        const report = await convergeDecls(root, [{ kind: "package", name: PKG, props: { lockTimeout: 1 } }]);
        expect(report.outcome).toBe("failed");
        expect(report.error).toMatch(
          new RegExp(
            `^package\\[${PKG}\\] \\(recipe test\\): the package lock ${lock} is held by pid ${pid} \\(.*\\); waited \\d+ s\\. At boot`,
          ),
        );
        expect(report.error).toMatch(command);
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
        expect(await installed(root)).toBe("not installed");
      },
      30_000,
    );
  });
});
