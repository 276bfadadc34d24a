import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";

afterEach(cleanupTmp);

/** Every leftover temporary file of an atomic write under `dir`. */
function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.includes(".muster-"));
}

const files = (dir: string, names: string[], content = (n: string) => `${n}\n`): Decl[] =>
  names.map((n) => ({ kind: "file", name: `${dir}/${n}`, props: { content: content(n) } }));

describe("file writes grouped between fsyncs", () => {
  it("converges more files than one group holds, reports them in declaration order, leaves no temporary file", async () => {
    const root = tmpDir();
    const names = Array.from({ length: 300 }, (_, i) => `f${i}`);
    const decls: Decl[] = [
      { kind: "directory", name: "/d", props: { mode: "0755" } },
      ...files("/d", names.slice(0, 150)),
      { kind: "link", name: "/d/link", props: { to: "/d/f0" } },
      ...files("/d", names.slice(150)),
    ];
    const first = await convergeDecls(root, decls);
    expect(first.outcome).toBe("converged");
    expect(first.resources.map((r) => r.id)).toEqual(decls.map((d) => `${d.kind}[${d.name}]`));
    expect(first.resources.every((r) => r.status === "updated")).toBe(true);
    for (const n of names) expect(readFileSync(path.join(root, "d", n), "utf8")).toBe(`${n}\n`);
    expect(leftovers(root)).toEqual([]);
    const second = await convergeDecls(root, decls);
    expect(second.totals.updated).toBe(0);
    expect(second.totals.upToDate).toBe(decls.length);
  });

  it("a failure inside a group: the files before it are written, none after it, no temporary file left", async () => {
    const root = tmpDir();
    const decls: Decl[] = [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1", "a2", "a3"]),
      { kind: "file", name: "/missing/dir/x", props: { content: "x" } },
      ...files("/d", ["b1", "b2"]),
    ];
    const report = await convergeDecls(root, decls);
    expect(report.outcome).toBe("failed");
    expect(report.error).toMatch(/file\[\/missing\/dir\/x\].*parent directory \/missing\/dir does not exist/);
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "directory[/d] updated",
      "file[/d/a1] updated",
      "file[/d/a2] updated",
      "file[/d/a3] updated",
      "file[/missing/dir/x] failed",
    ]);
    expect(readdirSync(path.join(root, "d")).sort()).toEqual(["a1", "a2", "a3"]);
    expect(leftovers(root)).toEqual([]);
  });

  it("ignoreFailure inside a group: the run goes on and writes the files after it", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      { kind: "file", name: "/missing/x", props: { content: "x" }, common: { ignoreFailure: true } },
      ...files("/d", ["b1"]),
    ]);
    expect(report.outcome).toBe("converged");
    expect(report.resources.map((r) => r.status)).toEqual(["updated", "updated", "failed", "updated"]);
    expect(readdirSync(path.join(root, "d")).sort()).toEqual(["a1", "b1"]);
    expect(leftovers(root)).toEqual([]);
  });

  it("the same path twice: the second resource sees the first one's file", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      { kind: "file", name: "/d/x", props: { content: "one\n" } },
      { kind: "file", name: "/d/x", props: { content: "two\n" } },
    ]);
    expect(report.outcome).toBe("converged");
    const second = report.resources[2];
    expect(second.status).toBe("updated");
    expect(second.changes.map((c) => c.what)).toContain("update content of /d/x");
    expect(readFileSync(path.join(root, "d/x"), "utf8")).toBe("two\n");
  });

  it("an immediate notification runs between the file that notified it and the next one", async () => {
    const root = tmpDir();
    const copy = `cat ${root}/d/a1 ${root}/d/a2 > ${root}/d/copied; test ! -e ${root}/d/a3 && echo absent >> ${root}/d/copied`;
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      {
        kind: "file",
        name: "/d/a2",
        props: { content: "a2\n" },
        common: { notifies: [{ resource: `execute[${copy}]`, action: "run", timing: "immediate" }] },
      },
      ...files("/d", ["a3"]),
      { kind: "execute", name: copy, props: { action: "nothing" } },
    ]);
    expect(report.outcome).toBe("converged");
    expect(readFileSync(path.join(root, "d/copied"), "utf8")).toBe("a1\na2\nabsent\n");
  });

  it("a grouped file that ran (touch) still notifies", async () => {
    const root = tmpDir();
    const mark = `touch ${root}/d/notified`;
    const decls: Decl[] = [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      {
        kind: "file",
        name: "/d/a1",
        props: { action: "touch" },
        common: { notifies: [{ resource: `execute[${mark}]`, action: "run" }] },
      },
      { kind: "execute", name: mark, props: { action: "nothing" } },
    ];
    const report = await convergeDecls(root, decls);
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toContain(`execute[${mark}] ran`);
    expect(existsSync(path.join(root, "d/notified"))).toBe(true);
  });

  it("a guard sees the file declared just before it", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "directory", name: "/d" },
      ...files("/d", ["a1"]),
      {
        kind: "file",
        name: "/d/guarded",
        props: { content: "g\n" },
        common: { onlyIf: () => existsSync(path.join(root, "d/a1")) },
      },
    ]);
    expect(report.resources.map((r) => r.status)).toEqual(["updated", "updated", "updated"]);
    expect(readFileSync(path.join(root, "d/guarded"), "utf8")).toBe("g\n");
  });
});
