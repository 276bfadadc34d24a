/**
 * Two attacks on a host muster converges as root, performed through the real CLI under a
 * temporary root: a resource that deletes the root or one of the host's own directories, and a
 * source in the config repo that is a link to a file outside it. Both are bad input: exit 2,
 * one line naming the resource, in `muster check` too, and nothing under the root changed.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, muster, tmpDir, treeHash } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

/** A config repo in a temp dir whose one recipe has `body`; beside it, a fake shadow file. */
function setup(body: string, files: Record<string, string> = {}) {
  const top = tmpDir("muster-attack-");
  const repo = path.join(top, "repo");
  const shadow = path.join(top, "outside/shadow");
  const all: Record<string, string> = {
    "roles/web.json": JSON.stringify({ name: "web", run_list: ["recipe[web]"] }),
    "recipes/web.ts": `import { recipe } from "muster";\nexport default recipe("web", ({ directory, file, template, link, git }) => {\n${body}\n});\n`,
    "files/motd": "hello\n",
    "templates/site.eta": "site\n",
    "shared/motd": "shared hello\n",
    "../outside/shadow": "root:SECRET-HASH:19000:0:99999:7:::\n",
    "../outside/etc/passwd": "root:x:0:0::/root:/bin/sh\n",
    ...files,
  };
  for (const [rel, content] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    writeFileSync(path.join(repo, rel), content);
  }
  // the root a run converges: a host with an /etc and something in it
  const root = path.join(top, "root");
  mkdirSync(path.join(root, "etc"), { recursive: true });
  writeFileSync(path.join(root, "etc/hostname"), "web-1\n");
  return { repo, root, shadow, outside: path.dirname(shadow) };
}

async function expectRefused(
  s: { repo: string; root: string },
  line: RegExp,
  extra: string[] = [],
): Promise<void> {
  const before = treeHash(s.root);
  const res = await muster(["converge", "--repo", s.repo, "--role", "web", "--root", s.root, ...extra]);
  expect(res.code, res.stderr + res.stdout).toBe(2);
  const lines = res.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(res.stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(path.join(s.root, "etc/hostname"))).toBe(true);
  expect(treeHash(s.root)).toBe(before);
  const check = await muster(["check", "--no-typecheck", "--repo", s.repo]);
  expect(check.code, check.stderr + check.stdout).toBe(2);
  expect(check.stderr.trim().split("\n")).toContainEqual(expect.stringMatching(line));
}

describe("a resource that would delete the root or a directory of the host", () => {
  it.each([
    [
      "/",
      /^muster: recipes\/web\.ts:3: directory\[\/\]: path: \/ is the root itself; muster will not delete it/,
    ],
    ["/.", /^muster: recipes\/web\.ts:3: directory\[\/\.\]: path: \/\. \(\/\) is the root itself/],
    ["//", /^muster: recipes\/web\.ts:3: directory\[\/\/\]: path: \/\/ \(\/\) is the root itself/],
    [
      "/x/..",
      /^muster: recipes\/web\.ts:3: directory\[\/x\/\.\.\]: path: \/x\/\.\. \(\/\) is the root itself/,
    ],
    [
      "/etc",
      /^muster: recipes\/web\.ts:3: directory\[\/etc\]: path: \/etc is a directory of the host itself/,
    ],
  ])('directory("%s", { action: "delete", recursive: true }) is refused and the root stays', (p, line) =>
    expectRefused(setup(`  directory(${JSON.stringify(p)}, { action: "delete", recursive: true });`), line),
  );

  it("is refused in a dry run as well", () =>
    expectRefused(
      setup(`  directory("/", { action: "delete", recursive: true });`),
      /directory\[\/\]: path: \/ is the root itself/,
      ["--dry-run"],
    ));

  it("file and link delete, and a git destination, follow the same rule", async () => {
    await expectRefused(
      setup(`  file("/etc/", { action: "delete" });`),
      /^muster: recipes\/web\.ts:3: file\[\/etc\/\]: path: \/etc\/ \(\/etc\) is a directory of the host itself/,
    );
    await expectRefused(
      setup(`  link("/.", { to: "/tmp", action: "delete" });`),
      /^muster: recipes\/web\.ts:3: link\[\/\.\]: path: \/\. \(\/\) is the root itself/,
    );
    await expectRefused(
      setup(`  git("/etc", { repository: "https://example.org/app.git" });`),
      /^muster: recipes\/web\.ts:3: git\[\/etc\]: destination: \/etc is a directory of the host itself; muster will not check a repository out into it/,
    );
  });

  it("a directory of its own inside the root is still deleted", async () => {
    const s = setup(`  directory("/srv/old", { action: "delete", recursive: true });`);
    mkdirSync(path.join(s.root, "srv/old/x"), { recursive: true });
    const res = await muster(["converge", "--repo", s.repo, "--role", "web", "--root", s.root]);
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(path.join(s.root, "srv/old"))).toBe(false);
    expect(existsSync(path.join(s.root, "etc/hostname"))).toBe(true);
  });
});

describe("a source that is a link out of the config repo", () => {
  it("files/leak -> a shadow file outside: refused, nothing written", async () => {
    const s = setup(`  file("/etc/x", { source: "leak", mode: "0644" });`);
    symlinkSync(s.shadow, path.join(s.repo, "files/leak"));
    await expectRefused(
      s,
      new RegExp(
        `^muster: recipes/web\\.ts:3: file\\[/etc/x\\]: files/leak is a link to ${s.shadow}, outside the config repo`,
      ),
    );
    expect(existsSync(path.join(s.root, "etc/x"))).toBe(false);
  });

  it("templates/leak.eta -> a shadow file outside: refused, nothing written", async () => {
    const s = setup(`  template("/etc/x", { source: "leak.eta" });`);
    symlinkSync(s.shadow, path.join(s.repo, "templates/leak.eta"));
    await expectRefused(
      s,
      /^muster: recipes\/web\.ts:3: template\[\/etc\/x\]: templates\/leak\.eta is a link to .*\/outside\/shadow, outside the config repo/,
    );
    expect(existsSync(path.join(s.root, "etc/x"))).toBe(false);
  });

  it("files/host -> a directory outside: a file under it is refused", async () => {
    const s = setup(`  file("/etc/x", { source: "host/etc/passwd" });`);
    symlinkSync(s.outside, path.join(s.repo, "files/host"));
    await expectRefused(
      s,
      /^muster: recipes\/web\.ts:3: file\[\/etc\/x\]: files\/host\/etc\/passwd is a link to .*\/outside\/etc\/passwd, outside the config repo/,
    );
    expect(existsSync(path.join(s.root, "etc/x"))).toBe(false);
  });

  it("a link to a file elsewhere inside the repo still works", async () => {
    const s = setup(
      `  file("/etc/motd", { source: "motd-link" });\n  file("/etc/motd2", { source: "motd" });`,
    );
    symlinkSync("../shared/motd", path.join(s.repo, "files/motd-link"));
    const res = await muster(["converge", "--repo", s.repo, "--role", "web", "--root", s.root]);
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(path.join(s.root, "etc/motd"), "utf8")).toBe("shared hello\n");
    expect(readFileSync(path.join(s.root, "etc/motd2"), "utf8")).toBe("hello\n");
  });
});

describe("inputs the trials found accepted, now bounded", () => {
  it("an over-long --environment is one line, exit 2, and the root is untouched", async () => {
    const s = setup('directory("/srv/x", {});');
    const before = treeHash(s.root);
    const res = await muster([
      "converge",
      ...["--repo", s.repo, "--role", "web", "--root", s.root],
      ...["--environment", "e".repeat(5000)],
    ]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(/--environment e+\.\.\.: expected a name/);
    expect(treeHash(s.root)).toBe(before);
  });

  it("a role's description of 100 kB is bad input naming the field", async () => {
    const role = { name: "web", description: "d".repeat(100_000), run_list: ["recipe[web]"] };
    const s = setup('directory("/srv/x", {});', { "roles/web.json": JSON.stringify(role) });
    const before = treeHash(s.root);
    const res = await muster(["converge", "--repo", s.repo, "--role", "web", "--root", s.root]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/roles\/web\.json: description: must be at most 4096 characters long/);
    expect(treeHash(s.root)).toBe(before);
  });

  it("fleet scale past what any fleet can hold is bad input, before any fleet is asked", async () => {
    const res = await muster(["fleet", "scale", "1000000000000", "--state-dir", tmpDir("muster-no-fleet-")]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe(
      "muster: fleet scale 1000000000000: expected a whole number from 0 to 4096",
    );
  });
});
