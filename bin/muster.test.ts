/**
 * bin/muster.js: the bundle compiled from V8's code cache, one cache per command, written by the
 * first run that finds none, never taken from another build or another Node, and never in the
 * way of a run.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, muster, packageCopy, REPO_ROOT, tmpDir } from "../src/test-support/tmp.ts";

afterAll(cleanupTmp);

const caches = (dir: string): string[] => {
  const d = path.join(dir, "dist/.code-cache");
  return existsSync(d) ? readdirSync(d).sort() : [];
};
/** muster from the copy, without the test run's own NODE_OPTIONS (they would name other caches) */
const run = (bin: string, args: string[], opts: Parameters<typeof muster>[1] = {}) =>
  muster(args, { ...opts, bin, env: { NODE_OPTIONS: "", ...opts.env } });
const cacheName = (dir: string, key: string): string =>
  `${readFileSync(path.join(dir, "dist/build-id"), "utf8").trim()}-${process.version}-${process.arch}-${key}.bin`;

describe("bin/muster.js and its code cache", () => {
  it("a command's first run writes its cache; later runs take it as it is", async () => {
    const pkg = packageCopy();
    const first = await run(pkg.bin, ["schema", "boot"]);
    expect(first.code).toBe(0);
    expect(caches(pkg.dir)).toEqual([cacheName(pkg.dir, "schema")]);
    const file = path.join(pkg.dir, "dist/.code-cache", cacheName(pkg.dir, "schema"));
    const before = statSync(file);
    expect(before.size).toBeGreaterThan(10_000);

    const second = await run(pkg.bin, ["schema", "boot"]);
    expect(second).toEqual(first);
    // taken, not rejected: a rejected cache is written anew (a new file renamed over it)
    const after = statSync(file);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it("each command and help text has its own cache; a run that fails writes none", async () => {
    const pkg = packageCopy();
    const root = tmpDir("muster-cache-root-");
    expect((await run(pkg.bin, ["--version"])).code).toBe(0);
    expect((await run(pkg.bin, ["boot", "--help"])).code).toBe(0);
    // a command with subcommands; --debug runs from no cache and writes none
    expect((await run(pkg.bin, ["image", "prepare", "--dry-run", "--root", root])).code).toBe(0);
    expect((await run(pkg.bin, ["--debug", "schema", "boot"])).code).toBe(0);
    expect(caches(pkg.dir)).toEqual(
      ["cli", "help", "image-prepare"].map((k) => cacheName(pkg.dir, k)).sort(),
    );
    // bad input (exit 2) and a failed command stop early: what they compiled is no cache to keep
    expect((await run(pkg.bin, ["boot", "--no-such-option"])).code).toBe(2);
    expect((await run(pkg.bin, ["gate", "status", "--root", root])).code).toBe(3);
    expect(caches(pkg.dir)).toHaveLength(3);
  });

  it("runs under other Node options keep a cache of their own", async () => {
    const pkg = packageCopy();
    expect((await run(pkg.bin, ["schema", "boot"])).code).toBe(0);
    const plain = path.join(pkg.dir, "dist/.code-cache", cacheName(pkg.dir, "schema"));
    const before = statSync(plain);
    for (const node of [["--max-old-space-size=300"], ["--max-old-space-size=300"], ["--stack-size=900"]])
      expect((await run(pkg.bin, ["schema", "boot"], { node })).code).toBe(0);
    expect(caches(pkg.dir)).toHaveLength(3);
    const after = statSync(plain);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it("a damaged cache, or one V8 rejects, is replaced, and the run does not notice", async () => {
    const pkg = packageCopy();
    const good = await run(pkg.bin, ["schema", "role"]);
    expect(good.code).toBe(0);
    const file = path.join(pkg.dir, "dist/.code-cache", cacheName(pkg.dir, "schema"));
    const whole = readFileSync(file);
    const damaged = [
      // one byte changed inside the bytecode: V8 would take it and crash on it, every run
      Buffer.concat([whole.subarray(0, 5000), Buffer.from([whole[5000]! ^ 0xff]), whole.subarray(5001)]),
      // garbage with a right checksum: V8's own checks reject it
      ((data: Buffer) => Buffer.concat([data, createHash("sha1").update(data).digest()]))(
        Buffer.alloc(4096, 7),
      ),
      Buffer.alloc(0),
    ];
    for (const bytes of damaged) {
      writeFileSync(file, bytes);
      const again = await run(pkg.bin, ["schema", "role"]);
      expect(again).toEqual(good);
      expect(readFileSync(file).equals(bytes)).toBe(false);
      expect(statSync(file).size).toBeGreaterThan(10_000);
    }
  });

  it("attack: a cache someone else could have written (group or other write, another owner, in such a directory) is never taken, and is replaced", async () => {
    const pkg = packageCopy();
    const good = await run(pkg.bin, ["schema", "role"]);
    expect(good.code).toBe(0);
    const dir = path.join(pkg.dir, "dist/.code-cache");
    const file = path.join(dir, cacheName(pkg.dir, "schema"));
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const plant = [
      () => chmodSync(file, 0o664),
      () => chmodSync(file, 0o646),
      () => chownSync(file, 65534, 65534),
      () => chmodSync(dir, 0o777),
    ];
    for (const planted of plant) {
      planted();
      const before = statSync(file).ino;
      const again = await run(pkg.bin, ["schema", "role"]);
      expect(again).toEqual(good);
      // not taken: this run found no cache it could trust and wrote its own in its place
      const after = statSync(file);
      expect(after.ino).not.toBe(before);
      expect([after.uid, after.mode & 0o777]).toEqual([process.geteuid!(), 0o644]);
      chmodSync(dir, 0o755);
    }
  });

  it("another build (build id) or no build id: never the old cache", async () => {
    const pkg = packageCopy();
    await run(pkg.bin, ["schema", "fleet"]);
    const old = cacheName(pkg.dir, "schema");
    writeFileSync(path.join(pkg.dir, "dist/build-id"), `${"0".repeat(40)}\n`);
    expect((await run(pkg.bin, ["schema", "fleet"])).code).toBe(0);
    expect(caches(pkg.dir)).toEqual([old, cacheName(pkg.dir, "schema")].sort());

    writeFileSync(path.join(pkg.dir, "dist/build-id"), "not a hash\n");
    expect((await run(pkg.bin, ["schema", "boot"])).code).toBe(0);
    expect(caches(pkg.dir)).toHaveLength(2);
  });

  it("MUSTER_CODE_CACHE=0 and a cache directory that cannot be made: runs as ever, writes none", async () => {
    const pkg = packageCopy();
    const off = await run(pkg.bin, ["schema", "boot"], { env: { MUSTER_CODE_CACHE: "0" } });
    expect(off.code).toBe(0);
    expect(caches(pkg.dir)).toEqual([]);

    // as a read-only dist/ would (root writes anywhere, so a file stands in the directory's way)
    writeFileSync(path.join(pkg.dir, "dist/.code-cache"), "");
    const blocked = await run(pkg.bin, ["schema", "boot"]);
    expect(blocked).toEqual(off);
    expect(readdirSync(path.join(pkg.dir, "dist")).sort()).toEqual([".code-cache", "build-id", "cli.cjs"]);
  });

  it("--debug: the stack trace names muster's source files and lines, through the source map", async () => {
    const root = tmpDir("muster-debug-root-");
    const r = await muster([
      "converge",
      "--repo",
      path.join(root, "none"),
      "--role",
      "web",
      "--root",
      root,
      "--debug",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^InputError: --repo \S+: config repository directory does not exist\n/);
    expect(r.stderr).toMatch(/\n {4}at loadConfigRepo \(\S+\/src\/config\/repo\.ts:\d+:\d+\)\n/);
    expect(r.stderr).not.toMatch(/cli\.cjs/);
  });

  it("the bundle is ASCII only, so V8 holds it as a one-byte string", () => {
    expect(/[^\0-\x7f]/.test(readFileSync(path.join(REPO_ROOT, "dist/cli.cjs"), "latin1"))).toBe(false);
  });
});
