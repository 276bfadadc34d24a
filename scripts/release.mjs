// `npm run release`: one npm archive per platform in release/, each with its SHA-256 beside it
// (sha256sum's format), for servers that must install muster without a registry:
//
//   release/muster-fleet-<version>-linux-x64.tgz      npm install --global --offline ./<archive>
//   release/muster-fleet-<version>-linux-x64.tgz.sha256
//
// An archive holds what a server runs and nothing else: the bundle (dist/cli.cjs, its source map
// and build id), bin/muster.js, a package.json without dependencies, and esbuild (its JavaScript
// API and the binary of that platform) under vendor/esbuild, where src/config/load-esbuild.ts
// finds it. Every other dependency is inside the bundle; TypeScript, which only `muster check`
// runs, is not in it (tens of MB a server never needs).
//
// esbuild's binary for another platform than this machine's is fetched with `npm pack` and taken
// only if it matches the integrity package-lock.json pins for it.
//
// Options: --platform linux-x64|linux-arm64 (repeatable; default both), --out DIR (default
// release/), --no-build (use dist/ as it is).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

const PLATFORMS = {
  "linux-x64": { os: ["linux"], cpu: ["x64"] },
  "linux-arm64": { os: ["linux"], cpu: ["arm64"] },
};
const repo = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const fromRepo = (p) => path.join(repo, p);
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));

function fail(message) {
  process.stderr.write(`release: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    platform: { type: "string", multiple: true },
    out: { type: "string", default: fromRepo("release") },
    "no-build": { type: "boolean", default: false },
  },
});
const platforms = values.platform ?? Object.keys(PLATFORMS);
for (const p of platforms)
  if (!(p in PLATFORMS)) fail(`--platform ${p}: not one of ${Object.keys(PLATFORMS).join(", ")}`);

const pkg = readJson(fromRepo("package.json"));
const lock = readJson(fromRepo("package-lock.json"));
const esbuildVersion = readJson(fromRepo("node_modules/esbuild/package.json")).version;
if (esbuildVersion !== pkg.dependencies.esbuild)
  fail(
    `node_modules/esbuild is ${esbuildVersion}, package.json pins ${pkg.dependencies.esbuild}; run npm ci`,
  );

if (!values["no-build"])
  execFileSync(process.execPath, [fromRepo("scripts/build.mjs")], { stdio: "inherit" });

// a directory of our own (mode 0700), not a guessable name in the shared temp dir
const work = mkdtempSync(path.join(tmpdir(), "muster-release-"));
try {
  mkdirSync(values.out, { recursive: true });
  for (const platform of platforms) {
    const archive = buildArchive(platform);
    process.stdout.write(`${path.relative(process.cwd(), archive)}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** The directory of @esbuild/<platform> at the pinned version: node_modules', or fetched. */
function esbuildPlatformPackage(platform) {
  const name = `@esbuild/${platform}`;
  const installed = fromRepo(`node_modules/${name}`);
  try {
    if (readJson(path.join(installed, "package.json")).version === esbuildVersion) return installed;
  } catch {
    // not installed here (another CPU's package): fetched below
  }
  const pinned = lock.packages[`node_modules/${name}`];
  if (pinned?.version !== esbuildVersion || !pinned.integrity)
    fail(`package-lock.json pins no integrity for ${name}@${esbuildVersion}; run npm install`);
  const into = path.join(work, `fetch-${platform}`);
  mkdirSync(into);
  const out = execFileSync(
    "npm",
    ["pack", `${name}@${esbuildVersion}`, "--json", "--pack-destination", into],
    {
      encoding: "utf8",
    },
  );
  const tgz = path.join(into, JSON.parse(out)[0].filename);
  const [algo, expected] = pinned.integrity.split(/-(.*)/s);
  const actual = createHash(algo).update(readFileSync(tgz)).digest("base64");
  if (actual !== expected)
    fail(`${name}@${esbuildVersion}: the archive fetched does not match package-lock.json's integrity`);
  execFileSync("tar", ["-xzf", tgz, "-C", into, "--no-same-owner"]);
  return path.join(into, "package");
}

/** Stage the package for one platform, pack it, and write it and its .sha256 into --out. */
function buildArchive(platform) {
  const stage = path.join(work, `stage-${platform}`);
  const put = (from, to) => {
    mkdirSync(path.dirname(path.join(stage, to)), { recursive: true });
    copyFileSync(from, path.join(stage, to));
  };
  for (const f of [
    "bin/muster.js",
    "dist/cli.cjs",
    "dist/cli.cjs.map",
    "dist/build-id",
    "README.md",
    "LICENSE",
  ])
    put(fromRepo(f), f);
  for (const f of ["package.json", "lib/main.js", "LICENSE.md"])
    put(fromRepo(`node_modules/esbuild/${f}`), `vendor/esbuild/${f}`);
  put(path.join(esbuildPlatformPackage(platform), "bin/esbuild"), "vendor/esbuild/bin/esbuild");
  chmodSync(path.join(stage, "vendor/esbuild/bin/esbuild"), 0o755);
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    type: pkg.type,
    license: pkg.license,
    engines: pkg.engines,
    // npm refuses the archive on another CPU rather than install a binary that cannot run
    ...PLATFORMS[platform],
    bin: pkg.bin,
    files: [
      "bin/muster.js",
      "dist/cli.cjs",
      "dist/cli.cjs.map",
      "dist/build-id",
      "vendor",
      "README.md",
      "LICENSE",
    ],
  };
  writeFileSync(path.join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

  const packed = path.join(work, `packed-${platform}`);
  mkdirSync(packed);
  const out = execFileSync(
    "npm",
    ["pack", "--json", "--offline", "--ignore-scripts", "--pack-destination", packed],
    { cwd: stage, encoding: "utf8" },
  );
  const name = `${pkg.name}-${pkg.version}-${platform}.tgz`;
  const tgz = path.join(packed, JSON.parse(out)[0].filename);
  const sum = createHash("sha256").update(readFileSync(tgz)).digest("hex");
  // each file whole or not at all: written beside, renamed into place; the archive before its sum
  const target = path.join(values.out, name);
  copyFileSync(tgz, `${target}.part`);
  renameSync(`${target}.part`, target);
  writeFileSync(`${target}.sha256.part`, `${sum}  ${name}\n`);
  renameSync(`${target}.sha256.part`, `${target}.sha256`);
  return target;
}
