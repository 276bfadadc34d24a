import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { resolveCommand } from "./command-path.ts";

afterEach(cleanupTmp);

describe("resolveCommand", () => {
  it("takes the first PATH directory with an executable file of that name", () => {
    const a = tmpDir();
    const b = tmpDir();
    writeFileSync(path.join(a, "tool"), "not executable");
    writeFileSync(path.join(b, "tool"), "#!/bin/sh\n");
    chmodSync(path.join(b, "tool"), 0o755);
    mkdirSync(path.join(a, "dir"));
    chmodSync(path.join(a, "dir"), 0o755);
    expect(resolveCommand("tool", `${a}::${b}`)).toBe(path.join(b, "tool"));
    expect(resolveCommand("dir", a)).toBeUndefined(); // a directory is not a command
    expect(resolveCommand("missing", `${a}:${b}`)).toBeUndefined();
  });
  it("takes an absolute path as given, never a relative one", () => {
    const b = tmpDir();
    writeFileSync(path.join(b, "tool"), "#!/bin/sh\n");
    chmodSync(path.join(b, "tool"), 0o755);
    expect(resolveCommand(path.join(b, "tool"), "")).toBe(path.join(b, "tool"));
    expect(resolveCommand("./tool", b)).toBeUndefined();
  });
});
