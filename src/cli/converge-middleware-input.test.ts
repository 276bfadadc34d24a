/**
 * Bad input for package, service, user and group through the real CLI: one line naming the
 * recipe line, the resource and the prop, exit 2, and the root untouched. A package that does not
 * exist can only be found at converge time: exit 1, one line naming it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, muster, tmpDir, treeHash } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

/** A config repo whose web recipe declares `body` (after a directory that would be created). */
function repo(body: string): string {
  const dir = tmpDir("muster-repo-");
  const files: Record<string, string> = {
    "roles/web.json": JSON.stringify({ name: "web", run_list: ["recipe[web]"] }),
    "recipes/web.ts": `import { recipe } from "muster";
export default recipe("web", ({ directory, package: pkg, service, user, group }) => {
  directory("/srv", {});
${body}
});
`,
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

async function converge(body: string) {
  const root = tmpDir("muster-root-");
  const before = treeHash(root);
  const res = await muster(["converge", "--repo", repo(body), "--role", "web", "--root", root]);
  return { ...res, lines: res.stderr.trim().split("\n"), unchanged: treeHash(root) === before };
}

async function expectBadInput(body: string, expected: RegExp) {
  const res = await converge(body);
  expect(res.code, res.stderr + res.stdout).toBe(2);
  expect(res.lines).toHaveLength(1);
  expect(res.lines[0]).toMatch(expected);
  expect(res.stderr).not.toMatch(/\n\s+at /);
  expect(res.unchanged).toBe(true);
}

describe("muster converge: bad middleware input", () => {
  it("an unknown service provider", () =>
    expectBadInput(
      `  service("app", { running: true, provider: "upstart", unit: { execStart: ["sleep", "9"] } });`,
      /^muster: recipes\/web\.ts:4: service\[app\]: provider: unknown service provider "upstart": use "systemd" or "supervisor", or leave it unset to choose by the host$/,
    ));

  it("a unit without execStart", () =>
    expectBadInput(
      `  service("app", { running: true, unit: { description: "no command" } } as any);`,
      /^muster: recipes\/web\.ts:4: service\[app\]: unit\.execStart: required: the command the service runs \(an argv array or a command line\)$/,
    ));

  it("an invalid user name", () =>
    expectBadInput(
      `  user("Bad Name", { system: true });`,
      /^muster: recipes\/web\.ts:4: user\[Bad Name\]: name: invalid user name "Bad Name": use lowercase letters, digits, _ and -/,
    ));

  it("an invalid group name", () =>
    expectBadInput(
      `  group("-wheel", {});`,
      /^muster: recipes\/web\.ts:4: group\[-wheel\]: name: invalid group name "-wheel"/,
    ));

  it("a package name that cannot be a Debian package", () =>
    expectBadInput(
      `  pkg("Nginx!");`,
      /^muster: recipes\/web\.ts:4: package\[Nginx!\]: name: invalid package name "Nginx!": Debian package names are/,
    ));

  it("a package that does not exist fails at converge, naming it (exit 1)", async () => {
    const res = await converge(`  pkg("muster-no-such-package");`);
    expect(res.code, res.stderr).toBe(1);
    expect(res.lines).toEqual([
      "muster: converge failed: package[muster-no-such-package] (recipes/web.ts:4): package muster-no-such-package is not installed on this host; a sandbox root cannot install packages: install it on the image",
    ]);
  });
});
