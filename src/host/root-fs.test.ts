import {
  chmodSync,
  chownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { RootFs } from "./root-fs.ts";

afterEach(cleanupTmp);

describe("RootFs.resolve keeps every path inside the root", () => {
  it("maps absolute paths under the root and clamps ..", () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    expect(fs.resolve("/etc/x")).toBe(path.join(fs.root, "etc/x"));
    expect(fs.resolve("/../../etc/passwd")).toBe(path.join(fs.root, "etc/passwd"));
    expect(fs.resolve("/a/../../b")).toBe(path.join(fs.root, "b"));
  });

  it("resolves an absolute symlink to / inside the root, as chroot would", () => {
    const root = tmpDir();
    const outside = tmpDir("muster-outside-");
    mkdirSync(path.join(root, "srv"));
    symlinkSync("/", path.join(root, "srv/escape")); // "/" means the root's /
    symlinkSync(outside, path.join(root, "srv/abs")); // a host path becomes a path under the root
    const fs = new RootFs(root);
    expect(fs.resolve("/srv/escape/etc/passwd")).toBe(path.join(fs.root, "etc/passwd"));
    expect(fs.resolve("/srv/abs/file").startsWith(fs.root + path.sep)).toBe(true);
    fs.mkdir(fs.inside(path.dirname(fs.resolve("/srv/abs/file"))), 0o755, true);
    fs.writeFileAtomic("/srv/abs/file", "x");
    expect(readFileSync(fs.resolve("/srv/abs/file"), "utf8")).toBe("x");
    expect(readdirSync(outside)).toEqual([]);
  });

  it("resolves a relative symlink that climbs out to the root's top, never above it", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "a/b"), { recursive: true });
    symlinkSync("../../../../../../tmp", path.join(root, "a/b/up"));
    const fs = new RootFs(root);
    expect(fs.resolve("/a/b/up/x")).toBe(path.join(fs.root, "tmp/x"));
  });

  it("fails on a symlink loop instead of hanging", () => {
    const root = tmpDir();
    symlinkSync("/loop", path.join(root, "loop"));
    expect(() => new RootFs(root).resolve("/loop/x")).toThrow(/too many levels of symbolic links/);
  });

  it("refuses a relative path", () => {
    expect(() => new RootFs(tmpDir()).resolve("etc/x")).toThrow(/not absolute/);
  });
});

describe("RootFs.stat", () => {
  it("says what stat(2) says of the path the walk resolves, through links, dangling ones and ..", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc/app"), { recursive: true });
    writeFileSync(path.join(root, "etc/app/conf"), "x\n");
    writeFileSync(path.join(root, "plain"), "plain\n");
    symlinkSync("/etc/app/conf", path.join(root, "abs-link")); // absolute: the root's /etc
    symlinkSync("etc/app", path.join(root, "dir-link"));
    symlinkSync("abs-link", path.join(root, "chain"));
    symlinkSync("/nowhere", path.join(root, "dangling"));
    symlinkSync("app/..", path.join(root, "etc/up"));
    const fs = new RootFs(root);
    const cases: Array<[string, string | undefined]> = [
      ["/plain", "plain"],
      ["/abs-link", "etc/app/conf"],
      ["/chain", "etc/app/conf"],
      ["/dir-link", "etc/app"],
      ["/dir-link/conf", "etc/app/conf"],
      ["/etc/up", "etc"],
      ["/etc/app/..", "etc"],
      ["/", ""],
      ["/dangling", undefined],
      ["/missing", undefined],
      ["/plain/below", undefined],
    ];
    for (const [p, real] of cases) {
      const st = fs.stat(p);
      if (real === undefined) {
        expect(st, p).toBeUndefined();
        continue;
      }
      const want = lstatSync(path.join(root, real));
      expect(st, p).toMatchObject({ type: want.isDirectory() ? "directory" : "file", size: want.size });
      expect(st?.mtimeMs, p).toBe(want.mtimeMs);
    }
  });
});

describe("RootFs.writeFileAtomic", () => {
  it("writes mode before the rename and leaves no temporary file", () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    writeFileSync(path.join(root, "f"), "old");
    fs.writeFileAtomic("/f", "new", { mode: 0o600 });
    expect(readFileSync(path.join(root, "f"), "utf8")).toBe("new");
    expect(lstatSync(path.join(root, "f")).mode & 0o777).toBe(0o600);
    expect(readdirSync(root)).toEqual(["f"]);
  });

  it("leaves what was there whole and no temporary file when the rename fails", () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    mkdirSync(path.join(root, "d"));
    writeFileSync(path.join(root, "d/keep"), "old");
    expect(() => fs.writeFileAtomic("/d", "new")).toThrow();
    expect(readFileSync(path.join(root, "d/keep"), "utf8")).toBe("old");
    expect(readdirSync(root)).toEqual(["d"]);
  });
});

describe("RootFs.readFile after a write of its own (the quick check of Written)", () => {
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("gives the bytes written without reading them again while the file is the one written", async () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    const bytes = Buffer.from("written\n");
    fs.writeFileAtomic("/f", bytes);
    expect(fs.readFile("/f")).toBe(bytes); // the very buffer: no second read
    fs.openWriteGroup();
    const grouped = Buffer.from("grouped\n");
    fs.writeFileAtomic("/g", grouped);
    for (const w of await fs.syncWriteGroup()) w.publish();
    expect(fs.readFile("/g")).toBe(grouped);
  });

  it("reads the disk once anything changed the file: content of the same size, a file renamed over it, a mode", async () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    const f = path.join(root, "f");
    fs.writeFileAtomic("/f", Buffer.from("AAAA"));
    // past the clock tick of the write: the kernel stamps times at a tick's granularity
    await pause(30);
    writeFileSync(f, "BBBB"); // in place: same inode, same size
    expect(fs.readFile("/f")?.toString()).toBe("BBBB");

    fs.writeFileAtomic("/f", Buffer.from("CCCC"));
    writeFileSync(path.join(root, "other"), "DDDD");
    renameSync(path.join(root, "other"), f); // another inode of the same size
    expect(fs.readFile("/f")?.toString()).toBe("DDDD");

    const written = Buffer.from("EEEE");
    fs.writeFileAtomic("/f", written);
    await pause(30);
    chmodSync(f, 0o600);
    const again = fs.readFile("/f");
    expect(again?.toString()).toBe("EEEE");
    expect(again).not.toBe(written); // read from the disk
  });
});

describe("RootFs write groups", () => {
  it("holds a durable write, fsynced, until it is published; a discarded one leaves nothing", async () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    fs.openWriteGroup();
    fs.writeFileAtomic("/a", "A", { mode: 0o640 });
    fs.writeFileAtomic("/b", "B");
    fs.writeFileAtomic("/state", "S", { durable: false }); // bookkeeping is not held back
    expect(fs.groupSize).toBe(2);
    expect(readdirSync(root).filter((f) => f.includes(".muster-"))).toHaveLength(2);
    expect(readdirSync(root).filter((f) => !f.startsWith("."))).toEqual(["state"]);
    const staged = await fs.syncWriteGroup();
    expect(staged.map((w) => [w.path, w.error])).toEqual([
      ["/a", undefined],
      ["/b", undefined],
    ]);
    expect(fs.groupSize).toBe(0);
    staged[0].publish();
    staged[1].discard();
    expect(readFileSync(path.join(root, "a"), "utf8")).toBe("A");
    expect(lstatSync(path.join(root, "a")).mode & 0o777).toBe(0o640);
    expect(readdirSync(root).sort()).toEqual(["a", "state"]);
  });

  it("refuses a second group while one is open", () => {
    const fs = new RootFs(tmpDir());
    fs.openWriteGroup();
    expect(() => fs.openWriteGroup()).toThrow(/already open/);
  });
});

describe("attack: a directory on the way swapped for a link by the user who owns its parent", () => {
  afterEach(cleanupTmp);

  /** ROOT/srv/app/conf, where /srv/app is another user's (they may rename conf away at will) */
  function setup() {
    const root = tmpDir();
    const outside = tmpDir(); // a directory only root may write, outside the root
    mkdirSync(path.join(root, "srv/app/conf"), { recursive: true });
    const fs = new RootFs(root);
    const swap = () => {
      renameSync(path.join(root, "srv/app/conf"), path.join(root, "srv/app/moved"));
      symlinkSync(outside, path.join(root, "srv/app/conf"));
    };
    return { root, outside, fs, swap };
  }

  it("between a write group's write and its rename: the file is renamed in the directory it was written in", async () => {
    const { root, outside, fs, swap } = setup();
    fs.openWriteGroup();
    fs.writeFileAtomic("/srv/app/conf/app.conf", "port=80\n");
    swap();
    for (const w of await fs.syncWriteGroup()) w.publish();
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(path.join(root, "srv/app/moved/app.conf"), "utf8")).toBe("port=80\n");
  });

  it("after an earlier write resolved the directory (the resolver caches it): the next write refuses the link", () => {
    const { outside, fs, swap } = setup();
    fs.writeFileAtomic("/srv/app/conf/a.conf", "a\n");
    swap();
    // a link made by someone else is not followed; resolving again would follow it outside
    expect(() => fs.writeFileAtomic("/srv/app/conf/b.conf", "b\n")).toThrow(
      /is a symbolic link or not a directory/,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it("mkdir -p with a directory on the way swapped after the path was resolved: no directory is made through the link", () => {
    const { outside, fs, swap } = setup();
    const resolve = fs.resolve.bind(fs);
    // the swap lands between the resolver's walk and the making of the missing directories
    fs.resolve = (p, followLast, seen) => {
      const r = resolve(p, followLast, seen);
      if (p === "/srv/app/conf/sites/enabled") swap();
      return r;
    };
    expect(() => fs.mkdir("/srv/app/conf/sites/enabled", 0o755, true)).toThrow(
      /is a symbolic link or not a directory/,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it("mkdir -p through a file on the way names the file", () => {
    const { root, fs } = setup();
    writeFileSync(path.join(root, "srv/app/conf/motd"), "hi\n");
    // a file, said as one: not as a link the resolver guards against
    expect(() => fs.mkdir("/srv/app/conf/motd/a/b", 0o755, true)).toThrow(
      /conf\/motd is not a directory \(a file or other non-directory is in the way\)/,
    );
  });

  it("mkdir -p still makes every missing directory, each with the mode asked for the last", () => {
    const { root, fs } = setup();
    fs.mkdir("/srv/app/conf/sites/enabled/x", 0o750, true);
    expect(statSync(path.join(root, "srv/app/conf/sites/enabled/x")).mode & 0o777).toBe(0o750);
    expect(statSync(path.join(root, "srv/app/conf/sites")).isDirectory()).toBe(true);
  });
});

const asRoot = process.geteuid?.() === 0;

describe("attack: another user's link where muster writes or sets a mode or owner (needs root: skipped when not root)", () => {
  afterEach(cleanupTmp);

  /** ROOT/etc/shadow, and ROOT/srv/app, the app user's, where that user planted `links` */
  function planted(links: Record<string, string>) {
    const root = tmpDir();
    mkdirSync(path.join(root, "etc"));
    writeFileSync(path.join(root, "etc/shadow"), "root:*:\n", { mode: 0o640 });
    mkdirSync(path.join(root, "srv/app"), { recursive: true });
    for (const [at, to] of Object.entries(links)) {
      symlinkSync(to, path.join(root, at));
      lchownSync(path.join(root, at), 65534, 65534); // made by the app's user, not root
    }
    return { root, fs: new RootFs(root) };
  }

  it.runIf(asRoot)(
    "a write, chmod, chown or touch through the app user's link to /etc/shadow is refused",
    () => {
      const { root, fs } = planted({ "srv/app/config.yml": "/etc/shadow" });
      const refused =
        /\/srv\/app\/config\.yml is a symbolic link owned by user 65534: muster follows only links root made in directories no other user can write/;
      expect(() => fs.writeFileAtomic("/srv/app/config.yml", "a: 1\n")).toThrow(refused);
      expect(() => fs.chmod("/srv/app/config.yml", 0o666)).toThrow(refused);
      expect(() => fs.chown("/srv/app/config.yml", 65534, 65534)).toThrow(refused);
      expect(() => fs.touch("/srv/app/config.yml")).toThrow(refused);
      const st = statSync(path.join(root, "etc/shadow"));
      expect(readFileSync(path.join(root, "etc/shadow"), "utf8")).toBe("root:*:\n");
      expect(st.mode & 0o777).toBe(0o640);
      expect(st.uid).toBe(0);
    },
  );

  it.runIf(asRoot)("a directory on the way that is the app user's link is refused too", () => {
    const { root, fs } = planted({ "srv/app/shared": "/etc" });
    expect(() => fs.writeFileAtomic("/srv/app/shared/sudoers", "x\n")).toThrow(/owned by user 65534/);
    expect(readdirSync(path.join(root, "etc"))).toEqual(["shadow"]);
  });

  it.runIf(asRoot)(
    "root's own link in a directory the app user can write is not followed either (they could exchange it for theirs)",
    () => {
      const { root, fs } = planted({});
      mkdirSync(path.join(root, "srv/app/releases/v2"), { recursive: true });
      symlinkSync("releases/v2", path.join(root, "srv/app/current")); // root's link
      chownSync(path.join(root, "srv/app"), 65534, 65534);
      expect(() => fs.writeFileAtomic("/srv/app/current/app.conf", "x\n")).toThrow(
        "/srv/app/current is a symbolic link in /srv/app, a directory of user 65534",
      );
      chownSync(path.join(root, "srv/app"), 0, 0);
      chmodSync(path.join(root, "srv/app"), 0o777);
      expect(() => fs.writeFileAtomic("/srv/app/current/app.conf", "x\n")).toThrow(
        "/srv/app/current is a symbolic link in /srv/app, a directory others can write",
      );
    },
  );

  it("a read that finds a link put at the file since the path was resolved refuses it (no other file's lines in a diff)", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "srv/app"), { recursive: true });
    writeFileSync(path.join(root, "srv/app/config.yml"), "a: 1\n");
    writeFileSync(path.join(root, "secret"), "root:SECRET:\n", { mode: 0o600 });
    const fs = new RootFs(root);
    const resolve = fs.resolve.bind(fs);
    // the swap lands between the resolver's walk and the open
    fs.resolve = (p, followLast, seen) => {
      const r = resolve(p, followLast, seen);
      if (p === "/srv/app/config.yml") {
        renameSync(path.join(root, "srv/app/config.yml"), path.join(root, "srv/app/old.yml"));
        symlinkSync(path.join(root, "secret"), path.join(root, "srv/app/config.yml"));
      }
      return r;
    };
    expect(() => fs.readFile("/srv/app/config.yml")).toThrow(/became a symbolic link/);
  });

  it("a link root made is followed inside the root, as before (a release link, an alternatives link)", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "srv/app/releases/v2"), { recursive: true });
    symlinkSync("releases/v2", path.join(root, "srv/app/current"));
    const fs = new RootFs(root);
    fs.writeFileAtomic("/srv/app/current/app.conf", "x\n");
    fs.chmod("/srv/app/current", 0o750);
    expect(readFileSync(path.join(root, "srv/app/releases/v2/app.conf"), "utf8")).toBe("x\n");
    expect(statSync(path.join(root, "srv/app/releases/v2")).mode & 0o777).toBe(0o750);
  });
});

describe("attack: another user rewrites the file muster is publishing, before it records what it wrote", () => {
  afterEach(cleanupTmp);

  /** a write group's file, rewritten in its temporary file (it has its final owner and mode) before publish */
  async function rewrittenBeforePublish(opts: { mode?: number; uid?: number }): Promise<string | undefined> {
    const root = tmpDir();
    const fs = new RootFs(root);
    fs.openWriteGroup();
    fs.writeFileAtomic("/config", Buffer.from("muster\n"), opts);
    const tmp = readdirSync(root).find((n) => n.startsWith(".config.muster-"));
    expect(tmp).toBeDefined();
    writeFileSync(path.join(root, tmp!), "EVIL, longer than muster's\n"); // the file's owner, meanwhile
    for (const w of await fs.syncWriteGroup()) w.publish();
    return fs.readFile("/config")?.toString();
  }

  it("a file others may write is read from the disk: the verify sees their content, not muster's", async () => {
    expect(await rewrittenBeforePublish({ mode: 0o666 })).toBe("EVIL, longer than muster's\n");
  });

  it.runIf(asRoot)("a file of an app's user likewise (needs root: skipped when not root)", async () => {
    expect(await rewrittenBeforePublish({ mode: 0o644, uid: 65534 })).toBe("EVIL, longer than muster's\n");
  });

  it("root's own file, no one else may write, is still spared the second read", async () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    const bytes = Buffer.from("muster\n");
    fs.writeFileAtomic("/config", bytes, { mode: 0o644 });
    expect(fs.readFile("/config")).toBe(bytes);
  });
});

describe("attack: the next temporary names made first by the user of the directory, who saw one", () => {
  afterEach(cleanupTmp);

  it("a taken name gets a new random part: the write and the link still happen, the planted files are left alone", async () => {
    const root = tmpDir();
    const fs = new RootFs(root);
    fs.openWriteGroup();
    fs.writeFileAtomic("/a", Buffer.from("a\n"));
    // the write group's file waits for its fsync under its temporary name, for anyone to see
    const seen = readdirSync(root).find((n) => n.startsWith(".a.muster-"))!;
    const m = /^\.a\.(muster-[0-9a-f]+-)([0-9a-z]+)$/.exec(seen)!;
    expect(m).not.toBeNull();
    const next = (k: number, target: string) =>
      `.${target}.${m[1]}${(Number.parseInt(m[2], 36) + k).toString(36)}`;
    // every name the counter would give next, for the file and then for the link
    for (let k = 1; k <= 4; k++)
      for (const target of ["b", "c"]) writeFileSync(path.join(root, next(k, target)), "planted\n");
    fs.writeFileAtomic("/b", Buffer.from("b\n"));
    for (const w of await fs.syncWriteGroup()) w.publish();
    fs.symlink("/c", "b");
    expect(readFileSync(path.join(root, "b"), "utf8")).toBe("b\n");
    expect(lstatSync(path.join(root, "c")).isSymbolicLink()).toBe(true);
    const planted = readdirSync(root).filter((n) => n.includes(m[1]));
    expect(planted).toHaveLength(8); // still there, untouched, not renamed into place
  });
});
