/**
 * Attribute precedence when a run is compiled: the cookbook's own defaults < the role's
 * defaults < the role's overrides, in muster's role form and in Chef's role JSON alike.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { recipe } from "../config/recipe-api.ts";
import { loadConfigRepo } from "../config/repo.ts";
import { UNKNOWN_PLATFORM } from "../host/platform.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { compileRun } from "./compile.ts";

afterAll(cleanupTmp);

/** The app recipe writes what the attributes say, so precedence shows in a resource too. */
const app = recipe("app", ({ file, attrs }) => {
  file("/etc/app.conf", {
    content: `port=${attrs.app.port} workers=${attrs.app.workers} log=${attrs.app.log}\n`,
  });
});

function repoWith(roleFile: string, role: string): string {
  const dir = tmpDir();
  mkdirSync(path.join(dir, "roles"));
  mkdirSync(path.join(dir, "recipes"));
  mkdirSync(path.join(dir, "attributes"));
  // every level sets port; workers is set by the cookbook and the role's defaults; log only here
  writeFileSync(
    path.join(dir, "attributes/app.json"),
    JSON.stringify({ app: { port: 1, workers: 1, log: "info" } }),
  );
  writeFileSync(
    path.join(dir, "recipes/app.ts"),
    'import { recipe } from "muster";\nexport default recipe("app", () => {});\n',
  );
  writeFileSync(path.join(dir, "roles", roleFile), role);
  return dir;
}

function compile(dir: string) {
  const repo = loadConfigRepo(dir);
  return compileRun({
    repo,
    recipes: new Map([["app", app]]),
    role: "web",
    node: { hostname: "h", root: "/", platform: UNKNOWN_PLATFORM },
  });
}

const expected = { app: { port: 3, workers: 2, log: "info" } };
const expectedContent = "port=3 workers=2 log=info\n";

describe("attribute precedence", () => {
  it("muster's role form: cookbook defaults < role defaults < role overrides", () => {
    const dir = repoWith(
      "web.yaml",
      [
        "name: web",
        "runList: ['recipe[app]']",
        "defaultAttributes: { app: { port: 2, workers: 2 } }",
        "overrideAttributes: { app: { port: 3 } }",
        "",
      ].join("\n"),
    );
    const run = compile(dir);
    expect(run.attrs).toEqual(expected);
    expect(run.resources[0].props.content).toBe(expectedContent);
  });

  it("Chef's role JSON: default_attributes < override_attributes, both over the cookbook's", () => {
    const dir = repoWith(
      "web.json",
      JSON.stringify({
        name: "web",
        json_class: "Chef::Role",
        chef_type: "role",
        run_list: ["recipe[app]"],
        // the override listed first in the file: the order of the keys must not matter
        override_attributes: { app: { port: 3 } },
        default_attributes: { app: { port: 2, workers: 2 } },
      }),
    );
    const run = compile(dir);
    expect(run.attrs).toEqual(expected);
    expect(run.resources[0].props.content).toBe(expectedContent);
  });
});
