import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { isInside, readRepoSource } from "./source-path.ts";

afterAll(cleanupTmp);

/** A temp dir with a config repo in it and, beside the repo, a fake "shadow" that must never be read. */
function layout() {
  const top = tmpDir("muster-source-");
  const repo = path.join(top, "repo");
  const secretDir = path.join(top, "secret");
  mkdirSync(path.join(repo, "files/sub"), { recursive: true });
  mkdirSync(path.join(repo, "templates"), { recursive: true });
  mkdirSync(path.join(repo, "shared"), { recursive: true });
  mkdirSync(secretDir);
  writeFileSync(path.join(secretDir, "shadow"), "root:SECRET:19000::::::\n");
  writeFileSync(path.join(repo, "files/motd"), "hello\n");
  writeFileSync(path.join(repo, "shared/common.conf"), "common\n");
  return { repo, secretDir, shadow: path.join(secretDir, "shadow") };
}

describe("readRepoSource", () => {
  it("reads a file, a link to a file elsewhere in the repo, and a relative link inside it", () => {
    const { repo } = layout();
    symlinkSync(path.join(repo, "shared/common.conf"), path.join(repo, "files/abs"));
    symlinkSync("../../shared/common.conf", path.join(repo, "files/sub/rel"));
    symlinkSync("../shared", path.join(repo, "files/dir"));
    expect(readRepoSource(repo, "files", "motd")?.toString()).toBe("hello\n");
    expect(readRepoSource(repo, "files", "abs")?.toString()).toBe("common\n");
    expect(readRepoSource(repo, "files", "sub/rel")?.toString()).toBe("common\n");
    expect(readRepoSource(repo, "files", "dir/common.conf")?.toString()).toBe("common\n");
  });

  it("a repo reached through a link of its own still reads its files", () => {
    const { repo } = layout();
    const alias = path.join(path.dirname(repo), "alias");
    symlinkSync(repo, alias);
    expect(readRepoSource(alias, "files", "motd")?.toString()).toBe("hello\n");
  });

  it("is undefined for a missing file and a dangling link", () => {
    const { repo } = layout();
    symlinkSync(path.join(repo, "nowhere"), path.join(repo, "files/dangling"));
    expect(readRepoSource(repo, "files", "nope")).toBeUndefined();
    expect(readRepoSource(repo, "files", "dangling")).toBeUndefined();
  });

  it("refuses a link to a file outside the repo (the attack: files/leak -> shadow)", () => {
    const { repo, shadow } = layout();
    symlinkSync(shadow, path.join(repo, "files/leak"));
    symlinkSync(shadow, path.join(repo, "templates/leak.eta"));
    expect(() => readRepoSource(repo, "files", "leak")).toThrow(
      `files/leak is a link to ${shadow}, outside the config repo`,
    );
    expect(() => readRepoSource(repo, "templates", "leak.eta")).toThrow(
      `templates/leak.eta is a link to ${shadow}, outside the config repo`,
    );
  });

  it("refuses a file under a linked directory outside the repo, and files/ itself linked out", () => {
    const { repo, secretDir, shadow } = layout();
    symlinkSync(secretDir, path.join(repo, "files/etc"));
    expect(() => readRepoSource(repo, "files", "etc/shadow")).toThrow(/outside the config repo/);
    const repo2 = layout().repo;
    rmSync(path.join(repo2, "templates"), { recursive: true });
    symlinkSync(secretDir, path.join(repo2, "templates"));
    expect(() => readRepoSource(repo2, "templates", "shadow")).toThrow(
      `templates/shadow is a link to ${shadow}, outside the config repo`,
    );
  });

  it("refuses a name that leaves the directory, and what is not a regular file", () => {
    const { repo } = layout();
    expect(() => readRepoSource(repo, "files", "../../secret/shadow")).toThrow(
      "files/../../secret/shadow leaves the config repo's files/",
    );
    expect(() => readRepoSource(repo, "files", "sub")).toThrow("files/sub is not a regular file");
    execFileSync("mkfifo", [path.join(repo, "files/fifo")]);
    // a FIFO must not hang the run waiting for a writer
    expect(() => readRepoSource(repo, "files", "fifo")).toThrow("files/fifo is not a regular file");
  });
});

describe("isInside", () => {
  it.each([
    ["/r", "/r", true],
    ["/r", "/r/a", true],
    ["/r", "/r/..a", true],
    ["/r", "/ra", false],
    ["/r", "/", false],
    ["/r", "/r/../x", false],
  ])("%s holds %s: %s", (dir, p, expected) => {
    expect(isInside(dir, path.resolve(p))).toBe(expected);
  });
});
