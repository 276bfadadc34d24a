import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UNKNOWN_PLATFORM } from "../host/platform.ts";
import { compileRun } from "../runner/compile.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { compileRecipes } from "./compile-recipes.ts";
import { loadConfigRepo } from "./repo.ts";

afterAll(cleanupTmp);

function write(dir: string, files: Record<string, string>) {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
}

describe("recipe compilation", () => {
  it("resolves imports between recipes, local modules and the repo's node_modules; cookbook names", async () => {
    const dir = tmpDir();
    write(dir, {
      "roles/app.yaml": "name: app\nrunList: ['recipe[nginx]', 'recipe[nginx::site]']\n",
      "lib/paths.ts": 'export const confDir = (name: string) => "/etc/" + name;\n',
      "node_modules/shout/package.json": '{ "name": "shout", "version": "1.0.0", "main": "index.js" }',
      "node_modules/shout/index.js": "module.exports = (s) => s.toUpperCase();\n",
      "recipes/nginx/default.ts":
        'import { recipe } from "muster";\nimport { confDir } from "../../lib/paths.ts";\nexport default recipe("nginx", ({ directory }) => {\n  directory(confDir("nginx"), {});\n});\n',
      "recipes/nginx/site.ts":
        'import { recipe } from "muster";\nimport shout from "shout";\nexport default recipe("nginx::site", ({ file, include }) => {\n  include("nginx");\n  file("/etc/nginx/site", { content: shout("hi") });\n});\n',
    });
    const cacheDir = mkdtempSync(path.join(dir, "cache-"));
    const repo = loadConfigRepo(dir);
    expect([...repo.recipeFiles.keys()].sort()).toEqual(["nginx", "nginx::site"]);
    const recipes = await compileRecipes(repo, { cacheDir });
    const run = compileRun({
      repo,
      recipes,
      role: "app",
      node: { hostname: "h", root: "/", platform: UNKNOWN_PLATFORM },
    });
    expect(run.resources.map((r) => r.id)).toEqual(["directory[/etc/nginx]", "file[/etc/nginx/site]"]);
    expect(run.resources[1].props.content).toBe("HI");
    expect(run.resources[1].source).toEqual({ file: "recipes/nginx/site.ts", line: 5 });

    // a change to an imported module (not a recipe file) makes a new bundle
    write(dir, { "lib/paths.ts": 'export const confDir = (name: string) => "/opt/" + name;\n' });
    const again = await compileRecipes(loadConfigRepo(dir), { cacheDir });
    const run2 = compileRun({
      repo,
      recipes: again,
      role: "app",
      node: { hostname: "h", root: "/", platform: UNKNOWN_PLATFORM },
    });
    expect(run2.resources[0].id).toBe("directory[/opt/nginx]");
  });

  it("a recipe whose name does not match its file is bad input naming the file", async () => {
    const dir = tmpDir();
    write(dir, {
      "roles/r.json": '{ "name": "r", "runList": ["web"] }',
      "recipes/web.ts": 'import { recipe } from "muster";\nexport default recipe("wbe", () => {});\n',
    });
    await expect(compileRecipes(loadConfigRepo(dir), { cacheDir: path.join(dir, "c") })).rejects.toThrow(
      'recipes/web.ts: recipe("wbe") does not match its file; name it "web"',
    );
  });
});
