import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import {
  isSafeBase,
  makePrivateDir,
  privateDirFault,
  privateDirProblem,
  privateRuntimeDir,
  runtimeDirCandidates,
} from "./private-dir.ts";

afterEach(() => cleanupTmp());
const uid = process.geteuid?.() ?? 0;
const isRoot = uid === 0;

const stat = (mode: number, owner: number, kind: "dir" | "link" | "file" = "dir") => ({
  isDirectory: () => kind === "dir",
  isSymbolicLink: () => kind === "link",
  uid: owner,
  mode,
});

describe("privateDirFault", () => {
  it("accepts only a directory of this user's that group and others cannot write", () => {
    expect(privateDirFault(stat(0o40700, 1000), 1000)).toBeUndefined();
    expect(privateDirFault(stat(0o40755, 1000), 1000)).toBeUndefined();
    expect(privateDirFault(stat(0o40777, 1000), 1000)).toBe("is writable by its group (mode 777)");
    expect(privateDirFault(stat(0o40702, 1000), 1000)).toBe("is writable by others (mode 702)");
    expect(privateDirFault(stat(0o40700, 65534), 0)).toBe("is owned by uid 65534, not by this user (uid 0)");
    expect(privateDirFault(stat(0o120777, 1000, "link"), 1000)).toBe(
      "is a symbolic link; give the directory itself",
    );
    expect(privateDirFault(stat(0o100600, 1000, "file"), 1000)).toBe("is not a directory");
  });
});

describe("makePrivateDir", () => {
  it("makes the directory and its missing parents 0700, and accepts it again", () => {
    const base = tmpDir();
    const dir = path.join(base, "a/b/c");
    expect(makePrivateDir(dir)).toBeUndefined();
    for (const d of ["a", "a/b", "a/b/c"]) expect(statSync(path.join(base, d)).mode & 0o777).toBe(0o700);
    expect(makePrivateDir(dir)).toBeUndefined();
  });

  it("refuses one someone made first open to others, and leaves it as it is", () => {
    const dir = path.join(tmpDir(), "made-first");
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(makePrivateDir(dir)).toBe("is writable by its group (mode 777)");
    expect(statSync(dir).mode & 0o777).toBe(0o777);
  });

  it("refuses a link in its place, and a file", () => {
    const base = tmpDir();
    symlinkSync(tmpDir(), path.join(base, "link"));
    expect(makePrivateDir(path.join(base, "link"))).toBe("is a symbolic link; give the directory itself");
    writeFileSync(path.join(base, "file"), "");
    expect(makePrivateDir(path.join(base, "file"))).toMatch(/^cannot be made \(EEXIST|^is not a directory/);
    expect(privateDirProblem(path.join(base, "missing"))).toBe("does not exist");
  });

  it.runIf(isRoot)("refuses one another user made first (as root: chown to nobody)", () => {
    const dir = path.join(tmpDir(), "theirs");
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(makePrivateDir(dir)).toBe(`is owned by uid 65534, not by this user (uid ${uid})`);
    expect(lstatSync(dir).uid).toBe(65534);
  });

  it("a temporary directory others may write is a safe base only when sticky", () => {
    const open = tmpDir();
    chmodSync(open, 0o777);
    expect(isSafeBase(open)).toBe(false);
    chmodSync(open, 0o1777);
    expect(isSafeBase(open)).toBe(true);
  });
});

/** The candidates for this user without /run/muster (a test must not make it on the host). */
const testCandidates = (xdg: string, tmp: string) =>
  runtimeDirCandidates(uid, { XDG_RUNTIME_DIR: xdg }, [tmp]).filter((c) => c.base !== "/run");

describe("the private runtime directory (unix sockets)", () => {
  it("is $XDG_RUNTIME_DIR/muster, /run/muster for root, then a per-user name in each temporary directory", () => {
    const env = { XDG_RUNTIME_DIR: "/run/user/1000" };
    expect(runtimeDirCandidates(1000, env, ["/tmp"]).map((c) => c.dir)).toEqual([
      "/run/user/1000/muster",
      "/tmp/muster-1000",
    ]);
    expect(runtimeDirCandidates(0, {}, ["/var/tmp", "/tmp"]).map((c) => c.dir)).toEqual([
      "/run/muster",
      "/var/tmp/muster-0",
      "/tmp/muster-0",
    ]);
    expect(runtimeDirCandidates(0, { XDG_RUNTIME_DIR: "relative" }, []).map((c) => c.dir)).toEqual([
      "/run/muster",
    ]);
  });

  it("a candidate made first open to others is passed over for a checked 0700 directory", () => {
    const xdg = tmpDir();
    const taken = path.join(xdg, "muster");
    mkdirSync(taken);
    chmodSync(taken, 0o777);
    const tmp = tmpDir();
    const env = { XDG_RUNTIME_DIR: xdg };
    const dir = privateRuntimeDir(env, [tmp], testCandidates(xdg, tmp));
    expect(dir).toBe(path.join(tmp, `muster-${uid}`));
    expect(privateDirProblem(dir)).toBeUndefined();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // every candidate taken: a fresh directory of this process's own
    chmodSync(dir, 0o777);
    const own = privateRuntimeDir(env, [tmp], testCandidates(xdg, tmp));
    expect(path.dirname(own)).toBe(tmp);
    expect(path.basename(own)).toMatch(/^muster-run-/);
    expect(privateDirProblem(own)).toBeUndefined();
  });

  it("$XDG_RUNTIME_DIR itself open to others is not used", () => {
    const xdg = tmpDir();
    chmodSync(xdg, 0o777);
    const tmp = tmpDir();
    const env = { XDG_RUNTIME_DIR: xdg };
    expect(privateRuntimeDir(env, [tmp], testCandidates(xdg, tmp))).toBe(path.join(tmp, `muster-${uid}`));
  });
});
