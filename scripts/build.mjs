// Build dist/: one ESM bundle of the CLI, split so that heavy modules (the AWS SDK, esbuild)
// load only on the commands that use them. Dependencies are bundled too: Node 20 spends more
// time resolving and loading the hundreds of small files of zod, yaml and the AWS SDK than
// running them (about 80 ms of a no-op converge). External: esbuild (a native binary),
// typescript (run as its own binary by `muster check`) and the AWS SDK (loaded only by boot;
// its package entry points do not survive bundling: "Service is not a constructor").
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
  external: ["esbuild", "typescript", "@aws-sdk/*", "@smithy/*"],
  // bundled CommonJS dependencies call require(): give the ESM bundle one
  banner: {
    js: "import { createRequire as __musterRequire } from 'node:module'; const require = __musterRequire(import.meta.url);",
  },
  sourcemap: "linked",
  define: { __MUSTER_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
});
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
