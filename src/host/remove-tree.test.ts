import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { openDirUnder } from "./pinned-dir.ts";
import { removeTreeAt } from "./remove-tree.ts";

afterEach(cleanupTmp);

/** ROOT/srv/app/cache with files, a subdirectory and a link to `outside`, which holds a file */
function tree() {
  const root = tmpDir();
  const outside = tmpDir(); // stands for /etc: only root may write it
  writeFileSync(path.join(outside, "passwd"), "root:x:0:0\n");
  const cache = path.join(root, "srv/app/cache");
  mkdirSync(path.join(cache, "sub/deeper"), { recursive: true });
  writeFileSync(path.join(cache, "a"), "a");
  writeFileSync(path.join(cache, "sub/b"), "b");
  writeFileSync(path.join(cache, "sub/deeper/c"), "c");
  symlinkSync(outside, path.join(cache, "link-to-etc"));
  const app = openDirUnder(root, "srv/app");
  return { root, outside, cache, app };
}

describe("removeTreeAt", () => {
  it("removes a tree; a link in it is removed, not entered", () => {
    const { outside, cache, app } = tree();
    try {
      removeTreeAt(app.path("cache"));
    } finally {
      app.close();
    }
    expect(existsSync(cache)).toBe(false);
    expect(readFileSync(path.join(outside, "passwd"), "utf8")).toBe("root:x:0:0\n");
  });

  it("nothing there is fine; a file or a link given is removed itself", () => {
    const { outside, cache, app } = tree();
    try {
      removeTreeAt(app.path("missing"));
      symlinkSync(outside, path.join(cache, "..", "etc-link"));
      removeTreeAt(app.path("etc-link"));
    } finally {
      app.close();
    }
    expect(readdirSync(path.dirname(cache)).sort()).toEqual(["cache"]);
    expect(readdirSync(outside)).toEqual(["passwd"]);
  });

  it("a name that is not UTF-8 (a Latin-1 archive's caf\\xe9) is removed too", () => {
    const { cache, app } = tree();
    const latin1 = Buffer.concat([Buffer.from(`${cache}/sub/caf`), Buffer.from([0xe9])]);
    writeFileSync(latin1, "x");
    try {
      removeTreeAt(app.path("cache"));
    } finally {
      app.close();
    }
    expect(existsSync(cache)).toBe(false);
  });

  it("attack: a directory below swapped for a link to /etc after the walk saw a directory, before it is opened: /etc is untouched", () => {
    const { root, outside, cache, app } = tree();
    let swapped = 0;
    try {
      removeTreeAt(app.path("cache"), {
        beforeOpen(at) {
          // the app's user owns cache/ and renames sub away, putting a link in its place
          if (!at.endsWith("/sub")) return;
          renameSync(path.join(cache, "sub"), path.join(root, "srv/app/sub-moved"));
          symlinkSync(outside, path.join(cache, "sub"));
          swapped++;
        },
      });
    } finally {
      app.close();
    }
    expect(swapped).toBe(1);
    expect(readdirSync(outside)).toEqual(["passwd"]);
    expect(existsSync(cache)).toBe(false);
    // what was moved away is out of the removed tree: left as it is
    expect(readdirSync(path.join(root, "srv/app/sub-moved")).sort()).toEqual(["b", "deeper"]);
  });

  it("attack: the directory being emptied is moved away and a link put in its place before its own removal: the link is not followed", () => {
    const { root, outside, cache, app } = tree();
    try {
      expect(() =>
        removeTreeAt(app.path("cache"), {
          beforeOpen(at) {
            if (!at.endsWith("/deeper")) return;
            // cache/sub is emptied through its descriptor; its name now leads to /etc
            renameSync(path.join(cache, "sub"), path.join(root, "srv/app/sub-moved"));
            symlinkSync(outside, path.join(cache, "sub"));
          },
        }),
      ).toThrow(/ENOTDIR/); // the rmdir of "sub" finds the link there and refuses it
    } finally {
      app.close();
    }
    expect(readdirSync(outside)).toEqual(["passwd"]);
    // the directory that was emptied is the real one, wherever it was moved
    expect(readdirSync(path.join(root, "srv/app/sub-moved"))).toEqual([]);
  });
});
