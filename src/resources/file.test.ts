import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { diffFile, type FileState } from "./file.ts";

const stat = {
  type: "file" as const,
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 4,
  mtimeMs: 0,
  dev: 1,
  user: "root",
  groupName: "root",
};
const existing = (text: string, mode = 0o644): FileState => ({
  kind: "file",
  stat: { ...stat, mode },
  bytes: Buffer.from(text),
});

describe("file diff", () => {
  it("creates a missing file, showing its content as a diff", () => {
    const changes = diffFile({ path: "/etc/motd", bytes: Buffer.from("hello\n") }, { kind: "missing" });
    expect(changes[0].what).toBe("create file /etc/motd");
    expect(changes[0].detail).toContain("+hello");
    expect(changes[1].what).toBe("set mode to 0644");
  });
  it("shows a unified diff of changed text", () => {
    const [c] = diffFile({ path: "/f", bytes: Buffer.from("a\nB\nc\n") }, existing("a\nb\nc\n"));
    expect(c.what).toBe("update content of /f");
    expect(c.detail).toContain("-b");
    expect(c.detail).toContain("+B");
    expect(c.detail).toContain("@@");
  });
  it("hides sensitive content", () => {
    const [c] = diffFile({ path: "/f", bytes: Buffer.from("secret2"), sensitive: true }, existing("secret1"));
    expect(c.what).toContain("sensitive");
    expect(c.detail).toBeUndefined();
    expect(JSON.stringify(c)).not.toContain("secret2");
  });
  it("hides the content of a file not every user may read (now, or with the mode asked for): the console, journal and log are readable by others", () => {
    const cases: [Parameters<typeof diffFile>[0], FileState][] = [
      [
        { path: "/etc/app/db.yml", bytes: Buffer.from("password: new\n") },
        existing("password: old\n", 0o640),
      ],
      [
        { path: "/etc/app/db.yml", bytes: Buffer.from("password: new\n"), mode: "0600" },
        existing("password: old\n"),
      ],
      [{ path: "/etc/app/db.yml", bytes: Buffer.from("password: new\n"), mode: "0600" }, { kind: "missing" }],
    ];
    for (const [want, cur] of cases) {
      const [c] = diffFile(want, cur);
      expect(c.what).toMatch(/\(not readable by all: content hidden\)$/);
      expect(c.detail).toBeUndefined();
      expect(JSON.stringify(c)).not.toContain("password");
    }
    // readable by all, before and after: the diff is shown
    const [shown] = diffFile({ path: "/etc/motd", bytes: Buffer.from("b\n") }, existing("a\n", 0o644));
    expect(shown.detail).toContain("+b");
  });
  it("is up to date when content and mode match", () => {
    expect(diffFile({ path: "/f", bytes: Buffer.from("x"), mode: "0644" }, existing("x"))).toEqual([]);
  });
  it("changes the mode only", () => {
    expect(
      diffFile({ path: "/f", bytes: Buffer.from("x"), mode: "0600" }, existing("x")).map((c) => c.what),
    ).toEqual(["set mode to 0600 (was 0644)"]);
  });
  it("create-if-missing leaves the content of an existing file alone", () => {
    expect(
      diffFile({ path: "/f", bytes: Buffer.from("new"), action: "create-if-missing" }, existing("old")),
    ).toEqual([]);
  });
  it("delete, and touch", () => {
    expect(diffFile({ path: "/f", action: "delete" }, existing("x"))[0].what).toBe("delete file /f");
    expect(diffFile({ path: "/f", action: "delete" }, { kind: "missing" })).toEqual([]);
    expect(diffFile({ path: "/f", action: "touch" }, existing("x"))[0].what).toBe("update modification time");
  });
  it("does not print binary content", () => {
    const [c] = diffFile({ path: "/b", bytes: Buffer.from([0, 1, 2]) }, existing("x"));
    expect(c.what).toBe("update content of /b (3 bytes)");
    expect(c.detail).toBeUndefined();
  });
});

describe("file on a root", () => {
  afterEach(cleanupTmp);

  it("a setuid mode with an owner converges: the owner is set first (a chown clears setuid)", async () => {
    const root = tmpDir();
    const uid = process.getuid?.() ?? 0;
    const decls = [
      { kind: "file", name: "/helper", props: { content: "#!/bin/sh\n", mode: "4755", owner: uid } },
    ];
    const first = await convergeDecls(root, decls);
    expect(first.outcome, first.error).toBe("converged");
    expect(statSync(path.join(root, "helper")).mode & 0o7777).toBe(0o4755);
    // new content for a setuid file that has its owner already
    const second = await convergeDecls(root, [
      { ...decls[0]!, props: { ...decls[0]!.props, content: "#!/bin/sh\nexit 0\n" } },
    ]);
    expect(second.outcome, second.error).toBe("converged");
    expect(statSync(path.join(root, "helper")).mode & 0o7777).toBe(0o4755);
  });
});

describe("file content as bytes", () => {
  afterEach(cleanupTmp);

  it("takes any Uint8Array, not only a Buffer, and writes its bytes", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "file", name: "/blob", props: { content: new Uint8Array([0, 1, 2, 255]) } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect([...readFileSync(path.join(root, "blob"))]).toEqual([0, 1, 2, 255]);
  });
});
