import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { loadConfigRepo } from "./repo.ts";

afterAll(cleanupTmp);

function repoWith(roles: Record<string, unknown>): string {
  const dir = tmpDir();
  mkdirSync(path.join(dir, "roles"));
  mkdirSync(path.join(dir, "recipes"));
  writeFileSync(
    path.join(dir, "recipes/web.ts"),
    'import { recipe } from "muster";\nexport default recipe("web", () => {});\n',
  );
  for (const [name, role] of Object.entries(roles))
    writeFileSync(path.join(dir, "roles", `${name}.json`), JSON.stringify(role));
  return dir;
}

describe("roles in either form", () => {
  it("Chef's form and muster's give the same role", () => {
    const chef = loadConfigRepo(
      repoWith({
        web: {
          name: "web",
          json_class: "Chef::Role",
          run_list: ["recipe[web]"],
          env_run_lists: { prod: ["web"] },
          shutdown_run_list: ["recipe[web]"],
          default_attributes: { a: 1 },
          override_attributes: { b: 2 },
        },
      }),
    ).roles.get("web");
    const muster = loadConfigRepo(
      repoWith({
        web: {
          name: "web",
          runList: ["recipe[web]"],
          envRunLists: { prod: ["web"] },
          shutdownRunList: ["recipe[web]"],
          defaultAttributes: { a: 1 },
          overrideAttributes: { b: 2 },
        },
      }),
    ).roles.get("web");
    expect(chef).toMatchObject({ format: "chef", defaultAttributes: { a: 1 }, overrideAttributes: { b: 2 } });
    expect({ ...chef, format: "muster", file: "" }).toEqual({ ...muster, file: "" });
  });

  it("a bad run list item is named by the form's own field", () => {
    const bad = "recipe[";
    expect(() =>
      loadConfigRepo(repoWith({ web: { name: "web", run_list: ["web"], env_run_lists: { prod: [bad] } } })),
    ).toThrow(
      `roles/web.json: env_run_lists.prod[0]: "${bad}" is not recipe[name], role[name] or a recipe name`,
    );
    expect(() =>
      loadConfigRepo(repoWith({ web: { name: "web", runList: ["web"], shutdownRunList: [bad] } })),
    ).toThrow(
      `roles/web.json: shutdownRunList[0]: "${bad}" is not recipe[name], role[name] or a recipe name`,
    );
  });
});

describe("one name in two files", () => {
  it("a role in both roles/web.json and roles/web.yaml names both files", () => {
    const dir = repoWith({ web: { name: "web", runList: ["web"] } });
    writeFileSync(path.join(dir, "roles/web.yaml"), "name: web\nrunList: [web]\n");
    const problems: string[] = [];
    loadConfigRepo(dir, problems);
    expect(problems).toEqual([
      'roles/web.yaml: role "web" is defined twice (also in roles/web.json); keep one of the two files',
    ]);
  });

  it("attributes in both attributes/web.json and attributes/web.yml: neither silently replaces the other", () => {
    const dir = repoWith({ web: { name: "web", runList: ["web"] } });
    mkdirSync(path.join(dir, "attributes"));
    writeFileSync(path.join(dir, "attributes/web.json"), JSON.stringify({ web: { port: 80 } }));
    writeFileSync(path.join(dir, "attributes/web.yml"), "web:\n  port: 8080\n");
    expect(() => loadConfigRepo(dir)).toThrow(
      'attributes/web.yml: the attributes of "web" are defined twice (also in attributes/web.json); merge them into one file',
    );
  });
});

describe("environment names in a role", () => {
  it("an env_run_lists key no environment could select is one problem naming it", () => {
    expect(() =>
      loadConfigRepo(
        repoWith({ web: { name: "web", run_list: ["web"], env_run_lists: { "prod env": ["web"] } } }),
      ),
    ).toThrow(
      'roles/web.json: env_run_lists: key "prod env": expected an environment name of letters, digits, . _ - (such as "production")',
    );
  });
});
