import { describe, expect, it } from "vitest";
import { link } from "./link.ts";

describe("link.diff", () => {
  it("creates, repoints, or leaves a link", () => {
    expect(link.diff({ path: "/l", to: "/t" }, { kind: "missing" })[0].what).toBe("create link /l -> /t");
    expect(link.diff({ path: "/l", to: "/t" }, { kind: "link", to: "/old" })[0].what).toBe(
      "point /l to /t (was /old)",
    );
    expect(link.diff({ path: "/l", to: "/t" }, { kind: "link", to: "/t" })).toEqual([]);
  });
  it("replaces a file, deletes only a link", () => {
    expect(link.diff({ path: "/l", to: "/t" }, { kind: "other", type: "file" })[0].what).toContain(
      "replace file",
    );
    expect(link.diff({ path: "/l", to: "/t", action: "delete" }, { kind: "missing" })).toEqual([]);
    expect(link.diff({ path: "/l", to: "/t", action: "delete" }, { kind: "link", to: "/t" })).toHaveLength(1);
  });
});
