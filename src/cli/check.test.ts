import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, EXAMPLES, muster, packageCopy, REPO_ROOT, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

describe("muster check", () => {
  it("a nested role that cannot be read is one problem, not also an unknown role where it is named", async () => {
    const repo = path.join(tmpDir(), "repo");
    cpSync(path.join(EXAMPLES, "config-repo"), repo, { recursive: true });
    writeFileSync(path.join(repo, "roles/base.yaml"), "name: base\nrun_list: [\n");
    const res = await muster(["check", "--no-typecheck", "--repo", repo]);
    expect(res.code).toBe(2);
    const problems = res.stderr.split("\n").filter((l) => l.startsWith("muster: "));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^muster: roles\/base\.yaml: not valid YAML/);
  });

  it("a recipe's syntax error is one problem: the type check's, not also the compiler's at the same line", async () => {
    const repo = path.join(tmpDir(), "repo");
    cpSync(path.join(EXAMPLES, "config-repo"), repo, { recursive: true });
    const recipe = path.join(repo, "recipes/base.ts");
    const lines = readFileSync(recipe, "utf8").split("\n").length;
    writeFileSync(recipe, `${readFileSync(recipe, "utf8")}\nconst x = ;\n`);
    const res = await muster(["check", "--repo", repo]);
    expect(res.code).toBe(2);
    const problems = res.stderr.split("\n").filter((l) => l.startsWith("muster: "));
    expect(problems).toEqual([`muster: recipes/base.ts:${lines + 1}: Expression expected.`]);
  });

  it("a template's syntax error is one problem, not also the resource's that renders it", async () => {
    const repo = path.join(tmpDir(), "repo");
    cpSync(path.join(EXAMPLES, "config-repo"), repo, { recursive: true });
    writeFileSync(path.join(repo, "templates/site.conf.eta"), "server {\n<%= it.port \n");
    const res = await muster(["check", "--no-typecheck", "--repo", repo]);
    expect(res.code).toBe(2);
    const problems = res.stderr.split("\n").filter((l) => l.startsWith("muster: "));
    expect(problems).toEqual(["muster: templates/site.conf.eta: syntax error: unclosed tag at line 2 col 1"]);
  });

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

  it("a --repo that does not exist: one line, exit 2, no progress line before it", async () => {
    const res = await muster(["check", "--repo", path.join(tmpDir("muster-check-"), "nope")]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^muster: --repo .*nope: config repository directory does not exist$/),
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

describe("muster check: where the TypeScript compiler comes from", () => {
  /**
   * muster as installed without TypeScript (it is no dependency): a copy of the package whose
   * node_modules has everything but typescript, and a PATH with node and the system only.
   */
  function musterWithoutTypeScript(): { bin: string; env: NodeJS.ProcessEnv } {
    const pkg = packageCopy();
    unlinkSync(path.join(pkg.dir, "node_modules"));
    mkdirSync(path.join(pkg.dir, "node_modules"));
    for (const name of readdirSync(path.join(REPO_ROOT, "node_modules")))
      if (name !== "typescript" && name !== "@typescript" && name !== ".bin")
        symlinkSync(path.join(REPO_ROOT, "node_modules", name), path.join(pkg.dir, "node_modules", name));
    symlinkSync(path.join(REPO_ROOT, "src"), path.join(pkg.dir, "src"));
    return { bin: pkg.bin, env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } };
  }
  /** the example repo with a type error only tsc sees (esbuild strips types, the compile phase runs) */
  function repoWithTypeError(): string {
    const repo = tmpDir("muster-check-tsc-");
    cpSync(path.join(EXAMPLES, "config-repo"), repo, { recursive: true });
    const base = path.join(repo, "recipes/base.ts");
    writeFileSync(base, `const n: number = "not a number";\nvoid n;\n${readFileSync(base, "utf8")}`);
    return repo;
  }
  const typeError = /^muster: recipes\/base\.ts:1: Type 'string' is not assignable to type 'number'\.$/m;
  /** stderr without check's progress lines ("muster check: templates ...", "...: done (0.1 s)") */
  const withoutProgress = (stderr: string) =>
    stderr
      .split("\n")
      .filter((l) => !/^muster check: .*( \.\.\.|: done \(\d+(\.\d+)? s\))$/.test(l))
      .join("\n");

  it("none found: recipes are not type-checked, a warning says how to add one, exit 0", async () => {
    const { bin, env } = musterWithoutTypeScript();
    const repo = repoWithTypeError();
    const res = await muster(["check", "--repo", repo], { bin, env });
    expect(withoutProgress(res.stderr)).toBe(
      `muster check: warning: recipes not type-checked: no TypeScript compiler (the config repository's node_modules/typescript, or tsc on PATH); add one with \`npm install --save-dev typescript\` in ${repo}\n`,
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`muster check: ${repo}: ok\n`);
  });

  it("none found and --typecheck demands it: a problem, exit 2; --no-typecheck: silent", async () => {
    const { bin, env } = musterWithoutTypeScript();
    const repo = repoWithTypeError();
    const res = await muster(["check", "--repo", repo, "--typecheck"], { bin, env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      "muster: --typecheck: no TypeScript compiler (the config repository's node_modules/typescript, or tsc on PATH); add one with `npm install --save-dev typescript`",
    );
    const off = await muster(["check", "--repo", repo, "--no-typecheck"], { bin, env });
    expect(off.code).toBe(0);
    expect(withoutProgress(off.stderr)).toBe("");
  });

  it("the config repository's node_modules/typescript, or a tsc on PATH, finds the type error", async () => {
    const { bin, env } = musterWithoutTypeScript();
    const repo = repoWithTypeError();
    mkdirSync(path.join(repo, "node_modules"));
    symlinkSync(path.join(REPO_ROOT, "node_modules/typescript"), path.join(repo, "node_modules/typescript"));
    const own = await muster(["check", "--repo", repo], { bin, env });
    expect(own.code).toBe(2);
    expect(own.stderr).toMatch(typeError);

    rmSync(path.join(repo, "node_modules"), { recursive: true });
    const tools = tmpDir("muster-check-path-");
    writeFileSync(
      path.join(tools, "tsc"),
      `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO_ROOT, "node_modules/typescript/bin/tsc")}" "$@"\n`,
      { mode: 0o755 },
    );
    const onPath = await muster(["check", "--repo", repo], { bin, env: { PATH: `${tools}:${env.PATH}` } });
    expect(onPath.code).toBe(2);
    expect(onPath.stderr).toMatch(typeError);
  });
});
