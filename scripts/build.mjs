// Build dist/: one ESM bundle of the CLI, split so that heavy modules (esbuild, the AWS SDK)
// load only on the commands that use them. Dependencies stay external (installed with muster).
import { readFileSync, rmSync } from "node:fs";
import * as esbuild from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
await esbuild.build({
  entryPoints: { cli: "src/cli/entry.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  define: { __MUSTER_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
});
