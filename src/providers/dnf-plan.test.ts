/** The dnf provider's pure decisions, from tables and recorded rpm/dnf output. */
import { describe, expect, it } from "vitest";
import {
  compareEvr,
  dnfErrorLine,
  matchesVersion,
  parsePidFile,
  parseRepoquery,
  parseRpmQuery,
  planDnf,
  rpmvercmp,
} from "./dnf-plan.ts";

// `rpm -q --queryformat ... git nodejs20 glibc nosuch` on Amazon Linux 2023 (glibc twice: x86_64
// and i686); rpm prints the not-installed line on stdout too
const RPM = [
  "git\t(none)\t2.40.1\t1.amzn2023.0.3\tx86_64",
  "nodejs20\t1\t20.17.0\t1.amzn2023.0.1\tx86_64",
  "glibc\t(none)\t2.34\t52.amzn2023.0.11\ti686",
  "glibc\t(none)\t2.34\t117.amzn2023.0.1\tx86_64",
  "package nosuch is not installed",
  "",
].join("\n");

const AVAILABLE = [
  "git\t0\t2.40.1\t1.amzn2023.0.3\tx86_64",
  "git\t0\t2.47.1\t1.amzn2023.0.2\tx86_64",
  "nginx\t1\t1.24.0\t1.amzn2023.0.4\tx86_64",
  "nginx\t1\t1.26.2\t1.amzn2023.0.1\tx86_64",
  "nodejs20\t1\t20.17.0\t1.amzn2023.0.1\tx86_64",
  "",
].join("\n");

describe("rpmvercmp", () => {
  it.each([
    ["1.0", "1.0", 0],
    ["1.0", "2.0", -1],
    ["2.0.1", "2.0", 1],
    ["10", "9", 1],
    ["1.010", "1.9", 1],
    ["001", "1", 0],
    ["1.0a", "1.0", 1],
    ["1.a", "1.1", -1], // letters are older than numbers
    ["FC5", "fc4", -1], // ASCII order: capitals first
    ["1.0~rc1", "1.0", -1], // ~ is a pre-release
    ["1.0~rc1", "1.0~rc2", -1],
    ["1.0^20240101", "1.0", 1], // ^ is a snapshot after the release
    ["1.0^", "1.0.1", -1],
    ["1_0", "1.0", 0], // separators do not count
    ["2.34-52", "2.34-117", -1],
  ])("%s vs %s is %i", (a, b, want) => {
    expect(rpmvercmp(a, b)).toBe(want);
    expect(rpmvercmp(b, a)).toBe(-want || 0);
  });

  it("the epoch wins over the version", () => {
    expect(
      compareEvr({ epoch: "1", version: "1.0", release: "1" }, { epoch: "0", version: "9.0", release: "1" }),
    ).toBe(1);
  });
});

describe("parseRpmQuery and parseRepoquery", () => {
  it("reads installed packages, (none) as epoch 0, the newest of several architectures", () => {
    const db = parseRpmQuery(RPM);
    expect(db.get("git")).toEqual({
      name: "git",
      epoch: "0",
      version: "2.40.1",
      release: "1.amzn2023.0.3",
      arch: "x86_64",
    });
    expect(db.get("glibc")?.release).toBe("117.amzn2023.0.1");
    expect(db.has("nosuch")).toBe(false);
    expect(parseRpmQuery("").size).toBe(0);
  });
  it("collects every offered version by name", () => {
    const av = parseRepoquery(AVAILABLE);
    expect(av.get("git")?.map((e) => e.version)).toEqual(["2.40.1", "2.47.1"]);
    expect(av.has("nosuch")).toBe(false);
  });
});

describe("matchesVersion", () => {
  const e = { name: "nginx", epoch: "1", version: "1.24.0", release: "1.amzn2023.0.4", arch: "x86_64" };
  it.each([
    ["1.24.0", true],
    ["1.24.0-1.amzn2023.0.4", true],
    ["1:1.24.0-1.amzn2023.0.4", true],
    ["0:1.24.0-1.amzn2023.0.4", false],
    ["1.24.0-2", false],
    ["1.24", false],
  ])("%s: %s", (wanted, want) => {
    expect(matchesVersion(e, wanted)).toBe(want);
  });
});

describe("planDnf", () => {
  const db = parseRpmQuery(RPM);
  const av = parseRepoquery(AVAILABLE);
  const plan = (names: string[], action: Parameters<typeof planDnf>[1], version?: string) =>
    planDnf(
      names.map((name) => ({ name, version })),
      action,
      db,
      av,
    );

  it.each([
    // [names, action, version, changes, install, upgrade, remove, unknown]
    [
      ["git", "nginx"],
      "install",
      undefined,
      ["install install nginx 1:1.26.2-1.amzn2023.0.1"],
      ["nginx"],
      [],
      [],
      [],
    ],
    [["git"], "install", undefined, [], [], [], [], []],
    [
      ["muster-nope"],
      "install",
      undefined,
      ["install install muster-nope"],
      ["muster-nope"],
      [],
      [],
      ["muster-nope"],
    ],
    [
      ["git"],
      "upgrade",
      undefined,
      ["upgrade upgrade git 2.40.1-1.amzn2023.0.3 -> 2.47.1-1.amzn2023.0.2"],
      [],
      ["git"],
      [],
      [],
    ],
    [["nodejs20"], "upgrade", undefined, [], [], [], [], []],
    [
      ["nginx"],
      "install",
      "1.24.0",
      ["install install nginx 1:1.24.0-1.amzn2023.0.4"],
      ["nginx-1.24.0"],
      [],
      [],
      [],
    ],
    [
      ["git"],
      "install",
      "2.47.1-1.amzn2023.0.2",
      ["install install git 2.47.1-1.amzn2023.0.2 (was 2.40.1-1.amzn2023.0.3)"],
      ["git-2.47.1-1.amzn2023.0.2"],
      [],
      [],
      [],
    ],
    [["git"], "install", "2.40.1", [], [], [], [], []],
    [
      ["git"],
      "install",
      "9.9",
      ["install install git 9.9 (was 2.40.1-1.amzn2023.0.3)"],
      ["git-9.9"],
      [],
      [],
      ["git"],
    ],
    [["git", "nginx"], "remove", undefined, ["remove remove git 2.40.1-1.amzn2023.0.3"], [], [], ["git"], []],
    [
      ["nodejs20"],
      "purge",
      undefined,
      ["remove remove nodejs20 1:20.17.0-1.amzn2023.0.1"],
      [],
      [],
      ["nodejs20"],
      [],
    ],
  ] as const)("%j %s %s", (names, action, version, changes, install, upgrade, remove, unknown) => {
    const p = plan([...names], action, version);
    expect(p.changes.map((c) => `${c.key} ${c.what}`)).toEqual(changes);
    expect(p).toMatchObject({ install, upgrade, remove, unknown });
  });

  it("an installed version newer than any offered is no upgrade", () => {
    const newer = parseRpmQuery("git\t(none)\t3.0\t1\tx86_64\n");
    expect(planDnf([{ name: "git" }], "upgrade", newer, av).changes).toEqual([]);
  });
});

describe("dnf's output", () => {
  it("the Error: line, not the release-version warning", () => {
    expect(
      dnfErrorLine(
        "Unable to detect release version (use '--releasever' to specify release version)\nError: Unable to find a match: nosuch\n",
      ),
    ).toBe("Error: Unable to find a match: nosuch");
    expect(dnfErrorLine("warning\nlast words\n")).toBe("last words");
  });
  it("a pid file holds digits", () => {
    expect(parsePidFile("4242")).toBe(4242);
    expect(parsePidFile("4242\n")).toBe(4242);
    expect(parsePidFile("")).toBeUndefined();
    expect(parsePidFile("x1")).toBeUndefined();
    expect(parsePidFile(undefined)).toBeUndefined();
  });
});
