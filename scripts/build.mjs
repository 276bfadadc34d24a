// Build dist/: the CLI as one CommonJS bundle, dist/cli.cjs, that bin/muster.js compiles from
// V8's code cache (see there why: Node 20 caches no compiled code for ES modules). Dependencies
// are bundled too: Node 20 spends more time resolving and loading the hundreds of small files of
// zod, yaml and the AWS SDK than running them. A module reached only through import() (every
// command's body, the AWS SDK, the fleet) is wrapped by esbuild and runs only when first
// imported, so `muster --version` runs none of them.
// External: esbuild (a native binary) and typescript (run as its own binary by `muster check`).
// The AWS SDK is bundled from its ES module builds (`module` before `main`): its CommonJS
// builds, bundled, reach an `import()` as a default export only, so `MetadataService` came out
// undefined ("Service is not a constructor"). Every other dependency resolves as before (they
// have `exports` maps, or only `main`).
// zod's error messages in 64 languages (half of zod's size in the bundle) are left out: muster
// speaks English, and every command that validates input loads zod.
// dist/build-id is the bundle's hash: it names the code caches (bin/muster.js).
// The bundle is built beside dist/ and swapped in by two renames, so a muster running meanwhile
// (another test run) never sees a half-written dist/, only, for an instant between the renames,
// none; the code caches of the old bundle go with it.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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
  outfile: path.join(next, "cli.cjs"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  external: ["esbuild", "typescript"],
  mainFields: ["module", "main"],
  plugins: [zodEnglishOnly],
  // a script compiled from V8's code cache cannot call import() on Node 20 (bin/muster.js):
  // import() of anything bundled, or of Node's builtins, becomes a require
  supported: { "dynamic-import": false },
  define: {
    __MUSTER_VERSION__: JSON.stringify(pkg.version),
    __MUSTER_BUNDLE__: "true",
    "import.meta.url": "__musterUrl",
  },
  // strict mode first, as in the ES modules the sources are (a banner goes before esbuild's own)
  banner: { js: '"use strict";\nconst __musterUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: "linked",
  logLevel: "warning",
});
// The fleet's dashboard page (src/fleet/dashboard/page): its script bundled with uPlot for the
// browser, its HTML and CSS and uPlot's CSS beside it, all served by the fleet daemon itself, so
// the page loads nothing from the network.
const page = "src/fleet/dashboard/page";
await esbuild.build({
  entryPoints: { app: `${page}/app.ts` },
  outdir: path.join(next, "dashboard"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "chrome110",
  minify: true,
  legalComments: "none",
  charset: "ascii",
  logLevel: "warning",
});
copyFileSync(`${page}/index.html`, path.join(next, "dashboard/index.html"));
copyFileSync(`${page}/app.css`, path.join(next, "dashboard/app.css"));
copyFileSync(
  createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css"),
  path.join(next, "dashboard/uplot.css"),
);
// The bundle must be ASCII only: one other character makes V8 hold all of it as a two-byte
// string, 2.5 MB more in every muster process. esbuild escapes strings and template literals, but
// leaves a comment it keeps (zod builds code with one that has a dash in it) and a regular
// expression or tagged template as they are, where an escape could change what the code does. So
// a character in a line comment is escaped, and one anywhere else fails the build.
const bundleFile = path.join(next, "cli.cjs");
const lines = readFileSync(bundleFile, "utf8").split("\n");
const outside = [];
for (const [i, line] of lines.entries()) {
  if (!/[^\0-\x7f]/.test(line)) continue;
  if (!/^\s*\/\//.test(line)) outside.push(`dist/cli.cjs:${i + 1}: ${line.trim().slice(0, 100)}`);
  lines[i] = line.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
if (outside.length > 0) {
  rmSync(next, { recursive: true, force: true });
  throw new Error(`non-ASCII text outside a line comment in the bundle:\n${outside.join("\n")}`);
}
const bundle = lines.join("\n");
writeFileSync(bundleFile, bundle);
writeFileSync(path.join(next, "build-id"), `${createHash("sha1").update(bundle).digest("hex")}\n`);
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
