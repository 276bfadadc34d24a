import { describe, expect, it } from "vitest";
import { directory } from "./directory.ts";

const stat = {
  type: "directory" as const,
  mode: 0o700,
  uid: 0,
  gid: 0,
  size: 0,
  mtimeMs: 0,
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
  it("replaces a file in the way", () => {
    expect(directory.diff({ path: "/x" }, { kind: "other", type: "file" })[0].what).toBe(
      "replace file with a directory",
    );
  });
});
