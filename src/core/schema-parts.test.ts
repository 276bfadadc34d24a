import { describe, expect, it } from "vitest";
import { absolutePath, ownerSchema } from "./schema-parts.ts";
import { z } from "./zod.ts";
import { zodProblems } from "./zod-problems.ts";

describe("schema parts", () => {
  it("an owner id is a 32-bit id, not -1's (uid_t)-1 nor beyond (Node's range error reached the user)", () => {
    expect(ownerSchema.safeParse(0).success).toBe(true);
    expect(ownerSchema.safeParse(0xfffffffe).success).toBe(true);
    expect(ownerSchema.safeParse(0xffffffff).success).toBe(false);
    expect(ownerSchema.safeParse(99_999_999_999).success).toBe(false);
    expect(ownerSchema.safeParse("www-data").success).toBe(true);
  });

  it("an id given as a string is told to be a number", () => {
    const r = z.strictObject({ owner: ownerSchema }).safeParse({ owner: "1234" });
    expect(r.success).toBe(false);
    expect(zodProblems("file[/a]", r.error!)).toEqual([
      'file[/a]: owner: expected a user or group name, or an id as a number (1234, not "1234")',
    ]);
  });

  it("a path with a NUL is refused by name (the kernel would stop reading it there)", () => {
    const r = absolutePath.safeParse("/etc/demo/a\0b");
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe("must not contain a NUL character");
    expect(absolutePath.safeParse("/etc/demo/ab").success).toBe(true);
  });
});
