import { lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { directory } from "./directory.ts";

const stat = {
  type: "directory" as const,
  mode: 0o700,
  uid: 0,
  gid: 0,
  size: 0,
  mtimeMs: 0,
  dev: 1,
  user: "root",
  groupName: "root",
};

describe("directory.diff", () => {
  it("creates a missing directory with its mode", () => {
    expect(
      directory.diff({ path: "/srv/app", mode: "0750" }, { kind: "missing" }).map((c) => c.what),
    ).toEqual(["create directory /srv/app", "set mode to 0750"]);
  });
  it("changes only the mode when it differs", () => {
    expect(
      directory.diff({ path: "/srv", mode: "0755" }, { kind: "directory", stat }).map((c) => c.what),
    ).toEqual(["set mode to 0755 (was 0700)"]);
    expect(directory.diff({ path: "/srv", mode: "0700" }, { kind: "directory", stat })).toEqual([]);
    expect(directory.diff({ path: "/srv" }, { kind: "directory", stat })).toEqual([]);
  });
  it("changes the owner by name", () => {
    expect(
      directory.diff({ path: "/srv", owner: "www-data" }, { kind: "directory", stat }).map((c) => c.what),
    ).toEqual(["set owner to www-data (was root)"]);
    expect(directory.diff({ path: "/srv", owner: 0 }, { kind: "directory", stat })).toEqual([]);
  });
  it("deletes only what exists", () => {
    expect(directory.diff({ path: "/x", action: "delete" }, { kind: "missing" })).toEqual([]);
    expect(directory.diff({ path: "/x", action: "delete" }, { kind: "directory", stat })).toHaveLength(1);
  });
  it("replaces a link in the way", () => {
    expect(directory.diff({ path: "/x" }, { kind: "other", type: "dangling link" })[0].what).toBe(
      "replace dangling link with a directory",
    );
  });
  it("a new directory's owner and group are in its changes", () => {
    expect(
      directory
        .diff({ path: "/srv/app", owner: "deploy", group: "deploy" }, { kind: "missing" })
        .map((c) => c.what),
    ).toEqual([
      "create directory /srv/app",
      "set mode to 0755",
      "set owner to deploy",
      "set group to deploy",
    ]);
  });
});

describe("directory on a root", () => {
  afterEach(cleanupTmp);
  const mode = (root: string, p: string) => statSync(path.join(root, p)).mode & 0o7777;

  it("recursive: the parents it makes get 0755, the mode asked for is the leaf's", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/srv/www/private/keys", props: { recursive: true, mode: "0700" } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect([mode(root, "srv"), mode(root, "srv/www"), mode(root, "srv/www/private")]).toEqual([
      0o755, 0o755, 0o755,
    ]);
    expect(mode(root, "srv/www/private/keys")).toBe(0o700);
  });

  it("a file in the way is someone's data: refused, to create or to delete, in a dry run too", async () => {
    const root = tmpDir();
    writeFileSync(path.join(root, "d"), "data\n");
    for (const action of ["create", "delete"])
      for (const dryRun of [true, false]) {
        const report = await convergeDecls(
          root,
          [{ kind: "directory", name: "/d", props: { action, recursive: true } }],
          {
            dryRun,
          },
        );
        expect(report.outcome).toBe("failed");
        expect(report.error).toContain("/d is a file, not a directory; remove it first");
      }
    expect(readFileSync(path.join(root, "d"), "utf8")).toBe("data\n");
  });

  it("a link to a directory counts as the directory; deleting through a link is refused, nothing removed", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "real"));
    writeFileSync(path.join(root, "real/keep"), "k\n");
    symlinkSync("/real", path.join(root, "d"));
    const kept = await convergeDecls(root, [{ kind: "directory", name: "/d" }]);
    expect(kept.resources[0]!.status).toBe("up-to-date");
    expect(lstatSync(path.join(root, "d")).isSymbolicLink()).toBe(true);
    for (const recursive of [false, true]) {
      const del = await convergeDecls(root, [
        { kind: "directory", name: "/d", props: { action: "delete", recursive } },
      ]);
      expect(del.error).toBe(
        'directory[/d] (recipe test): /d is a link, not a directory; remove it with link("/d", { action: "delete" })',
      );
    }
    expect(readFileSync(path.join(root, "real/keep"), "utf8")).toBe("k\n");
  });

  it("a link in the way is replaced", async () => {
    const root = tmpDir();
    symlinkSync("/nowhere", path.join(root, "d"));
    const report = await convergeDecls(root, [{ kind: "directory", name: "/d" }]);
    expect(report.outcome, report.error).toBe("converged");
    expect(lstatSync(path.join(root, "d")).isDirectory()).toBe(true);
  });
});

describe("directory and link errors in muster's words", () => {
  afterEach(cleanupTmp);

  it("deleting a directory that is not empty without recursive; a link whose parent is missing", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      { kind: "file", name: "/d/f", props: { content: "x" } },
      { kind: "directory", name: "/d", props: { action: "delete" } },
    ]);
    expect(report.error).toBe(
      "directory[/d] (recipe test): /d is not empty; set recursive: true to delete it with its contents",
    );
    const link = await convergeDecls(root, [{ kind: "link", name: "/nope/l", props: { to: "/d" } }]);
    expect(link.error).toBe(
      'link[/nope/l] (recipe test): parent directory /nope does not exist; declare directory("/nope") before this link',
    );
  });
});
