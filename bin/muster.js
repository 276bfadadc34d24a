#!/usr/bin/env node
// muster's executable: runs dist/cli.cjs (built by `npm ci` / `npm run build`), compiled from V8's
// code cache when there is one.
//
// Why by hand: Node 20 keeps no compile cache of its own (module.enableCompileCache came in
// Node 22), and compiling the bundle is a large part of what a short-lived muster process costs.
// So the bundle is one CommonJS file (an ES module cannot be compiled from cached data on Node 20)
// compiled with vm.Script. A run that found no usable cache writes one as it exits, holding the
// functions it compiled; later runs of that command skip the parse and those compiles. A cache
// is named by the bundle's build id (its hash), Node's version, the architecture, Node's options
// and the command, so a rebuilt bundle or another Node never takes a stale one (V8 itself checks
// only the source's length), and lives in dist/.code-cache, so an image made from a host that
// has run muster carries it. Where dist/ is read-only none is written; MUSTER_CODE_CACHE=0 turns
// it off.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const file = fileURLToPath(new URL("../dist/cli.cjs", import.meta.url));
if (!existsSync(file)) {
  process.stderr.write(
    "muster: dist/cli.cjs is missing; run `npm ci` (or `npm run build`) in muster's directory\n",
  );
  process.exit(2);
}

/**
 * The cache for this bundle (dist/build-id, its hash), this Node and this command: its first words
 * (`boot`, `fleet up`), or `help` for a help text, so that `muster boot --help` run first does not
 * leave the boot a cache with nothing of the boot in it. None without a build id.
 */
function cacheFile() {
  if (process.env.MUSTER_CODE_CACHE === "0") return undefined;
  let id;
  try {
    id = readFileSync(path.join(path.dirname(file), "build-id"), "utf8").trim();
  } catch {
    return undefined;
  }
  if (!/^[0-9a-f]{40}$/.test(id)) return undefined;
  const argv = process.argv.slice(2);
  const command = [];
  for (const word of argv.slice(0, 2)) {
    if (!/^[a-z][a-z-]{0,30}$/.test(word)) break;
    command.push(word);
  }
  const key = argv.includes("--help") || argv.includes("-h") ? "help" : command.join("-") || "cli";
  // V8 rejects a cache made under other flags: processes started with and without some (a
  // fleet.yaml's NODE_OPTIONS) would otherwise replace each other's cache at every run
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ").trim();
  const name = `${id}-${process.version}-${process.arch}${flags ? `-${fnv1a(flags)}` : ""}-${key}.bin`;
  return path.join(path.dirname(file), ".code-cache", name);
}

/** FNV-1a, 32 bits, in hex: a short name for a string (node:crypto costs a module load) */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/**
 * Compile the bundle into its CommonJS wrapper function. The source and the cache are read in
 * here, so neither buffer outlives the compile.
 */
function compile() {
  const cache = cacheFile();
  let cachedData;
  try {
    if (cache) cachedData = readFileSync(cache);
  } catch {
    // none yet: this run writes it
  }
  const bytes = readFileSync(file);
  // the bundle is ASCII only (scripts/build.mjs sees to it): latin1 decodes it as utf8 would, faster
  const script = new Script(Module.wrap(bytes.toString("latin1")), { filename: file, cachedData });
  if (cache && (cachedData === undefined || script.cachedDataRejected))
    process.once("exit", () => {
      try {
        const tmp = `${cache}.${process.pid}`;
        mkdirSync(path.dirname(cache), { recursive: true });
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cache);
      } catch {
        // a read-only install: every run compiles the bundle, as without a cache
      }
    });
  return script.runInThisContext();
}

// the bundle makes no import() of its own (src/core/import-module.ts): lend it this one
globalThis.__musterImport = (url) => import(url);
const cjs = new Module(file, undefined);
cjs.filename = file;
cjs.paths = Module._nodeModulePaths(path.dirname(file));
compile().call(cjs.exports, cjs.exports, createRequire(file), cjs, file, path.dirname(file));
