/**
 * Write groups: consecutive file writes held, fsynced together and published in declaration
 * order. A full group's fsync runs while the next group fills (pipelined), and nothing staged
 * after a resource that stops the run is ever published.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RootFs, type StagedWrite } from "../host/root-fs.ts";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { GROUP_MAX } from "./write-group.ts";

afterEach(cleanupTmp);

/** A root whose group fsyncs take `delayMs` and are logged, and that may meddle with one file as it is published. */
class SlowSyncRootFs extends RootFs {
  readonly events: string[] = [];
  constructor(
    root: string,
    private readonly delayMs: number,
    private readonly meddle?: { path: string; fn: (hostPath: string) => void },
    /** a path whose fsync fails (a disk error) */
    private readonly failSync?: string,
  ) {
    super(root);
  }
  override openWriteGroup(): void {
    this.events.push("open");
    super.openWriteGroup();
  }
  override async syncWriteGroup(): Promise<StagedWrite[]> {
    const n = this.groupSize;
    this.events.push(`sync ${n}`);
    const staged = await super.syncWriteGroup();
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.events.push(`synced ${n}`);
    const m = this.meddle;
    return staged.map((w) =>
      w.path === this.failSync
        ? { ...w, path: w.path, error: new Error("EIO: i/o error"), publish: w.publish, discard: w.discard }
        : m && w.path === m.path
          ? {
              path: w.path,
              error: w.error,
              discard: () => w.discard(),
              publish: () => {
                w.publish();
                m.fn(this.hostPath(w.path));
              },
            }
          : w,
    );
  }
}

const files = (n: number, from = 0): Decl[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: "file",
    name: `/srv/d/f${String(from + i).padStart(4, "0")}`,
    props: { content: `file ${from + i}\n` },
  }));

const dir: Decl = { kind: "directory", name: "/srv/d", props: { recursive: true } };

/** temporary files a write left behind (".name.muster-xxxx") */
const leftovers = (d: string) => readdirSync(d).filter((f) => f.includes(".muster-"));

describe("pipelined write groups", () => {
  it("the next group fills while the full one is fsynced; every file is published and reported in order", async () => {
    const root = tmpDir();
    const fs = new SlowSyncRootFs(root, 30);
    const n = GROUP_MAX * 2 + 10;
    const report = await convergeDecls(root, [dir, ...files(n)], { ctx: { fs } });
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => r.id)).toEqual([dir, ...files(n)].map((d) => `${d.kind}[${d.name}]`));
    expect(readFileSync(path.join(root, "srv/d/f0200"), "utf8")).toBe("file 200\n");
    // the second group was opened before the first one's fsync had ended
    expect(fs.events.slice(0, 3)).toEqual(["open", `sync ${GROUP_MAX}`, "open"]);
    expect(fs.events.indexOf("open", 1)).toBeLessThan(fs.events.indexOf(`synced ${GROUP_MAX}`));
    expect(leftovers(path.join(root, "srv/d"))).toEqual([]);
  });

  it("a resource of a sealed group that does not converge stops the run: nothing staged after it is published", async () => {
    const root = tmpDir();
    const bad = "/srv/d/f0005";
    const fs = new SlowSyncRootFs(root, 30, {
      path: bad,
      fn: (p) => appendFileSync(p, "# changed elsewhere\n"),
    });
    const report = await convergeDecls(root, [dir, ...files(GROUP_MAX * 2 + 10)], { ctx: { fs } });
    expect(report.outcome).toBe("failed");
    expect(report.resources.map((r) => `${r.id} ${r.status}`).slice(-2)).toEqual([
      "file[/srv/d/f0004] updated",
      `file[${bad}] failed`,
    ]);
    expect(report.resources).toHaveLength(7);
    // staged after it, in its group and the next: never published, nothing left behind
    expect(existsSync(path.join(root, "srv/d/f0006"))).toBe(false);
    expect(existsSync(path.join(root, `srv/d/f${String(GROUP_MAX + 3).padStart(4, "0")}`))).toBe(false);
    expect(leftovers(path.join(root, "srv/d"))).toEqual([]);
  });

  it("a second write to a path of the group being fsynced is published after the first", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "srv/d"), { recursive: true });
    const fs = new SlowSyncRootFs(root, 30);
    const decls: Decl[] = [
      { kind: "file", name: "/srv/d/twice", props: { content: "first\n" } },
      ...files(GROUP_MAX),
      { kind: "file", name: "/srv/d/twice", props: { content: "second\n", mode: "0600" } },
    ];
    const report = await convergeDecls(root, decls, { ctx: { fs } });
    expect(report.outcome, report.error).toBe("converged");
    expect(readFileSync(path.join(root, "srv/d/twice"), "utf8")).toBe("second\n");
    expect(report.resources.at(-1)).toMatchObject({ id: "file[/srv/d/twice]", status: "updated" });
  });

  it("after a resource that stops the run, nothing declared after it acts: not a delete, not a mode change", async () => {
    for (const before of [3, GROUP_MAX + 3]) {
      // `before` files, the first of which cannot be fsynced; then a file to delete and one whose
      // mode alone changes (applies that act at once, not held writes)
      const root = tmpDir();
      mkdirSync(path.join(root, "srv/d"), { recursive: true });
      writeFileSync(path.join(root, "srv/d/victim"), "keep me\n");
      writeFileSync(path.join(root, "srv/d/modeme"), "same\n", { mode: 0o644 });
      const fs = new SlowSyncRootFs(root, 20, undefined, "/srv/d/f0000");
      const report = await convergeDecls(
        root,
        [
          ...files(before),
          { kind: "file", name: "/srv/d/victim", props: { action: "delete" } },
          { kind: "file", name: "/srv/d/modeme", props: { content: "same\n", mode: "0600" } },
        ],
        { ctx: { fs } },
      );
      expect(report.outcome).toBe("failed");
      expect(report.error).toMatch(/^file\[\/srv\/d\/f0000\] .*fsync of \/srv\/d\/f0000 failed: EIO/);
      expect(report.resources.map((r) => r.id)).toEqual(["file[/srv/d/f0000]"]);
      expect(readFileSync(path.join(root, "srv/d/victim"), "utf8")).toBe("keep me\n");
      expect(statSync(path.join(root, "srv/d/modeme")).mode & 0o777).toBe(0o644);
      expect(existsSync(path.join(root, "srv/d/f0001"))).toBe(false);
      expect(leftovers(path.join(root, "srv/d"))).toEqual([]);
    }
  });

  it("a delete or a mode change among grouped writes runs in its turn, after what came before is published", async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "srv/d"), { recursive: true });
    writeFileSync(path.join(root, "srv/d/old"), "old\n");
    writeFileSync(path.join(root, "srv/d/modeme"), "same\n", { mode: 0o644 });
    const fs = new SlowSyncRootFs(root, 5);
    const report = await convergeDecls(
      root,
      [
        ...files(3),
        { kind: "file", name: "/srv/d/old", props: { action: "delete" } },
        ...files(2, 3),
        { kind: "file", name: "/srv/d/modeme", props: { content: "same\n", mode: "0600" } },
      ],
      { ctx: { fs } },
    );
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "file[/srv/d/f0000] updated",
      "file[/srv/d/f0001] updated",
      "file[/srv/d/f0002] updated",
      "file[/srv/d/old] updated",
      "file[/srv/d/f0003] updated",
      "file[/srv/d/f0004] updated",
      "file[/srv/d/modeme] updated",
    ]);
    expect(existsSync(path.join(root, "srv/d/old"))).toBe(false);
    expect(statSync(path.join(root, "srv/d/modeme")).mode & 0o777).toBe(0o600);
  });
});
