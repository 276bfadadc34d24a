/**
 * `muster init`: the repository it writes checks clean (roles, recipes type-checked and
 * compiled, templates), its tsconfig.json type-checks the recipes as an editor would, and a
 * directory that is not empty is refused with nothing written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exec } from "../host/exec.ts";
import { cleanupTmp, muster, REPO_ROOT, tmpDir } from "../test-support/tmp.ts";
import { collectProblems } from "./run-check.ts";

afterAll(cleanupTmp);

const tsc = (project: string) =>
  exec([process.execPath, path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", project], {
    cwd: path.dirname(project),
    timeoutMs: 120_000,
  });

describe("muster init", () => {
  it("writes a repository that checks clean and whose tsconfig.json type-checks its recipes", async () => {
    const dir = path.join(tmpDir("muster-init-"), "repo");
    const res = await muster(["init", dir]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`muster check --repo ${dir}`);
    for (const f of [
      "roles/web.yaml",
      "recipes/app.ts",
      "templates/app.env.eta",
      "app/server.js",
      "fleet.yaml",
    ])
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    expect(await collectProblems({ repo: dir, typecheck: true })).toEqual([]);
    const ok = await tsc(path.join(dir, "tsconfig.json"));
    expect(ok.stdout).toBe("");
    expect(ok.code).toBe(0);

    // the editor setup really knows the props: a misspelt one is an error there and in check
    const recipe = path.join(dir, "recipes/app.ts");
    writeFileSync(recipe, readFileSync(recipe, "utf8").replace('mode: "0640"', 'mood: "0640"'));
    const bad = await tsc(path.join(dir, "tsconfig.json"));
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toContain("'mood' does not exist");
    expect((await collectProblems({ repo: dir, typecheck: true })).join("\n")).toContain("recipes/app.ts:");
  }, 120_000);

  it("refuses a directory that is not empty (exit 2) and writes nothing", async () => {
    const dir = tmpDir("muster-init-");
    mkdirSync(path.join(dir, "roles"));
    writeFileSync(path.join(dir, "notes.txt"), "mine\n");
    const res = await muster(["init", dir]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toBe(
      `muster: init ${dir}: not empty; give a new or empty directory (nothing was written)\n`,
    );
    expect(readdirSync(dir).sort()).toEqual(["notes.txt", "roles"]);
    expect(readdirSync(path.join(dir, "roles"))).toEqual([]);
  });

  it("a directory it cannot make is one line, exit 2, nothing left: a file or a dead link on the way, /proc (where it hung)", async () => {
    const top = tmpDir("muster-init-");
    writeFileSync(path.join(top, "f.txt"), "a file\n");
    symlinkSync(path.join(top, "gone"), path.join(top, "dangling"));
    const cases: [string, string][] = [
      [path.join(top, "f.txt/sub"), `${path.join(top, "f.txt")} is not a directory`],
      [path.join(top, "dangling/sub"), `${path.join(top, "dangling")} is a link to nothing`],
      ["/proc/muster-init-test/sub", "cannot make /proc/muster-init-test (ENOENT)"],
    ];
    for (const [dir, why] of cases) {
      const res = await muster(["init", dir], { timeoutMs: 20_000 });
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toBe(
        `muster: init ${dir}: ${why}; give a ${why.startsWith("cannot") ? "directory you can write" : "new or empty directory"}\n`,
      );
    }
    expect(readdirSync(top).sort()).toEqual(["dangling", "f.txt"]);
  });

  it("writes into an empty directory (the current one when none is given)", async () => {
    const dir = tmpDir("muster-init-");
    const res = await muster(["init"], { cwd: dir });
    expect(res.code).toBe(0);
    expect(readdirSync(dir)).toContain("fleet.yaml");
  });
});
