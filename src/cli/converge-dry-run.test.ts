/**
 * The first runs a new user makes: a dry run of the example config repo under a temporary root
 * works as the docs write it (no --attr), saying what a git resource would clone from a remote it
 * cannot reach; and a run on this host (no --root) says so on its first line.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bareRepoFrom } from "../demo/example-repos.ts";
import { cleanupTmp, EXAMPLES, muster, tmpDir, treeHash } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

const configRepo = path.join(EXAMPLES, "config-repo");

describe("converge --dry-run of the example", () => {
  it("works without --attr: the placeholder app repository is a would-clone with why, not a failure", async () => {
    const root = tmpDir("muster-root-");
    const before = treeHash(root);
    const res = await muster([
      "converge",
      "--repo",
      configRepo,
      "--role",
      "web",
      "--root",
      root,
      "--dry-run",
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(
      "would clone https://git.example.test/app.git at master (the remote was not reached: ",
    );
    expect(res.stdout).toMatch(/resources would be updated/);
    expect(treeHash(root)).toBe(before);
  });

  it("a remote that answers without the revision still fails the dry run", async () => {
    const app = path.join(tmpDir(), "app.git");
    await bareRepoFrom(path.join(EXAMPLES, "app"), app);
    const res = await muster([
      ...["converge", "--repo", configRepo, "--role", "web", "--root", tmpDir(), "--dry-run"],
      ...["--attr", `app.repo=${app}`, "--attr", "app.revision=no-such-branch"],
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('revision "no-such-branch" is not a branch or tag');
  });
});

describe("converge --dry-run fails where the run would", () => {
  it("a directory where a file goes, a directory to delete that is not empty, a file where a parent goes, an unknown owner: the same line, exit 1", async () => {
    const repo = tmpDir("muster-repo-");
    mkdirSync(path.join(repo, "roles"));
    mkdirSync(path.join(repo, "recipes"));
    writeFileSync(path.join(repo, "roles/t.json"), JSON.stringify({ name: "t", runList: ["x"] }));
    const cases: [string, (root: string) => void, string][] = [
      [
        'directory("/d", {}); file("/d/f", { content: "hi\\n" });',
        (root) => mkdirSync(path.join(root, "d/f"), { recursive: true }),
        "x file[/d/f] (recipes/x.ts:3) failed: /d/f is a directory; remove it or choose another path",
      ],
      [
        'link("/d/l", { to: "f" });',
        (root) => mkdirSync(path.join(root, "d/l"), { recursive: true }),
        "x link[/d/l] (recipes/x.ts:3) failed: /d/l is a directory; remove it before making a link there",
      ],
      [
        'directory("/d/sub", { action: "delete" });',
        (root) => {
          mkdirSync(path.join(root, "d/sub"), { recursive: true });
          writeFileSync(path.join(root, "d/sub/x"), "x\n");
        },
        "x directory[/d/sub] (recipes/x.ts:3) failed: /d/sub is not empty; set recursive: true to delete it with its contents",
      ],
      [
        'directory("/d/sub/deep", { recursive: true });',
        (root) => {
          mkdirSync(path.join(root, "d"));
          writeFileSync(path.join(root, "d/sub"), "x\n");
        },
        'x directory[/d/sub/deep] (recipes/x.ts:3) failed: /d/sub is a file, not a directory, so directory /d/sub/deep cannot be made under it; remove it first (file("/d/sub", { action: "delete" })) or choose another path',
      ],
      [
        'directory("/ok", {}); file("/ok/b", { owner: "no-such-user-xyz" });',
        () => {},
        'x file[/ok/b] (recipes/x.ts:3) failed: user "no-such-user-xyz" does not exist in ',
      ],
    ];
    for (const [body, setup, line] of cases) {
      writeFileSync(
        path.join(repo, "recipes/x.ts"),
        `import { recipe } from "muster";\nexport default recipe("x", ({ directory, file, link }) => {\n  ${body}\n});\n`,
      );
      const failure = async (dryRun: boolean) => {
        const root = tmpDir("muster-root-");
        setup(root);
        const args = ["converge", "--repo", repo, "--role", "t", "--root", root];
        const res = await muster(dryRun ? [...args, "--dry-run"] : args);
        const lines = `${res.stdout}\n${res.stderr}`.split("\n").map((l) => l.trim());
        return { code: res.code, line: lines.find((l) => l.startsWith("x ")) };
      };
      const dry = await failure(true);
      expect(dry.line).toContain(line);
      expect(dry).toEqual(await failure(false));
      expect(dry.code).toBe(1);
    }
  });
});

describe("converge of this host", () => {
  it("says THIS HOST on its first line (a dry run here: a test never changes the host)", async () => {
    const repo = tmpDir("muster-repo-");
    mkdirSync(path.join(repo, "roles"));
    mkdirSync(path.join(repo, "recipes"));
    writeFileSync(
      path.join(repo, "roles/web.json"),
      JSON.stringify({ name: "web", run_list: ["recipe[web]"] }),
    );
    writeFileSync(
      path.join(repo, "recipes/web.ts"),
      `import { recipe } from "muster";\nexport default recipe("web", ({ directory }) => {\n  directory("/muster-test-no-such-dir-${process.pid}", {});\n});\n`,
    );
    const host = await muster(["converge", "--repo", repo, "--role", "web", "--dry-run"]);
    expect(host.code, host.stderr).toBe(0);
    expect(host.stdout.split("\n")[0]).toBe(
      "muster converge: converging THIS HOST (/) to role web (dry run: nothing will change)",
    );
    const sandbox = tmpDir("muster-root-");
    const other = await muster(["converge", "--repo", repo, "--role", "web", "--dry-run", "--root", sandbox]);
    expect(other.stdout.split("\n")[0]).toBe(
      `muster: converging role web into ${sandbox} (dry run: nothing will change)`,
    );
  });
});
