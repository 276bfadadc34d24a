/**
 * package.json promises what the package holds: every file its `types`, `exports` and `bin` name
 * exists, and the license it names comes with its text.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../src/test-support/tmp.ts";

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));

/** Every string leaf of a package.json field (exports nests conditions). */
function paths(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (v && typeof v === "object") return Object.values(v).flatMap(paths);
  return [];
}

describe("package.json", () => {
  it("names only files that exist (types, exports, bin)", () => {
    const named = [...paths(pkg.types), ...paths(pkg.exports), ...paths(pkg.bin)];
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((p) => !existsSync(path.join(REPO_ROOT, p)))).toEqual([]);
  });

  it("ships the text of the license it names", () => {
    expect(pkg.license).toBe("MIT");
    const text = readFileSync(path.join(REPO_ROOT, "LICENSE"), "utf8");
    expect(text).toMatch(/^MIT License\n/);
    expect(text).toContain("Copyright (c) muster contributors");
    expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS"');
  });
});
