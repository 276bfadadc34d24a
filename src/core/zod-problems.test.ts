import { describe, expect, it } from "vitest";
import { z } from "./zod.ts";
import { zodProblems } from "./zod-problems.ts";

const role = z.strictObject({
  runList: z.array(z.string()),
  attributes: z.record(z.string(), z.unknown()).optional(),
  nested: z.strictObject({ port: z.number() }).optional(),
});

function problems(value: unknown): string[] {
  const r = role.safeParse(value);
  if (r.success) throw new Error("expected a failure");
  return zodProblems("roles/web.yaml", r.error, [], "field");
}

describe("zodProblems", () => {
  it("a misspelt required key is one line that names the key it should be", () => {
    expect(problems({ runlist: ["app"] })).toEqual([
      'roles/web.yaml: unknown field "runlist" (did you mean "runList"?)',
    ]);
    expect(problems({ nested: { prot: 80 }, runList: [] })).toEqual([
      'roles/web.yaml: nested: unknown field "prot" (did you mean "port"?)',
    ]);
  });

  it("an unknown key far from every missing one, and a missing key, stay two lines", () => {
    expect(problems({ colour: "red" })).toEqual([
      "roles/web.yaml: runList: required",
      'roles/web.yaml: unknown field "colour"',
    ]);
  });

  it("every problem at once, in zod's order", () => {
    expect(problems({ runList: "app", extra: 1 })).toEqual([
      'roles/web.yaml: runList: must be a list (got "app")',
      'roles/web.yaml: unknown field "extra"',
    ]);
  });
});

describe("a map's key that fails its own check", () => {
  const schema = z.strictObject({
    tags: z.record(z.string().max(8), z.string()).optional(),
    env: z.record(z.string().regex(/^[^=]+$/, { message: "holds =" }), z.string()).optional(),
  });
  const lines = (value: unknown) => {
    const r = schema.safeParse(value);
    return r.success ? [] : zodProblems("f.yaml", r.error, [], "field");
  };

  it("is named in the line, with the key's own problem, not as a step of the path", () => {
    expect(lines({ tags: { "much too long": "v" } })).toEqual([
      'f.yaml: tags: key "much too long": must be at most 8 characters long',
    ]);
    expect(lines({ tags: { short: "v" } })).toEqual([]);
  });

  it("under a field that may hold secrets, only up to its =", () => {
    expect(lines({ env: { "TOKEN=s3cret": "" } })).toEqual(['f.yaml: env: key "TOKEN=...": holds =']);
  });
});
