/**
 * The TypeScript settings recipes are checked with: "muster" is this muster's own source, node's
 * types come from the repository's node_modules or muster's. `muster check` type-checks with them
 * and `muster init` writes them into the new repository's tsconfig.json, so an editor sees what
 * check sees.
 */
import * as path from "node:path";

export function recipeCompilerOptions(musterRoot: string, typeRoots: string[] = []): Record<string, unknown> {
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
    paths: { muster: [path.join(musterRoot, "src/index.ts")] },
  };
}
