// Build dist/: one ESM bundle of the CLI, split so that heavy modules (the AWS SDK, esbuild)
// load only on the commands that use them. Dependencies are bundled too: Node 20 spends more
// time resolving and loading the hundreds of small files of zod, yaml and the AWS SDK than
// running them (about 80 ms of a no-op converge; the AWS SDK alone about 40 ms of every boot).
// External: esbuild (a native binary) and typescript (run as its own binary by `muster check`).
// The AWS SDK is bundled from its ES module builds (`module` before `main`): its CommonJS
// builds, bundled, reach an `import()` as a default export only, so `MetadataService` came out
// undefined ("Service is not a constructor"). Every other dependency resolves as before (they
// have `exports` maps, or only `main`).
// zod's error messages in 64 languages (half of zod's size in the bundle) are left out: muster
// speaks English, and every command that validates input loads zod.
// The bundle is built beside dist/ and swapped in, so a muster running meanwhile (another test
// run) never sees a half-written or missing dist/.
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as esbuild from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const dist = new URL("../dist", import.meta.url).pathname;
const next = `${dist}.next-${process.pid}`;
const old = `${dist}.old-${process.pid}`;
/** zod's `locales` namespace with English only (zod itself configures English from its own file). */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    const zodDir = path.dirname(createRequire(import.meta.url).resolve("zod/package.json"));
    const localesIndex = path.join(zodDir, "v4/locales/index.js");
    build.onResolve({ filter: /\/locales\/index\.js$/ }, async (args) => {
      if (!args.importer.startsWith(`${zodDir}/`)) return undefined;
      if (path.resolve(args.resolveDir, args.path) !== localesIndex) return undefined;
      return { path: localesIndex, namespace: "zod-english-only" };
    });
    build.onLoad({ filter: /.*/, namespace: "zod-english-only" }, () => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: path.dirname(localesIndex),
    }));
  },
};

await esbuild.build({
  entryPoints: { cli: "src/cli/entry.ts" },
  outdir: next,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["esbuild", "typescript"],
  mainFields: ["module", "main"],
  plugins: [zodEnglishOnly],
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
