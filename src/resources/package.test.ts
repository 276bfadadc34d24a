/**
 * The package resource. Under a sandbox root it reads the host's real package database (git is
 * on every machine muster's tests run on: the git resource needs it) and never changes it. On the
 * host's root, read and diff run against a recorded dpkg-query/apt-cache (nothing is applied).
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Exec } from "../host/exec.ts";
import { convergeDecls, testContext } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir, treeHash } from "../test-support/tmp.ts";
import { packageKind } from "./package.ts";

afterAll(cleanupTmp);

const MISSING = "muster-no-such-package";

describe("package under a sandbox root", () => {
  it("a package the host has is up to date, and nothing under the root changes", async () => {
    const root = tmpDir();
    const before = treeHash(root);
    const report = await convergeDecls(root, [{ kind: "package", name: "git" }]);
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => r.status)).toEqual(["up-to-date"]);
    expect(treeHash(root)).toBe(before);
  });

  it("a package the host lacks fails clearly, in a dry run too", async () => {
    const root = tmpDir();
    const expected = `package[${MISSING}] (recipe test): package ${MISSING} is not installed on this host; a sandbox root cannot install packages: install it on the image`;
    for (const dryRun of [true, false]) {
      const report = await convergeDecls(root, [{ kind: "package", name: MISSING }], { dryRun });
      expect(report.outcome).toBe("failed");
      expect(report.error).toBe(expected);
    }
  });

  it("with names, the message names only the missing ones", async () => {
    const report = await convergeDecls(tmpDir(), [
      { kind: "package", name: "tools", props: { names: ["git", MISSING] } },
    ]);
    expect(report.error).toBe(
      `package[tools] (recipe test): package ${MISSING} is not installed on this host; a sandbox root cannot install packages: install it on the image`,
    );
  });

  it("removing a package the host has is refused; removing one it lacks is up to date", async () => {
    const refused = await convergeDecls(tmpDir(), [
      { kind: "package", name: "git", props: { action: "remove" } },
    ]);
    expect(refused.error).toMatch(
      /package git is installed on this host; a sandbox root cannot remove packages/,
    );
    const fine = await convergeDecls(tmpDir(), [
      { kind: "package", name: MISSING, props: { action: "purge" } },
    ]);
    expect(fine.resources.map((r) => r.status)).toEqual(["up-to-date"]);
  });
});

describe("package on the host's root: read and diff", () => {
  const exec: Exec = async (argv) => {
    if (argv[0] === "dpkg-query")
      return {
        code: 1,
        stdout: "git\tinstall ok installed\t1:2.39.5-0+deb12u3\n",
        stderr: "dpkg-query: no packages found matching hello\n",
        durationMs: 1,
      };
    if (argv[0] === "apt-cache")
      return {
        code: 0,
        stdout: "hello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n",
        stderr: "",
        durationMs: 1,
      };
    throw new Error(`read must not run ${argv.join(" ")}`);
  };

  it("says what it would install, with the version apt would pick", async () => {
    const ctx = testContext("/", "/", { exec });
    const props = packageKind.schema.parse({ name: "web-deps", names: ["git", "hello"] });
    const cur = await packageKind.read(ctx, props);
    expect(cur.sandbox).toBe(false);
    expect(packageKind.diff(props, cur)).toEqual([{ key: "install", what: "install hello 2.10-3" }]);
  });
});

describe("package props", () => {
  const problems = (props: Record<string, unknown>) => {
    const r = packageKind.schema.safeParse(props);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  it("a package name must be a Debian package name", () => {
    expect(problems({ name: "Nginx!" })).toEqual([
      'name: invalid package name "Nginx!": Debian package names are lowercase letters, digits, + - and . (at least two characters)',
    ]);
    expect(problems({ name: "nginx-light" })).toEqual([]);
  });
  it("with names the resource's name is only a label, and each name is checked", () => {
    expect(problems({ name: "Web tools", names: ["git", "curl"] })).toEqual([]);
    expect(problems({ name: "tools", names: ["git", "Bad"] })[0]).toMatch(/^names\.1: invalid package name/);
  });
  it("a version pins one package", () => {
    expect(problems({ name: "t", names: ["a1", "b1"], version: "1.0" })).toEqual([
      "version: a version pins one package: declare one package resource per pinned package",
    ]);
  });
});
