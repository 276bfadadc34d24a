import { describe, expect, it } from "vitest";
import { deepMerge, parseAttrFlag } from "./attributes.ts";
import { expandRunList } from "./expand.ts";
import { parseRunListItem, type Role } from "./role-schema.ts";

function role(
  name: string,
  runList: string[],
  defaults = {},
  overrides = {},
  env: Record<string, string[]> = {},
): Role {
  return {
    name,
    runList: runList.map((e) => parseRunListItem(e)!),
    envRunLists: Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.map((e) => parseRunListItem(e)!)]),
    ),
    shutdownRunList: [],
    defaultAttributes: defaults,
    overrideAttributes: overrides,
    file: `roles/${name}.json`,
    format: "chef",
  };
}
const roles = (...list: Role[]) => new Map(list.map((r) => [r.name, r]));

describe("run-list expansion (Chef's order)", () => {
  it("expands nested roles in place, depth first, each recipe once", () => {
    const r = roles(
      role("base", ["recipe[ntp]", "recipe[users]"]),
      role("web", ["role[base]", "recipe[nginx::site]", "ntp", "recipe[app]"]),
    );
    const e = expandRunList(r, [{ type: "role", name: "web" }]);
    expect(e.recipes).toEqual(["ntp", "users", "nginx::site", "app"]);
    expect(e.roles).toEqual(["base", "web"]);
  });

  it("applies a role reached twice once (a diamond is not a cycle)", () => {
    const r = roles(
      role("a", ["recipe[x]"]),
      role("b", ["role[a]"]),
      role("top", ["role[a]", "role[b]", "recipe[y]"]),
    );
    expect(expandRunList(r, [{ type: "role", name: "top" }]).recipes).toEqual(["x", "y"]);
  });

  it("merges attributes: nested role first, then the role that names it; later siblings win", () => {
    const r = roles(
      role("base", [], { port: 1, nested: { a: 1, b: 1 } }, { o: "base" }),
      role("extra", [], { port: 2 }, { o: "extra" }),
      role("web", ["role[base]", "role[extra]"], { nested: { b: 3 } }, {}),
    );
    const e = expandRunList(r, [{ type: "role", name: "web" }]);
    expect(e.defaultAttributes).toEqual({ port: 2, nested: { a: 1, b: 3 } });
    expect(e.overrideAttributes).toEqual({ o: "extra" });
  });

  it("uses env_run_lists for the environment", () => {
    const r = roles(role("web", ["recipe[a]"], {}, {}, { staging: ["recipe[b]"] }));
    expect(expandRunList(r, [{ type: "role", name: "web" }], "staging").recipes).toEqual(["b"]);
    expect(expandRunList(r, [{ type: "role", name: "web" }], "production").recipes).toEqual(["a"]);
  });

  it("names a role cycle", () => {
    const r = roles(role("a", ["role[b]"]), role("b", ["role[c]"]), role("c", ["role[a]"]));
    expect(() => expandRunList(r, [{ type: "role", name: "a" }], undefined, "--role")).toThrow(
      "roles/c.json: role cycle a -> b -> c -> a; remove one of these role[] entries",
    );
  });
});

describe("attributes", () => {
  it("deep-merges objects and replaces arrays and scalars", () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: 2 })).toEqual({
      a: { b: 1, c: [3] },
      d: 2,
    });
  });
  it("parses --attr flags with JSON values", () => {
    expect(parseAttrFlag("app.port=8080")).toEqual({ app: { port: 8080 } });
    expect(parseAttrFlag("app.name=web-1")).toEqual({ app: { name: "web-1" } });
    expect(parseAttrFlag('a.list=["x"]')).toEqual({ a: { list: ["x"] } });
    expect(() => parseAttrFlag("nokey")).toThrow(/expected key.path=value/);
  });
  it("refuses an --attr nested deeper than data may be (2000 keys overflowed the merge)", () => {
    expect(() => parseAttrFlag(`${Array(2000).fill("a").join(".")}=1`)).toThrow(
      /^--attr a\.a\.a.*\.\.\.: nested more than 100 levels deep$/,
    );
    expect(() => parseAttrFlag(`a.b=${"[".repeat(150)}${"]".repeat(150)}`)).toThrow(/nested more than 100/);
    expect(parseAttrFlag(`${Array(50).fill("a").join(".")}=1`)).toBeTypeOf("object");
  });
});

describe("run-list items", () => {
  it("reads recipe[], role[], bare names and ignores version pins", () => {
    expect(parseRunListItem("recipe[nginx::site]")).toEqual({ type: "recipe", name: "nginx::site" });
    expect(parseRunListItem("role[base]")).toEqual({ type: "role", name: "base" });
    expect(parseRunListItem("ntp")).toEqual({ type: "recipe", name: "ntp" });
    expect(parseRunListItem("recipe[app@1.2.0]")).toEqual({ type: "recipe", name: "app" });
    expect(parseRunListItem("recipe[")).toBeUndefined();
  });
});
