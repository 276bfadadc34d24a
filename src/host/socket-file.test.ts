import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { removeOwnSocketFile } from "./socket-file.ts";

afterAll(cleanupTmp);

/** A socket file left by a server that was killed (a server that closes removes its own). */
function leftSocket(file: string): void {
  const script = `require("node:net").createServer().listen(${JSON.stringify(file)}, () => process.kill(process.pid, "SIGKILL"))`;
  spawnSync(process.execPath, ["-e", script], { timeout: 10_000 });
  expect(lstatSync(file).isSocket()).toBe(true);
}

describe("removeOwnSocketFile", () => {
  it("removes a socket file of ours", () => {
    const file = path.join(tmpDir(), "s.sock");
    leftSocket(file);
    expect(removeOwnSocketFile(file)).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(removeOwnSocketFile(file)).toBe(false);
  });

  it("leaves a regular file, and a link (not even following it to a socket)", () => {
    const dir = tmpDir();
    const sock = path.join(dir, "real.sock");
    leftSocket(sock);
    writeFileSync(path.join(dir, "plain"), "x");
    symlinkSync(sock, path.join(dir, "link.sock"));
    expect(removeOwnSocketFile(path.join(dir, "plain"))).toBe(false);
    expect(removeOwnSocketFile(path.join(dir, "link.sock"))).toBe(false);
    expect(lstatSync(path.join(dir, "link.sock")).isSymbolicLink()).toBe(true);
    expect(lstatSync(sock).isSocket()).toBe(true);
  });
});
