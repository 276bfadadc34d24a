import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { duplicatedKeys } from "../boot/testing/fixture.ts";
import { cleanupTmp, REPO_ROOT, tmpDir } from "../test-support/tmp.ts";
import { openRunLog, ownFields } from "./run-log.ts";

afterAll(cleanupTmp);

describe("run log", () => {
  it("attack: /var/log/muster planted as a link to a directory outside the root: refused, nothing written there", () => {
    const root = tmpDir();
    const outside = tmpDir();
    mkdirSync(path.join(root, "var/log"), { recursive: true });
    symlinkSync(outside, path.join(root, "var/log/muster"));
    expect(() => openRunLog(root, "converge.log", {})).toThrow(
      `${path.join(root, "var/log/muster")} is a symbolic link or not a directory`,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

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

  it("what one busy stretch logs goes out together once the process waits; close writes the rest", async () => {
    const root = tmpDir();
    const file = path.join(root, "var/log/muster/c.log");
    const log = openRunLog(root, "c.log", { runId: "r1" });
    for (let i = 0; i < 3; i++) log.event("resource", { i });
    expect(readFileSync(file, "utf8")).toBe("");
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(3);
    log.event("run.end");
    log.close();
    const events = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).event);
    expect(events).toEqual(["resource", "resource", "resource", "run.end"]);
  });

  it("a process that exits without closing its log still writes every line", () => {
    const root = tmpDir();
    const code = `import { openRunLog } from ${JSON.stringify(path.join(REPO_ROOT, "src/runner/run-log.ts"))};
const log = openRunLog(${JSON.stringify(root)}, "x.log", {});
for (let i = 0; i < 5; i++) log.event("step", { i });
process.exit(3);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(3);
    const lines = readFileSync(path.join(root, "var/log/muster/x.log"), "utf8").trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it("refuses a log file that is a symbolic link, and writes nothing through it", () => {
    const root = tmpDir();
    const victim = path.join(root, "victim");
    writeFileSync(victim, "untouched\n");
    mkdirSync(path.join(root, "var/log/muster"), { recursive: true });
    symlinkSync(victim, path.join(root, "var/log/muster/boot.log"));
    expect(() => openRunLog(root, "boot.log", {})).toThrow(/boot\.log is a symbolic link.*remove the link/);
    expect(readFileSync(victim, "utf8")).toBe("untouched\n");
  });
});
