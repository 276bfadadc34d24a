/**
 * A git resource whose repository URL changed, converged for real against two local bare
 * repositories: origin is moved on disk and the new commit is fetched from the new repository.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bareRepoFrom, commitTo } from "../demo/example-repos.ts";
import { execOk } from "../host/exec.ts";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

describe("a changed repository URL", () => {
  it("sets origin to the new URL and fetches from the new repository", async () => {
    const src = tmpDir();
    writeFileSync(path.join(src, "app.txt"), "v1\n");
    const oldBare = path.join(tmpDir(), "old.git");
    const first = await bareRepoFrom(src, oldBare, "first");
    // the new repository: the old history plus a commit only it has
    const newBare = path.join(tmpDir(), "new.git");
    await execOk(["git", "clone", "-q", "--bare", "--", oldBare, newBare]);
    const moved = await commitTo(
      newBare,
      { "app.txt": "v2 from the new home\n" },
      "only in the new repository",
    );

    const root = tmpDir();
    const dest = path.join(root, "srv/app");
    const decls = (repository: string) => [
      { kind: "directory", name: "/srv", props: {} },
      { kind: "git", name: "/srv/app", props: { repository } },
    ];
    const gitIn = async (...args: string[]) => (await execOk(["git", "-C", dest, ...args])).stdout.trim();

    const before = await convergeDecls(root, decls(oldBare));
    expect(before.outcome, before.error).toBe("converged");
    expect(await gitIn("rev-parse", "HEAD")).toBe(first);

    const after = await convergeDecls(root, decls(newBare));
    expect(after.outcome, after.error).toBe("converged");
    expect(after.resources[1].changes.map((c) => c.what)).toEqual([
      `set origin to ${newBare} (was ${oldBare})`,
      `move ${first.slice(0, 7)} -> ${moved.slice(0, 7)} (master)`,
    ]);
    expect(await gitIn("config", "--get", "remote.origin.url")).toBe(newBare);
    expect(await gitIn("rev-parse", "HEAD")).toBe(moved);
    expect(readFileSync(path.join(dest, "app.txt"), "utf8")).toBe("v2 from the new home\n");
    // the old repository never had that commit: it can only have come from the new one
    await expect(execOk(["git", "--git-dir", oldBare, "cat-file", "-e", moved])).rejects.toThrow();

    const again = await convergeDecls(root, decls(newBare));
    expect(again.resources.map((r) => r.status)).toEqual(["up-to-date", "up-to-date"]);
  });
});
