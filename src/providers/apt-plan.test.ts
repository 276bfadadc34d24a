/** The apt provider's pure decisions, from recorded dpkg-query, apt-cache and /proc/locks output. */
import { describe, expect, it } from "vitest";
import {
  indexIsStale,
  lockHolders,
  parseAptPolicy,
  parseDpkgQuery,
  parseProcLocks,
  planPackages,
  sandboxProblems,
} from "./apt-plan.ts";

// `dpkg-query -W -f '${Package}\t${Status}\t${Version}\n' git nginx-common vim libc6 foo` on
// Debian 12: one line per architecture of a multi-arch package; a removed package whose
// configuration files remain; a package dpkg knows but never installed.
const DPKG = [
  "git\tinstall ok installed\t1:2.39.5-0+deb12u3",
  "nginx-common\tdeinstall ok config-files\t1.22.1-9+deb12u1",
  "vim\tunknown ok not-installed\t",
  "libc6\tinstall ok installed\t2.36-9+deb12u14",
  "libc6\tunknown ok not-installed\t",
  "man-db\tinstall ok triggers-pending\t2.11.2-2",
  "broken\tinstall reinstreq half-installed\t1.0",
  "",
].join("\n");

// `apt-cache policy git hello virtual-pkg` (a package apt does not know prints nothing at all)
const POLICY = `git:
  Installed: 1:2.39.5-0+deb12u3
  Candidate: 1:2.39.5-0+deb12u4
  Version table:
     1:2.39.5-0+deb12u4 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
 *** 1:2.39.5-0+deb12u3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
hello:
  Installed: (none)
  Candidate: 2.10-3
  Version table:
     2.10-3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
virtual-pkg:
  Installed: (none)
  Candidate: (none)
  Version table:
`;

describe("parseDpkgQuery", () => {
  const db = parseDpkgQuery(DPKG);
  it("reads installed packages with their versions", () => {
    expect(db.get("git")).toEqual({
      name: "git",
      status: "install ok installed",
      version: "1:2.39.5-0+deb12u3",
      installed: true,
      configFiles: false,
    });
  });
  it("knows removed-with-config, never-installed, triggers-pending and broken states", () => {
    expect(db.get("nginx-common")).toMatchObject({ installed: false, configFiles: true, version: "" });
    expect(db.get("vim")).toMatchObject({ installed: false, configFiles: false });
    expect(db.get("man-db")).toMatchObject({ installed: true, version: "2.11.2-2" });
    expect(db.get("broken")).toMatchObject({ installed: false });
  });
  it("an installed architecture wins over another one that is not", () => {
    expect(db.get("libc6")).toMatchObject({ installed: true, version: "2.36-9+deb12u14" });
  });
  it("absent names are not in the map", () => {
    expect(db.has("foo")).toBe(false);
    expect(parseDpkgQuery("").size).toBe(0);
  });
});

describe("parseAptPolicy", () => {
  const pol = parseAptPolicy(POLICY);
  it("reads the installed and candidate versions of each package", () => {
    expect(pol.get("git")).toEqual({ installed: "1:2.39.5-0+deb12u3", candidate: "1:2.39.5-0+deb12u4" });
    expect(pol.get("hello")).toEqual({ installed: undefined, candidate: "2.10-3" });
  });
  it("(none) is no version; an unknown name is absent", () => {
    expect(pol.get("virtual-pkg")).toEqual({ installed: undefined, candidate: undefined });
    expect(pol.has("nosuch")).toBe(false);
  });
});

describe("planPackages", () => {
  const db = parseDpkgQuery(DPKG);
  const pol = parseAptPolicy(POLICY);

  it("install: only what is missing, several packages in one plan", () => {
    const plan = planPackages([{ name: "git" }, { name: "hello" }, { name: "vim" }], "install", db, pol);
    expect(plan.install).toEqual(["hello", "vim"]);
    expect(plan.changes.map((c) => c.what)).toEqual(["install hello 2.10-3", "install vim"]);
    // vim has no candidate in this index: a refresh is due before installing
    expect(plan.unknown).toEqual(["vim"]);
  });

  it("install with nothing to do is empty", () => {
    const plan = planPackages([{ name: "git" }], "install", db, pol);
    expect(plan).toEqual({ changes: [], install: [], remove: [], purge: [], unknown: [] });
  });

  it("a pinned version replaces a different installed one", () => {
    const plan = planPackages([{ name: "git", version: "1:2.39.5-0+deb12u4" }], "install", db, pol);
    expect(plan.install).toEqual(["git=1:2.39.5-0+deb12u4"]);
    expect(plan.changes[0].what).toBe("install git 1:2.39.5-0+deb12u4 (was 1:2.39.5-0+deb12u3)");
    expect(plan.unknown).toEqual([]);
    expect(
      planPackages([{ name: "git", version: "1:2.39.5-0+deb12u3" }], "install", db, pol).changes,
    ).toEqual([]);
  });

  it("upgrade: to the candidate when it is newer", () => {
    const plan = planPackages([{ name: "git" }, { name: "hello" }], "upgrade", db, pol);
    expect(plan.changes.map((c) => c.what)).toEqual([
      "upgrade git 1:2.39.5-0+deb12u3 -> 1:2.39.5-0+deb12u4",
      "install hello 2.10-3",
    ]);
    expect(plan.install).toEqual(["git", "hello"]);
  });

  it("remove and purge only what is there; purge also takes left-behind configuration", () => {
    expect(planPackages([{ name: "git" }, { name: "hello" }], "remove", db).changes).toEqual([
      { key: "remove", what: "remove git 1:2.39.5-0+deb12u3" },
    ]);
    const purge = planPackages([{ name: "nginx-common" }, { name: "hello" }], "purge", db);
    expect(purge.purge).toEqual(["nginx-common"]);
    expect(purge.changes[0].what).toBe("purge the configuration files nginx-common left behind");
    expect(planPackages([{ name: "nginx-common" }], "remove", db).changes).toEqual([]);
  });
});

describe("sandboxProblems", () => {
  const db = parseDpkgQuery(DPKG);
  it("a missing package is a problem that says to fix the image", () => {
    expect(sandboxProblems([{ name: "nginx" }], "install", db)).toEqual([
      "package nginx is not installed on this host; a sandbox root cannot install packages: install it on the image",
    ]);
  });
  it("present packages are fine, for install and upgrade alike", () => {
    expect(sandboxProblems([{ name: "git" }, { name: "libc6" }], "install", db)).toEqual([]);
    expect(sandboxProblems([{ name: "git" }], "upgrade", db)).toEqual([]);
  });
  it("a different pinned version, or removing a present package, is a problem", () => {
    expect(sandboxProblems([{ name: "git", version: "9" }], "install", db)[0]).toMatch(
      /^package git 1:2.39.5-0\+deb12u3 is installed on this host but the recipe wants 9;/,
    );
    expect(sandboxProblems([{ name: "git" }], "remove", db)[0]).toMatch(
      /cannot remove packages: remove it from the image$/,
    );
    expect(sandboxProblems([{ name: "hello" }], "purge", db)).toEqual([]);
  });
});

describe("indexIsStale", () => {
  const now = 1_000_000_000;
  it("uses the newest stamp", () => {
    expect(indexIsStale([now - 100_000_000, now - 10_000], now, 3600)).toBe(false);
    expect(indexIsStale([now - 100_000_000, undefined], now, 3600)).toBe(true);
  });
  it("no stamp at all: never fetched", () => {
    expect(indexIsStale([undefined, undefined], now, 3600)).toBe(true);
  });
  it("0 seconds: always stale", () => {
    expect(indexIsStale([now - 1], now, 0)).toBe(true);
  });
});

describe("/proc/locks", () => {
  // recorded while apt-get held the dpkg frontend lock and flock(1) held a temporary file
  const LOCKS = [
    "1: POSIX  ADVISORY  WRITE 4242 fe:00:1837641 0 EOF",
    "1: -> POSIX  ADVISORY  WRITE 4300 fe:00:1837641 0 EOF",
    "2: FLOCK  ADVISORY  WRITE 28120 fe:00:2146447 0 EOF",
    "3: OFDLCK ADVISORY  READ  -1 00:06:1234 0 EOF",
    "",
  ].join("\n");
  it("parses holders and skips waiters", () => {
    expect(parseProcLocks(LOCKS)).toEqual([
      { kind: "POSIX", pid: 4242, inode: 1837641 },
      { kind: "FLOCK", pid: 28120, inode: 2146447 },
      { kind: "OFDLCK", pid: -1, inode: 1234 },
    ]);
  });
  it("finds who holds a given inode (open file description locks have no pid)", () => {
    const locks = parseProcLocks(LOCKS);
    expect(lockHolders(locks, 1837641)).toEqual([4242]);
    expect(lockHolders(locks, 1234)).toEqual([]);
    expect(lockHolders(locks, 99)).toEqual([]);
  });
});
