#!/usr/bin/env node
// muster's executable: runs dist/cli.cjs (built by `npm ci` / `npm run build`), compiled from V8's
// code cache when there is one.
//
// Why by hand: Node 20 keeps no compile cache of its own (module.enableCompileCache came in
// Node 22), and compiling the bundle is a large part of what a short-lived muster process costs.
// So the bundle is one CommonJS file (an ES module cannot be compiled from cached data on Node 20)
// compiled with vm.Script. A run that found no usable cache and succeeded writes one as it exits,
// holding the functions it compiled; later runs of that command skip the parse and those
// compiles. A cache is named by the bundle's build id (its hash), Node's version, the
// architecture, Node's options and the command, so a rebuilt bundle or another Node never takes a
// stale one: V8 checks only its own version, its flags and the source's length, and does not
// verify the cache's checksum, so muster keeps a SHA-1 of its own after the data and drops a
// cache that does not match it (bytecode V8 took from a damaged file would crash every run).
// Caches live in dist/.code-cache, so an image made from a host that has run muster carries them.
// Where dist/ is read-only none is written; MUSTER_CODE_CACHE=0 turns them off; --debug runs
// without (below).
import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { createRequire, Module } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const file = fileURLToPath(new URL("../dist/cli.cjs", import.meta.url));
const dist = path.dirname(file);
if (!existsSync(file)) {
  process.stderr.write(
    "muster: dist/cli.cjs is missing; run `npm ci` (or `npm run build`) in muster's directory\n",
  );
  process.exit(2);
}

/** the commands that have subcommands: `fleet up` and `fleet status` run different code */
const GROUPS = new Set(["fleet", "gate", "health", "image"]);
const SHA1_BYTES = 20;

/** The build id (dist/build-id), or undefined. */
function buildId() {
  try {
    const id = readFileSync(path.join(dist, "build-id"), "utf8").trim();
    return /^[0-9a-f]{40}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * This run's cache key: its command (`boot`, `fleet up`; global options such as --debug before
 * it skipped), `help` for a help text (so that `muster boot --help` run first does not leave the
 * boot a cache with nothing of the boot in it), `cli` for none; the daemon (`fleet up
 * --foreground`) apart from its launcher.
 */
function commandKey(argv) {
  if (argv.includes("--help") || argv.includes("-h")) return "help";
  const at = argv.findIndex((a) => !a.startsWith("-"));
  const first = argv[at];
  if (first === undefined || !/^[a-z][a-z-]{0,30}$/.test(first)) return "cli";
  const second = argv[at + 1];
  const words = GROUPS.has(first) && second && /^[a-z][a-z-]{0,30}$/.test(second) ? [first, second] : [first];
  if (argv.includes("--foreground")) words.push("foreground");
  return words.join("-");
}

/** FNV-1a, 32 bits, in hex: a short name for a string */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** The cache's path for this bundle, Node and command, or undefined (off, or no build id). */
function cachePath(id) {
  if (process.env.MUSTER_CODE_CACHE === "0" || id === undefined) return undefined;
  // V8 rejects a cache made under other flags: processes started with and without some (a
  // fleet.yaml's NODE_OPTIONS) would otherwise replace each other's cache at every run
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ").trim();
  const key = commandKey(process.argv.slice(2));
  const name = `${id}-${process.version}-${process.arch}${flags ? `-${fnv1a(flags)}` : ""}-${key}.bin`;
  return path.join(dist, ".code-cache", name);
}

/**
 * May this process take bytecode from `st` (a cache file or its directory)? V8 runs what it is
 * given unchecked, and the trailer below is no signature: anyone who can write a cache can
 * recompute it. So a cache counts only when nobody else can write it or replace it: owned by
 * this user or root, no group or other write bit (a first run under umask 002 made it so).
 */
function trusted(st) {
  const uid = process.geteuid?.() ?? 0;
  return (st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
}

/** A cache's data if the file is whole (its SHA-1 trailer matches) and trusted, else undefined. */
function readCache(cache) {
  let bytes;
  let fd;
  try {
    if (!trusted(lstatSync(path.dirname(cache)))) return undefined;
    fd = openSync(cache, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || !trusted(st)) return undefined;
    bytes = readFileSync(fd);
  } catch {
    return undefined; // none yet: this run writes it
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (bytes.length <= SHA1_BYTES) return undefined;
  const data = bytes.subarray(0, bytes.length - SHA1_BYTES);
  const sum = createHash("sha1").update(data).digest();
  return sum.equals(bytes.subarray(bytes.length - SHA1_BYTES)) ? data : undefined;
}

/** Write the cache beside its place, whole and synced, then rename it there; never throws. */
function writeCache(cache, script) {
  const tmp = `${cache}.${process.pid}`;
  let fd;
  try {
    // only .code-cache itself: a dist/ that a rebuild has just moved away must stay away
    mkdirSync(path.dirname(cache), { recursive: false, mode: 0o755 });
  } catch {}
  try {
    // before serializing: a read-only dist/ costs nothing more; 0644 whatever the umask, or
    // readCache would not trust it
    fd = openSync(tmp, "wx", 0o644);
    fchmodSync(fd, 0o644);
    const data = script.createCachedData();
    writeSync(fd, data);
    writeSync(fd, createHash("sha1").update(data).digest());
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, cache);
  } catch {
    // a read-only install, a full disk: every run compiles the bundle, as without a cache
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

/**
 * Compile the bundle into its CommonJS wrapper function. The source and the cache are read in
 * here, so neither buffer outlives the compile.
 */
function compile() {
  const id = buildId();
  const cache = cachePath(id);
  const cachedData = cache && readCache(cache);
  const bytes = readFileSync(file);
  // a rebuild between the two reads of the build id would pair this source with another's cache
  const sure = cache !== undefined && buildId() === id;
  // the bundle is ASCII only (scripts/build.mjs sees to it): latin1 decodes it as utf8 would, faster
  const source = isAscii(bytes) ? bytes.toString("latin1") : bytes.toString("utf8");
  const script = new Script(Module.wrap(source), {
    filename: file,
    cachedData: sure ? cachedData : undefined,
  });
  if (sure && (cachedData === undefined || script.cachedDataRejected))
    process.once("exit", (code) => {
      // a run that failed may have stopped early (bad input, no network): its cache would hold
      // little of its command, and be kept for good
      if (code === 0) writeCache(cache, script);
    });
  return script.runInThisContext();
}

// the bundle makes no import() of its own (src/core/import-module.ts): lend it this one
globalThis.__musterImport = (url) => import(url);
if (process.argv.slice(2).includes("--debug")) {
  // --debug's stack traces name src/ files and lines: Node maps them through dist/cli.cjs.map,
  // but only for code its own loader compiled, so a debug run skips the cache and requires it
  process.setSourceMapsEnabled(true);
  createRequire(file)(file);
} else {
  const cjs = new Module(file, undefined);
  cjs.filename = file;
  cjs.paths = Module._nodeModulePaths(dist);
  compile().call(cjs.exports, cjs.exports, createRequire(file), cjs, file, dist);
}
