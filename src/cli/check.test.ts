import { cpSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, EXAMPLES, muster, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

describe("muster check", () => {
  it("passes the example config repo", async () => {
    const res = await muster(["check", "--repo", path.join(EXAMPLES, "config-repo")]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(": ok");
    // not on a terminal: a line as each stage starts and as it ends, in order (stderr)
    expect(
      res.stderr
        .replace(/\(\d+\.\d s\)/g, "(T)")
        .trim()
        .split("\n"),
    ).toEqual([
      "muster check: roles and recipes ...",
      "muster check: roles and recipes: done (T)",
      "muster check: templates ...",
      "muster check: templates: done (T)",
      "muster check: type-check of the recipes ...",
      "muster check: type-check of the recipes: done (T)",
      "muster check: compile of the recipes ...",
      "muster check: compile of the recipes: done (T)",
      "muster check: compile phase of 2 roles ...",
      "muster check: compile phase of 2 roles: done (T)",
    ]);
  });

  it("reports every problem at once, each with its file, and exits 2", async () => {
    const repo = tmpDir("muster-check-");
    cpSync(path.join(EXAMPLES, "config-repo"), repo, { recursive: true });
    const roleFile = path.join(repo, "roles/web.json");
    writeFileSync(roleFile, readFileSync(roleFile, "utf8").replace("recipe[web]", "recipe[wbe]"));
    writeFileSync(path.join(repo, "templates/broken.eta"), "<%= it.x\n");
    const base = path.join(repo, "recipes/base.ts");
    writeFileSync(base, readFileSync(base, "utf8").replace('mode: "0644"', 'mode: "0644", colour: "red"'));
    const res = await muster(["check", "--repo", repo]);
    expect(res.code).toBe(2);
    const problemLines = (stderr: string) =>
      stderr
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("muster check: ") || l.endsWith("found"));
    const lines = problemLines(res.stderr);
    expect(lines).toContain('muster: roles/web.json: run_list[1]: unknown recipe "wbe"; did you mean "web"?');
    expect(lines).toContain("muster: templates/broken.eta: syntax error: unclosed tag at line 1 col 1");
    expect(lines.some((l) => /^muster: recipes\/base\.ts:\d+: .*'colour' does not exist/.test(l))).toBe(true);
    // the same prop is also caught by the compile phase for the base role
    expect(
      lines.some((l) =>
        /^muster: recipes\/base\.ts:\d+: file\[\/etc\/motd\]: unknown prop "colour"$/.test(l),
      ),
    ).toBe(true);
    expect(lines[lines.length - 1]).toBe("muster check: 4 problems found");
    // from any working directory, the type errors name the file in the repository as well
    const fromRoot = await muster(["check", "--repo", repo], { cwd: "/" });
    expect(problemLines(fromRoot.stderr)).toEqual(lines);
  });
});
