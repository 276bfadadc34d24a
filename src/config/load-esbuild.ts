/**
 * esbuild's JavaScript API, from wherever this muster was installed with it. A source checkout or
 * an npm install has it in node_modules (its binary in the platform's @esbuild package beside
 * it). The release archive has no node_modules (npm would drop or re-resolve them): it carries
 * esbuild's API and the one binary of its platform under vendor/esbuild/, and esbuild is told
 * where that binary is through ESBUILD_BINARY_PATH, its documented way to skip its own lookup.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { musterPackageRoot } from "../cli/package-root.ts";

/** Where the release archive keeps esbuild (scripts/release.mjs writes it). */
export const VENDORED_ESBUILD = "vendor/esbuild";

export function loadEsbuild(): typeof import("esbuild") {
  const vendored = path.join(musterPackageRoot(), VENDORED_ESBUILD);
  const main = path.join(vendored, "lib/main.js");
  if (existsSync(main)) {
    // esbuild reads it once, as it loads; put back afterwards, so the commands a converge runs
    // do not inherit it. Always this binary, even when the environment names another: esbuild
    // refuses a binary of another version than its API
    const before = process.env.ESBUILD_BINARY_PATH;
    process.env.ESBUILD_BINARY_PATH = path.join(vendored, "bin/esbuild");
    try {
      return createRequire(main)(main) as typeof import("esbuild");
    } finally {
      if (before === undefined) delete process.env.ESBUILD_BINARY_PATH;
      else process.env.ESBUILD_BINARY_PATH = before;
    }
  }
  // required, not imported: esbuild's API is CommonJS, and an ESM import of it first has Node
  // scan its whole source for export names (about 10 ms of every cold converge)
  return createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
}
