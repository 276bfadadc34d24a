import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kernelBootId } from "../host/process-alive.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { acquireLock } from "./lock.ts";

afterAll(cleanupTmp);

describe("the converge lock", () => {
  it("records pid and boot id, and releases", async () => {
    const file = path.join(tmpDir(), "x/converge.lock");
    const lock = await acquireLock(file, 100);
    expect(readFileSync(file, "utf8").trim()).toBe(`${process.pid} ${kernelBootId()}`);
    lock.release();
    await (await acquireLock(file, 100)).release();
  });

  it("waits for a live holder, then fails naming it", async () => {
    const file = path.join(tmpDir(), "converge.lock");
    writeFileSync(file, `${process.pid} ${kernelBootId()}\n`);
    await expect(acquireLock(file, 200)).rejects.toThrow(
      `another muster run (pid ${process.pid}) holds ${file}`,
    );
  });

  it("takes over a lock whose process is gone, or that was taken on another boot", async () => {
    const file = path.join(tmpDir(), "converge.lock");
    writeFileSync(file, "999999999\n"); // no such pid
    (await acquireLock(file, 100)).release();
    writeFileSync(file, `${process.pid} another-boot\n`); // a live pid, but from before a reboot
    (await acquireLock(file, 100)).release();
  });
});
