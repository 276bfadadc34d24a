import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { openDirUnder } from "./pinned-dir.ts";

afterAll(cleanupTmp);

const isRoot = process.geteuid?.() === 0;

describe("openDirUnder", () => {
  it("makes what is missing and holds the directory", () => {
    const root = tmpDir();
    const dir = openDirUnder(root, "var/log/muster", { create: true, ownOnly: true });
    writeFileSync(dir.path("a.log"), "x\n");
    dir.close();
    expect(readdirSync(path.join(root, "var/log/muster"))).toEqual(["a.log"]);
    expect(dir.shown).toBe(path.join(root, "var/log/muster"));
  });

  it("attack: the directory, or one above it, is a link planted to somewhere outside the root: refused", () => {
    for (const planted of ["var/log/muster", "var/log"]) {
      const root = tmpDir();
      const outside = tmpDir();
      mkdirSync(path.join(root, path.dirname(planted)), { recursive: true });
      symlinkSync(outside, path.join(root, planted));
      expect(() => openDirUnder(root, "var/log/muster", { create: true })).toThrow(
        /is a symbolic link or not a directory \(put there, or swapped in while muster worked under it\): muster does not write through it/,
      );
      expect(readdirSync(outside)).toEqual([]);
    }
  });

  it("attack: the directory swapped for a link after it was opened: what is written still lands in it", () => {
    const root = tmpDir();
    const outside = tmpDir();
    const dir = openDirUnder(root, "var/log/muster", { create: true });
    // another user moves the directory away and puts a link in its place
    renameSync(path.join(root, "var/log/muster"), path.join(root, "var/log/moved"));
    symlinkSync(outside, path.join(root, "var/log/muster"));
    writeFileSync(dir.path("boot.log"), "line\n");
    dir.close();
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(path.join(root, "var/log/moved/boot.log"))).toBe(true);
  });

  it("a file where the directory should be is refused, and '..' is bad input", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "var/log"), { recursive: true });
    writeFileSync(path.join(root, "var/log/muster"), "");
    expect(() => openDirUnder(root, "var/log/muster", { create: true })).toThrow(/not a directory/);
    expect(() => openDirUnder(root, "var/../etc")).toThrow(/may not contain ".."/);
  });

  it.runIf(isRoot)(
    "ownOnly: a directory another user made there first is refused (needs root: skipped when not root)",
    () => {
      const root = tmpDir();
      mkdirSync(path.join(root, "var/log/muster"), { recursive: true });
      chownSync(path.join(root, "var/log/muster"), 65534, 65534);
      expect(() => openDirUnder(root, "var/log/muster", { create: true, ownOnly: true })).toThrow(
        /belongs to another user or can be written by others/,
      );
    },
  );
});
