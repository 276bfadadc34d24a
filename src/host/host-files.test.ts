import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { createExclusive, ensureDir, pathExists, readTextIfAny, realPath, removeFile } from "./host-files.ts";

afterAll(cleanupTmp);

describe("files kept by host path", () => {
  it("creates a file only when none is there, and leaves one that is", () => {
    const file = path.join(tmpDir(), "a/b/x.lock");
    ensureDir(path.dirname(file));
    expect(createExclusive(file, "1\n")).toBe(true);
    expect(createExclusive(file, "2\n")).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("1\n");
    removeFile(file);
    removeFile(file); // gone already: nothing
    expect(pathExists(file)).toBe(false);
    expect(readTextIfAny(file)).toBeUndefined();
  });

  it("does not create through a link someone left at the name", () => {
    const dir = tmpDir();
    const elsewhere = path.join(dir, "elsewhere");
    symlinkSync(elsewhere, path.join(dir, "x.lock"));
    expect(createExclusive(path.join(dir, "x.lock"), "1\n")).toBe(false);
    expect(pathExists(elsewhere)).toBe(false);
  });

  it("fails on an error other than a file being there", () => {
    expect(() => createExclusive(path.join(tmpDir(), "no/such/dir/x"), "1")).toThrow(/ENOENT/);
  });

  it("resolves links of host paths", () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, "t"), "t");
    symlinkSync(path.join(dir, "t"), path.join(dir, "l"));
    expect(realPath(path.join(dir, "l"))).toBe(realPath(path.join(dir, "t")));
  });
});
