import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import { CLEARED_AT_START, clearStateDir, FLEET_FILES, stateDirProblems } from "./state-dir.ts";

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
