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
