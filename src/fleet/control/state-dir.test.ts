import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import {
  CLEARED_AT_START,
  clearStateDir,
  ensureStateDir,
  FLEET_FILES,
  stateDirAccessProblem,
  stateDirProblems,
} from "./state-dir.ts";

afterEach(() => cleanupTmp());

const SOURCE = "/srv/fleet.yaml";

describe("stateDirProblems", () => {
  it("a new directory, an empty one and a fleet's own are fine", () => {
    const dir = tmpDir();
    expect(stateDirProblems(path.join(dir, "new"), SOURCE, [])).toEqual([]);
    expect(stateDirProblems(dir, SOURCE, [])).toEqual([]);
    // an earlier fleet's directory: fleet.json says so, and what fleet up clears may be there
    writeFileSync(path.join(dir, FLEET_FILES.info), "{}\n");
    for (const n of ["repos", "image", "lb"]) mkdirSync(path.join(dir, n));
    writeFileSync(path.join(dir, FLEET_FILES.events), "");
    expect(stateDirProblems(dir, SOURCE, [])).toEqual([]);
  });

  it("refuses a directory that is not a fleet's but holds what fleet up clears, and inputs inside it", () => {
    const mine = tmpDir();
    mkdirSync(path.join(mine, "repos/config"), { recursive: true });
    mkdirSync(path.join(mine, "image/etc"), { recursive: true });
    writeFileSync(path.join(mine, "notes.txt"), "mine\n");
    expect(
      stateDirProblems(mine, SOURCE, [
        { field: "image.dir", path: path.join(mine, "image") },
        { field: "repositories.config.dir", path: path.join(mine, "repos/config") },
        { field: "repositories.app.dir", path: undefined },
      ]),
    ).toEqual([
      `state directory ${mine}: not a fleet's (no fleet.json) but holds repos, image, which \`muster fleet up\` clears; give a new or empty directory`,
      `${SOURCE}: image.dir: ${path.join(mine, "image")} is inside the state directory's image, which \`muster fleet up\` clears; move it, or choose another stateDir`,
      `${SOURCE}: repositories.config.dir: ${path.join(mine, "repos/config")} is inside the state directory's repos, which \`muster fleet up\` clears; move it, or choose another stateDir`,
    ]);
    // files of its own are no reason to refuse a directory
    const other = tmpDir();
    writeFileSync(path.join(other, "notes.txt"), "mine\n");
    expect(stateDirProblems(other, SOURCE, [])).toEqual([]);
  });

  it("refuses a state directory inside a directory the fleet copies: each copy would hold itself", () => {
    const image = path.join(tmpDir(), "image");
    const inputs = [{ field: "image.dir", path: image }];
    expect(stateDirProblems(path.join(image, "state"), SOURCE, inputs)).toEqual([
      `${SOURCE}: stateDir: ${path.join(image, "state")} is inside image.dir (${image}), which the fleet copies; put the state directory elsewhere`,
    ]);
    expect(stateDirProblems(image, SOURCE, inputs)).toHaveLength(1);
    // a sibling whose name starts the same is not inside it
    expect(stateDirProblems(`${image}-state`, SOURCE, inputs)).toEqual([]);
    // a bare repository is served as it is, not copied
    expect(
      stateDirProblems(path.join(image, "state"), SOURCE, [{ field: "repositories.app.bare", path: image }]),
    ).toEqual([]);
  });

  it("refuses a file where the state directory should be", () => {
    const file = path.join(tmpDir(), "keep.txt");
    writeFileSync(file, "mine\n");
    expect(stateDirProblems(file, SOURCE, [])).toEqual([
      `state directory ${file}: not a directory; give a new or empty directory`,
    ]);
  });
});

describe("clearStateDir", () => {
  it("removes what fleet up clears and nothing else", async () => {
    const dir = tmpDir();
    for (const n of CLEARED_AT_START) {
      if (n.includes(".")) writeFileSync(path.join(dir, n), "old\n");
      else mkdirSync(path.join(dir, n, "inner"), { recursive: true });
    }
    mkdirSync(path.join(dir, "instances/i-00000000000000001/root"), { recursive: true });
    writeFileSync(path.join(dir, FLEET_FILES.info), "{}\n");
    writeFileSync(path.join(dir, "notes.txt"), "mine\n");
    await clearStateDir(dir);
    expect(readdirSync(dir).sort()).toEqual([FLEET_FILES.info, "notes.txt"]);
    expect(readFileSync(path.join(dir, "notes.txt"), "utf8")).toBe("mine\n");
  });
});

describe("a state directory another user made or may write (as `mkdir -m777 /tmp/muster-fleet-0` did)", () => {
  const uid = process.geteuid?.() ?? 0;

  it("is refused with one line, and left as it is; a missing one is made 0700", () => {
    const open = tmpDir();
    chmodSync(open, 0o777);
    const line = `state directory ${open}: is writable by its group (mode 777); it must be a directory of this user's that only it can write (mode 700), or give another --state-dir`;
    expect(stateDirAccessProblem(open)).toBe(line);
    expect(stateDirProblems(open, SOURCE, [])).toEqual([line]);
    expect(() => ensureStateDir(open)).toThrow(line);
    expect(statSync(open).mode & 0o777).toBe(0o777);
    const fresh = path.join(tmpDir(), "a/state");
    expect(stateDirAccessProblem(fresh)).toBeUndefined();
    ensureStateDir(fresh);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
  });

  it("a link in its place is refused", () => {
    const link = path.join(tmpDir(), "state");
    symlinkSync(tmpDir(), link);
    expect(stateDirAccessProblem(link)).toMatch(/: is a symbolic link; give the directory itself; /);
  });

  it.runIf(uid === 0)("one owned by another user is refused (as root: chown to nobody)", () => {
    const theirs = tmpDir();
    chownSync(theirs, 65534, 65534);
    expect(stateDirAccessProblem(theirs)).toContain(`: is owned by uid 65534, not by this user (uid 0);`);
    expect(() => ensureStateDir(theirs)).toThrow(/is owned by uid 65534/);
  });
});

describe("a state directory in a directory another user may write (they could rename it away and put theirs in its place)", () => {
  it("a parent open to all (mode 777, not sticky) is refused with one line, existing or not, nothing made", () => {
    const parent = tmpDir();
    chmodSync(parent, 0o777);
    const line = (dir: string) =>
      `state directory ${dir}: ${parent}, above it, is writable by its group and not sticky (mode 777), so another user could put something else in its place; give a --state-dir whose every directory above it only this user or root can write (or is sticky, as /tmp)`;
    const missing = path.join(parent, "state");
    expect(stateDirAccessProblem(missing)).toBe(line(missing));
    expect(stateDirProblems(missing, SOURCE, [])).toEqual([line(missing)]);
    expect(() => ensureStateDir(missing)).toThrow(line(missing));
    expect(readdirSync(parent)).toEqual([]);
    const made = path.join(parent, "made");
    mkdirSync(made, { mode: 0o700 });
    expect(stateDirAccessProblem(made)).toBe(line(made));
    expect(stateDirProblems(made, SOURCE, [])).toEqual([line(made)]);
    expect(() => ensureStateDir(made)).toThrow(line(made));
  });

  it("a sticky parent open to all (as /tmp) is fine, and so is one of this user's", () => {
    const sticky = tmpDir();
    chmodSync(sticky, 0o1777);
    expect(stateDirAccessProblem(path.join(sticky, "state"))).toBeUndefined();
    ensureStateDir(path.join(sticky, "state"));
    expect(stateDirProblems(path.join(sticky, "state"), SOURCE, [])).toEqual([]);
    expect(stateDirAccessProblem(path.join(tmpDir(), "state"))).toBeUndefined();
  });
});

describe("a state directory further below a directory another user may write or owns (they could rename what is between)", () => {
  it("a directory open to all (mode 777, not sticky) two levels up is refused, named, nothing made", () => {
    const top = tmpDir();
    const mid = path.join(top, "x");
    mkdirSync(mid, { mode: 0o755 });
    chmodSync(top, 0o777);
    const state = path.join(mid, "state");
    const line = `state directory ${state}: ${top}, above it, is writable by its group and not sticky (mode 777), so another user could put something else in its place; give a --state-dir whose every directory above it only this user or root can write (or is sticky, as /tmp)`;
    expect(stateDirAccessProblem(state)).toBe(line);
    expect(stateDirProblems(state, SOURCE, [])).toEqual([line]);
    expect(() => ensureStateDir(state)).toThrow(line);
    expect(readdirSync(mid)).toEqual([]);
    // one that exists, and one whose parent is missing too, are refused the same way
    mkdirSync(state, { mode: 0o700 });
    expect(stateDirAccessProblem(state)).toBe(line);
    expect(stateDirAccessProblem(path.join(mid, "new/state"))).toMatch(
      new RegExp(`^state directory ${mid}/new/state: ${top}, above it, is writable`),
    );
  });

  it.runIf(process.geteuid?.() === 0)(
    "a directory another user owns two levels up is refused (as root: chown to nobody), even when the one between is root's",
    () => {
      const theirs = tmpDir();
      const mid = path.join(theirs, "x");
      mkdirSync(mid, { mode: 0o755 });
      chownSync(theirs, 65534, 65534);
      const state = path.join(mid, "state");
      const line = new RegExp(
        `^state directory ${state}: ${theirs}, above it, is owned by uid 65534, neither this user \\(uid 0\\) nor root, `,
      );
      expect(stateDirAccessProblem(state)).toMatch(line);
      expect(stateDirProblems(state, SOURCE, [])[0]).toMatch(line);
      expect(() => ensureStateDir(state)).toThrow(line);
      expect(readdirSync(mid)).toEqual([]);
    },
  );

  it("a link above it is judged by where it leads: to a safe directory fine, into an open one refused", () => {
    const safe = tmpDir();
    const via = path.join(tmpDir(), "via");
    symlinkSync(safe, via);
    expect(stateDirAccessProblem(path.join(via, "state"))).toBeUndefined();
    ensureStateDir(path.join(via, "state"));
    expect(statSync(path.join(safe, "state")).mode & 0o777).toBe(0o700);
    chmodSync(safe, 0o777);
    expect(stateDirAccessProblem(path.join(via, "state"))).toMatch(
      new RegExp(`: ${safe}, above it, is writable by its group and not sticky`),
    );
  });
});
