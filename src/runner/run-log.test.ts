import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { duplicatedKeys } from "../boot/testing/fixture.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { openRunLog, ownFields } from "./run-log.ts";

afterAll(cleanupTmp);

describe("run log", () => {
  it("the duplicate-key check sees what JSON.parse hides", () => {
    expect(duplicatedKeys('{"a":1,"b":{"a":2},"c":"a,\\"a\\":"}\n{"a":1,"a":2}\n')).toEqual([
      { line: 2, keys: ["a"] },
    ]);
  });

  it("writes each key once per line, even when an event repeats a base field or a line key", () => {
    const root = tmpDir();
    const log = openRunLog(root, "t.log", { runId: "r1", mode: "boot" });
    log.event("run.start", { mode: "boot", pid: 7 });
    log.event("odd", { mode: "periodic", level: "x", time: 1, event: "e", runId: "r1" });
    log.close();
    const text = readFileSync(path.join(root, "var/log/muster/t.log"), "utf8");
    expect(duplicatedKeys(text)).toEqual([]);
    const [start, odd] = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(start).toMatchObject({ event: "run.start", mode: "boot", runId: "r1", pid: 7 });
    expect(odd).toMatchObject({
      event: "odd",
      mode: "boot",
      fields: { mode: "periodic", level: "x", time: 1, event: "e" },
    });
  });

  it("ownFields leaves out what the line has already and keeps what differs aside", () => {
    expect(ownFields({ a: 1, mode: "boot" }, { mode: "boot" })).toEqual({ a: 1 });
    expect(ownFields({ mode: "x" }, { mode: "boot" })).toEqual({ fields: { mode: "x" } });
  });
});
