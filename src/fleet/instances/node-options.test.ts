/** NODE_OPTIONS tried on the real node before any instance gets them. */
import { describe, expect, it } from "vitest";
import { refusedNodeOptions } from "./node-options.ts";

describe("refusedNodeOptions", () => {
  it("passes options node takes, and says in one line why it refuses others", () => {
    expect(refusedNodeOptions(process.execPath, "--max-old-space-size=200 --no-warnings")).toBeUndefined();
    expect(refusedNodeOptions(process.execPath, "--cpu-prof")).toBe(
      "--cpu-prof is not allowed in NODE_OPTIONS",
    );
    expect(refusedNodeOptions(process.execPath, "--no-such-option-here")).toContain("--no-such-option-here");
    // tried from "/", where an instance's processes start
    expect(refusedNodeOptions(process.execPath, "--require ./no-such-preload.cjs")).toContain(
      "Cannot find module",
    );
  });
});
