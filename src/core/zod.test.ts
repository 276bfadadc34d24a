/** muster's zod: configured once, and taken from here by every module. */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../test-support/tmp.ts";
import { z } from "./zod.ts";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

describe("muster's zod", () => {
  it("parses without compiling a fast path per schema (jitless)", () => {
    expect(z.config().jitless).toBe(true);
    expect(z.object({ a: z.string() }).parse({ a: "x" })).toEqual({ a: "x" });
  });

  it("is where every module takes z from (type-only imports aside)", () => {
    const direct = sources(path.join(REPO_ROOT, "src"))
      .filter((f) => !f.endsWith(path.join("core", "zod.ts")))
      .filter((f) => /^import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*"zod"/m.test(readFileSync(f, "utf8")))
      .map((f) => path.relative(REPO_ROOT, f));
    expect(direct).toEqual([]);
  });
});
