/**
 * The TypeScript compiler `muster check` type-checks recipes with. TypeScript is no dependency of
 * muster (tens of MB a server never runs), so it is the config repository's own
 * (node_modules/typescript, the usual devDependency), else muster's own where it has one (a
 * source checkout, where it is a devDependency), else a `tsc` on PATH.
 */
import { accessSync, constants, existsSync } from "node:fs";
import * as path from "node:path";

/** What to add when there is none: one command, run in the config repository. */
export const ADD_TYPESCRIPT = "npm install --save-dev typescript";

/** The command line that runs tsc (before its arguments), or undefined when none is found. */
export function findTsc(
  repoDir: string,
  musterRoot: string,
  pathEnv: string | undefined,
): string[] | undefined {
  for (const dir of [repoDir, musterRoot]) {
    const js = path.join(dir, "node_modules/typescript/bin/tsc");
    if (existsSync(js)) return [process.execPath, js];
  }
  for (const dir of (pathEnv ?? "").split(":")) {
    if (!path.isAbsolute(dir)) continue; // a relative PATH entry would depend on the working directory
    const bin = path.join(dir, "tsc");
    try {
      accessSync(bin, constants.X_OK);
      return [bin];
    } catch {}
  }
  return undefined;
}
