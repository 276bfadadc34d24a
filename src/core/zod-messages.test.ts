import { describe, expect, it } from "vitest";
import { z } from "./zod.ts";
import { zodProblems } from "./zod-problems.ts";

/** The one-line problems muster prints for `value` against `schema`, as "file: field: message". */
function problems(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  if (r.success) throw new Error("expected the value to be refused");
  return zodProblems("fleet.yaml", r.error);
}

describe("zod's issues in muster's words", () => {
  const schema = z
    .object({
      count: z.number().int().min(1).max(20).optional(),
      name: z.string().min(1).optional(),
      tags: z.array(z.string()).min(1).optional(),
      mode: z.enum(["fast", "aws"]).optional(),
      command: z.union([z.string(), z.array(z.string())]).optional(),
      port: z.union([z.number().int(), z.literal("traffic-port")]).optional(),
      url: z
        .string()
        .regex(/^http:/)
        .optional(),
      own: z.number().int({ message: "a port number: a whole number from 1 to 65535" }).optional(),
    })
    .strict();

  it.each([
    [{ count: 1.5 }, "fleet.yaml: count: must be a whole number (got 1.5)"],
    [{ count: "3" }, 'fleet.yaml: count: must be a number (got "3")'],
    [{ count: 0 }, "fleet.yaml: count: must be at least 1 (got 0)"],
    [{ count: 21 }, "fleet.yaml: count: must be at most 20 (got 21)"],
    [{ name: "" }, "fleet.yaml: name: must not be empty"],
    [{ name: ["a"] }, "fleet.yaml: name: must be a string (got a list)"],
    [{ tags: [] }, "fleet.yaml: tags: must list at least one item"],
    [{ tags: "web" }, 'fleet.yaml: tags: must be a list (got "web")'],
    [{ tags: [1] }, "fleet.yaml: tags[0]: must be a string (got 1)"],
    [{ mode: "slow" }, 'fleet.yaml: mode: must be one of "fast", "aws" (got "slow")'],
    [{ command: 5 }, "fleet.yaml: command: must be a string or a list (got 5)"],
    [{ port: true }, 'fleet.yaml: port: must be a number or "traffic-port" (got true)'],
    [{ url: "ftp://x" }, 'fleet.yaml: url: does not have the expected form (/^http:/) (got "ftp://x")'],
    [{ own: 1.5 }, "fleet.yaml: own: a port number: a whole number from 1 to 65535"],
    [{ extra: 1 }, 'fleet.yaml: unknown prop "extra"'],
  ])("%j -> %s", (value, line) => {
    expect(problems(schema, value)).toEqual([line]);
  });

  it("never echoes a value that may be a secret (environment, passwords, tokens, content)", () => {
    const secrets = z.object({
      env: z.record(z.string(), z.string()).optional(),
      db: z.object({ password: z.string() }).optional(),
      content: z.string().optional(),
    });
    expect(problems(secrets, { env: "PGPASSWORD=hunter2" })).toEqual([
      "fleet.yaml: env: must be an object (key: value)",
    ]);
    expect(problems(secrets, { env: { DB_PASSWORD: 83427123 } })).toEqual([
      "fleet.yaml: env.DB_PASSWORD: must be a string",
    ]);
    expect(problems(secrets, { db: { password: 1234 } })).toEqual([
      "fleet.yaml: db.password: must be a string",
    ]);
    expect(problems(secrets, { content: 42 })).toEqual(["fleet.yaml: content: must be a string"]);
  });

  it("a union whose one fitting form fails inside says where and why", () => {
    const notify = z.object({
      notifies: z
        .union([
          z.string(),
          z.object({ resource: z.string(), timing: z.enum(["delayed", "immediate"]).optional() }),
        ])
        .optional(),
    });
    expect(problems(notify, { notifies: { resource: "service[app]", timing: "later" } })).toEqual([
      'fleet.yaml: notifies: timing: must be one of "delayed", "immediate" (got "later")',
    ]);
    expect(problems(notify, { notifies: 5 })).toEqual([
      "fleet.yaml: notifies: must be a string or an object (key: value) (got 5)",
    ]);
  });

  it("says a missing field is required", () => {
    expect(problems(z.object({ role: z.string() }), {})).toEqual(["fleet.yaml: role: required"]);
  });

  it("never shows zod's own wording", () => {
    const all = problems(schema, { count: "x", name: 1, tags: {}, mode: 2, command: {}, port: null, url: 3 });
    expect(all).toHaveLength(7);
    for (const line of all) expect(line).not.toMatch(/Invalid|Too (small|big)|received|expected/);
  });
});
