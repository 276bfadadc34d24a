/**
 * muster's own package directory (for its bundled types and tools), from dist/ or src/: the
 * source checkout, the npm package and the release archive all name it muster-fleet.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The package's name (the bare name "muster" belongs to an unrelated package). */
export const PACKAGE_NAME = "muster-fleet";

export function musterPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, "package.json");
    if (existsSync(pj) && JSON.parse(readFileSync(pj, "utf8")).name === PACKAGE_NAME) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find muster's package.json");
    dir = up;
  }
}
