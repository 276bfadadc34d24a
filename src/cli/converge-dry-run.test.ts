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
