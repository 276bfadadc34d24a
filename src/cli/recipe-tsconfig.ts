/**
 * The TypeScript settings recipes are checked with: "muster" is this muster's own source, node's
 * types come from the repository's node_modules or muster's. `muster check` type-checks with them
 * and `muster init` writes them into the new repository's tsconfig.json, so an editor sees what
 * check sees.
 */
import * as path from "node:path";
import { PACKAGE_NAME } from "./package-root.ts";

export function recipeCompilerOptions(
  musterRoot: string,
  typeRoots: string[] = [],
  // muster's own types: its src/index.ts, in a source checkout or the npm package
  types = path.join(musterRoot, "src/index.ts"),
): Record<string, unknown> {
  return {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "bundler",
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    types: ["node"],
    typeRoots: [...typeRoots, path.join(musterRoot, "node_modules/@types")],
    // recipes import "muster" or the package's name, "muster-fleet"
    paths: { muster: [types], [PACKAGE_NAME]: [types] },
  };
}
