import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { replaceFile } from "./replace-file.ts";
import { RootFs } from "./root-fs.ts";

afterEach(cleanupTmp);

describe("replaceFile", () => {
  it("replaces the file whole, with the mode asked for whatever the umask, and leaves no temporary file", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "run/muster"), { recursive: true });
    writeFileSync(path.join(root, "run/muster/state.json"), "old, and longer than the new one\n");
    const fs = new RootFs(root);
    const umask = process.umask(0o077);
    try {
      replaceFile(fs, "/run/muster/state.json", "new\n", 0o644);
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(path.join(root, "run/muster/state.json"), "utf8")).toBe("new\n");
    expect(statSync(path.join(root, "run/muster/state.json")).mode & 0o777).toBe(0o644);
    expect(readdirSync(path.join(root, "run/muster"))).toEqual(["state.json"]);
  });

  it("resolves the path through the root: a symlink cannot lead the write out of it", () => {
    const root = tmpDir();
    const outside = tmpDir("muster-outside-");
    mkdirSync(path.join(root, "run"));
    symlinkSync(outside, path.join(root, "run/muster")); // a host path means a path under the root
    mkdirSync(path.join(root, outside), { recursive: true });
    replaceFile(new RootFs(root), "/run/muster/x", "in the root");
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(path.join(root, outside, "x"), "utf8")).toBe("in the root");
  });

  it("a failed write leaves the old file and no temporary file", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "run/d"), { recursive: true });
    writeFileSync(path.join(root, "run/d/f"), "old");
    mkdirSync(path.join(root, "run/d/dir")); // renaming a file over a directory fails
    expect(() => replaceFile(new RootFs(root), "/run/d/dir", "x")).toThrow();
    expect(readdirSync(path.join(root, "run/d")).sort()).toEqual(["dir", "f"]);
    expect(readFileSync(path.join(root, "run/d/f"), "utf8")).toBe("old");
  });
});
