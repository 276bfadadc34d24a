import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
  unsafeAncestorFault,
  unsafeAncestorProblem,
  unsafeBaseProblem,
  userPrivateDir,
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

describe("userPrivateDir: one path per user, whatever the environment", () => {
  it("is base/muster-<uid>, made 0700 and owned by the caller, the same each time", () => {
    const base = tmpDir();
    const dir = path.join(base, `muster-${uid}`);
    expect(userPrivateDir(base)).toEqual({ dir });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(dir).uid).toBe(uid);
    expect(userPrivateDir(base)).toEqual({ dir });
  });

  it("one made first open to all is refused, one line naming it and what to do, and left as it is", () => {
    const base = tmpDir();
    const dir = path.join(base, `muster-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(userPrivateDir(base).problem).toBe(
      `${dir} is writable by its group (mode 777): another user may have made it first to receive what is meant for this one; remove it (rm -r ${dir}) and run again`,
    );
    expect(statSync(dir).mode & 0o777).toBe(0o777);
  });

  it.runIf(isRoot)("one another user made first is refused (as root: chown to nobody)", () => {
    const base = tmpDir();
    const dir = path.join(base, `muster-${uid}`);
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(userPrivateDir(base).problem).toMatch(/is owned by uid 65534, not by this user/);
  });

  it("a base others may write without the sticky bit is refused, nothing made in it", () => {
    const base = tmpDir();
    chmodSync(base, 0o777);
    expect(unsafeBaseProblem(base)).toBe("is writable by its group and not sticky (mode 777)");
    expect(userPrivateDir(base).problem).toMatch(
      new RegExp(`^${base} is writable by its group and not sticky`),
    );
    expect(lstatSync(path.join(base, `muster-${uid}`), { throwIfNoEntry: false })).toBeUndefined();
  });

  it("a private base inside a directory others may change is refused, nothing made in it", () => {
    const open = tmpDir();
    chmodSync(open, 0o777);
    const base = path.join(open, "run");
    mkdirSync(base, { mode: 0o700 });
    expect(userPrivateDir(base).problem).toBe(
      `${base}: ${open}, above it, is writable by its group and not sticky (mode 777): others could replace ${path.join(base, `muster-${uid}`)}; keep it in a directory only its owner or root can change`,
    );
    expect(lstatSync(path.join(base, `muster-${uid}`), { throwIfNoEntry: false })).toBeUndefined();
  });
});

describe("unsafeAncestorFault: every directory from / on the way to a path, links followed", () => {
  const ME = 1000;
  const dir = (mode: number, owner = 0) => stat(0o40000 | mode, owner);
  const link = (to: string, owner = 0) => ({ ...stat(0o120777, owner, "link"), to });
  type Entry = ReturnType<typeof dir> | ReturnType<typeof link>;
  const lookup = (tree: Record<string, Entry>) => ({
    lstat: (p: string) => tree[p],
    readlink: (p: string) => {
      const e = tree[p];
      if (!e || !("to" in e)) throw new Error(`not a link: ${p}`);
      return e.to;
    },
  });
  const base: Record<string, Entry> = {
    "/": dir(0o755),
    "/tmp": dir(0o1777),
    "/srv": dir(0o755),
    "/srv/ok": dir(0o700, ME),
    "/home": dir(0o755),
    "/home/bob": dir(0o755, 2000),
    "/home/bob/x": dir(0o755),
    "/open": dir(0o777),
    "/group": dir(0o775),
    "/tmp/mine": link("/srv/ok", ME),
    "/tmp/bobs": link("/srv/ok", 2000),
    "/srv/to-bob": link("../home/bob/x"),
    "/srv/loop": link("loop"),
    "/srv/file": { ...stat(0o100644, 0, "file") },
    "/srv/up": link("ok/../../home/bob/x"),
  };
  it.each([
    ["/", undefined],
    ["/srv/ok/state", undefined],
    ["/srv/ok/missing/deeper", undefined],
    ["/tmp/anything", undefined],
    ["/tmp/mine/state", undefined],
    [
      "/home/bob/x/state",
      { dir: "/home/bob", why: `is owned by uid 2000, neither this user (uid ${ME}) nor root` },
    ],
    ["/open/a/b", { dir: "/open", why: "is writable by its group and not sticky (mode 777)" }],
    ["/group/a", { dir: "/group", why: "is writable by its group and not sticky (mode 775)" }],
    [
      "/tmp/bobs/state",
      {
        dir: "/tmp/bobs",
        why: `is a symbolic link owned by uid 2000, neither this user (uid ${ME}) nor root`,
      },
    ],
    [
      "/srv/to-bob/state",
      { dir: "/home/bob", why: `is owned by uid 2000, neither this user (uid ${ME}) nor root` },
    ],
    [
      "/srv/up/state",
      { dir: "/home/bob", why: `is owned by uid 2000, neither this user (uid ${ME}) nor root` },
    ],
    ["/srv/./ok/../ok/state", undefined],
    ["/srv/loop/x", { dir: "/srv/loop", why: "leads through too many symbolic links" }],
    ["/srv/file/x", { dir: "/srv/file", why: "is not a directory" }],
  ])("%s: %j", (target, expected) => {
    expect(unsafeAncestorFault(target, lookup(base), ME)).toEqual(expected);
  });

  it("an unsafe / is named too; for root, only root's own directories pass", () => {
    expect(unsafeAncestorFault("/srv/ok", lookup({ ...base, "/": dir(0o777) }), ME)).toEqual({
      dir: "/",
      why: "is writable by its group and not sticky (mode 777)",
    });
    // root's own walk: a directory of another user's on the way is named, root's are fine
    expect(unsafeAncestorFault("/srv/ok/state", lookup(base), 0)).toEqual({
      dir: "/srv/ok",
      why: "is owned by uid 1000, neither this user (uid 0) nor root",
    });
    expect(unsafeAncestorFault("/tmp/mine/x", lookup(base), 0)).toEqual({
      dir: "/tmp/mine",
      why: "is a symbolic link owned by uid 1000, neither this user (uid 0) nor root",
    });
    expect(unsafeAncestorFault("/srv/new", lookup(base), 0)).toBeUndefined();
  });
});

describe("unsafeAncestorProblem: the directories above a path on this host", () => {
  it("one open to all (mode 777, not sticky) two levels up is named; under the sticky temporary directory is fine", () => {
    const top = tmpDir();
    mkdirSync(path.join(top, "a/b"), { recursive: true, mode: 0o755 });
    expect(unsafeAncestorProblem(path.join(top, "a/b/state"))).toBeUndefined();
    chmodSync(top, 0o777);
    expect(unsafeAncestorProblem(path.join(top, "a/b/state"))).toBe(
      `${top}, above it, is writable by its group and not sticky (mode 777)`,
    );
    // the state directory itself is not judged here, only what is above it
    expect(unsafeAncestorProblem(top)).toBeUndefined();
    expect(statSync(tmpdir()).mode & 0o1000).toBe(0o1000);
    expect(unsafeAncestorProblem(path.join(tmpdir(), "state"))).toBeUndefined();
  });

  it("a link on the way is judged by where it leads", () => {
    const open = tmpDir();
    mkdirSync(path.join(open, "inner"));
    chmodSync(open, 0o777);
    const link = path.join(tmpDir(), "link");
    symlinkSync(path.join(open, "inner"), link);
    expect(unsafeAncestorProblem(path.join(link, "state"))).toBe(
      `${open}, above it, is writable by its group and not sticky (mode 777)`,
    );
  });

  it.runIf(isRoot)("one owned by another user two levels up is named (as root: chown to nobody)", () => {
    const theirs = tmpDir();
    mkdirSync(path.join(theirs, "x"), { mode: 0o755 });
    chownSync(theirs, 65534, 65534);
    expect(unsafeAncestorProblem(path.join(theirs, "x/state"))).toBe(
      `${theirs}, above it, is owned by uid 65534, neither this user (uid ${uid}) nor root`,
    );
  });
});
