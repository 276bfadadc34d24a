import { describe, expect, it } from "vitest";
import { execute } from "./execute.ts";

describe("execute.diff", () => {
  it("runs unless `creates` exists or the action is nothing", () => {
    expect(execute.diff({ command: "make install" }, { createsExists: false })[0].what).toBe(
      "run `make install`",
    );
    expect(execute.diff({ command: "make", creates: "/x" }, { createsExists: true })).toEqual([]);
    expect(execute.diff({ command: "make", action: "nothing" }, { createsExists: false })).toEqual([]);
  });
  it("hides a sensitive command", () => {
    expect(
      execute.diff({ command: "echo $TOKEN", sensitive: true }, { createsExists: false })[0].what,
    ).not.toContain("TOKEN");
  });
});
