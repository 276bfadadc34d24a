import { chmodSync, chownSync, existsSync, mkdirSync, statSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isSafeBase, makePrivateDir } from "../host/private-dir.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { recipeCacheDir } from "./recipe-cache-dir.ts";

afterEach(() => cleanupTmp());
const uid = process.geteuid?.() ?? 0;

describe("the recipe cache directory", () => {
  it("is made 0700 for this user, and used again", () => {
    const base = tmpDir();
    const dir = recipeCacheDir(base);
    expect(dir).toBe(path.join(base, `muster-recipes-${uid}`));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(recipeCacheDir(base)).toBe(dir);
  });

  it("one of this user's that others could write is not trusted (its content may be planted)", () => {
    const base = tmpDir();
    const dir = path.join(base, `muster-recipes-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const used = recipeCacheDir(base);
    expect(used).not.toBe(dir);
    expect(path.basename(used)).toMatch(/^muster-recipes-run-/);
  });

  it("a temporary directory others can write without the sticky bit is not used as the base", () => {
    const open = tmpDir();
    chmodSync(open, 0o777);
    expect(isSafeBase(open)).toBe(false);
    chmodSync(open, 0o1777); // as /tmp
    expect(isSafeBase(open)).toBe(true);
    chmodSync(open, 0o700);
    expect(isSafeBase(open)).toBe(true);
    chmodSync(open, 0o777);
    expect(path.dirname(recipeCacheDir(open))).toBe("/tmp");
  });

  it("a safe-looking base inside a directory others may change is not used: it could be swapped whole", () => {
    const open = tmpDir();
    chmodSync(open, 0o777); // anyone may rename what is in it
    const base = path.join(open, "tmp");
    mkdirSync(base, { mode: 0o700 }); // this user's own, private: fine by itself
    expect(isSafeBase(base)).toBe(false);
    const dir = recipeCacheDir(base);
    expect(dir.startsWith(`${open}/`)).toBe(false);
    expect(path.dirname(dir)).toBe("/tmp");
  });

  it("a link in its place, or a file, is never used: the run gets a private directory of its own", () => {
    const base = tmpDir();
    const elsewhere = tmpDir();
    symlinkSync(elsewhere, path.join(base, `muster-recipes-${uid}`));
    expect(makePrivateDir(path.join(base, `muster-recipes-${uid}`))).toBe(
      "is a symbolic link; give the directory itself",
    );
    const dir = recipeCacheDir(base);
    expect(path.dirname(dir)).toBe(base);
    expect(path.basename(dir)).toMatch(/^muster-recipes-run-/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(existsSync(dir)).toBe(true);
  });

  it.runIf(uid === 0)("one another user made first is never used (as root: chown to nobody)", () => {
    const base = tmpDir();
    const dir = path.join(base, `muster-recipes-${uid}`);
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, 65534, 65534);
    expect(makePrivateDir(dir)).toBe(`is owned by uid 65534, not by this user (uid ${uid})`);
    expect(recipeCacheDir(base)).not.toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o755); // not ours to change
    // a temporary directory another user owns: they may rename what is in it
    const theirs = tmpDir();
    chownSync(theirs, 65534, 65534);
    expect(isSafeBase(theirs)).toBe(false);
  });
});
