import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execOk } from "../host/exec.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { bareRepoFrom } from "./example-repos.ts";

afterAll(cleanupTmp);

const files = async (bare: string) =>
  (await execOk(["git", "--git-dir", bare, "ls-tree", "-r", "--name-only", "master"])).stdout
    .trim()
    .split("\n");

describe("a directory committed into a fresh bare repository (fleet.yaml's { dir })", () => {
  it("takes a directory that is a git checkout as its working tree: clean, edited, on main", async () => {
    const src = path.join(tmpDir(), "my-fleet");
    mkdirSync(path.join(src, "roles"), { recursive: true });
    writeFileSync(path.join(src, "roles/web.yaml"), "name: web\n");
    await execOk(["git", "init", "-q", "-b", "main", src]);
    await execOk(["git", "-C", src, "add", "-A"]);
    await execOk([
      "git",
      "-C",
      src,
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@t",
      "commit",
      "-q",
      "-m",
      "one",
    ]);
    const clean = path.join(tmpDir(), "clean.git");
    await bareRepoFrom(src, clean);
    expect(await files(clean)).toEqual(["roles/web.yaml"]);
    // an edit not committed yet is what the fleet runs
    writeFileSync(path.join(src, "roles/db.yaml"), "name: db\n");
    const edited = path.join(tmpDir(), "edited.git");
    await bareRepoFrom(src, edited);
    expect(await files(edited)).toEqual(["roles/db.yaml", "roles/web.yaml"]);
  });

  it("leaves out node_modules inside the directory, not a directory whose path merely names it", async () => {
    const src = path.join(tmpDir(), "my_node_modules_stuff", "fleet");
    mkdirSync(path.join(src, "node_modules/x"), { recursive: true });
    writeFileSync(path.join(src, "node_modules/x/index.js"), "\n");
    writeFileSync(path.join(src, "README.md"), "hi\n");
    const bare = path.join(tmpDir(), "r.git");
    await bareRepoFrom(src, bare);
    expect(await files(bare)).toEqual(["README.md"]);
  });
});
