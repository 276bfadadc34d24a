// Build dist/: one ESM bundle of the CLI, split so that heavy modules (esbuild, the AWS SDK)
// load only on the commands that use them. Dependencies stay external (installed with muster).
// The bundle is built beside dist/ and swapped in, so a muster running meanwhile (another test
// run) never sees a half-written or missing dist/.
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import * as esbuild from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const dist = new URL("../dist", import.meta.url).pathname;
const next = `${dist}.next-${process.pid}`;
const old = `${dist}.old-${process.pid}`;
await esbuild.build({
  entryPoints: { cli: "src/cli/entry.ts" },
  outdir: next,
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
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
