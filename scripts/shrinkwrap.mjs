#!/usr/bin/env node
// npm-shrinkwrap.json for the published package (npm runs this before `npm pack` and `npm publish`,
// and again with --remove after): package-lock.json as it is. The user
// data of `muster install --print-user-data --package` installs a registry package with `npm ci`
// inside it, which installs exactly the versions pinned here and checks each against its
// integrity; without it the dependencies of a root-run tool would be whatever the registry serves.
//
//   node scripts/shrinkwrap.mjs [--out FILE]   write it (default: npm-shrinkwrap.json beside package.json)
//   node scripts/shrinkwrap.mjs --remove       remove it
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? path.resolve(args[outAt + 1]) : path.join(root, "npm-shrinkwrap.json");

if (args.includes("--remove")) {
  rmSync(out, { force: true });
  process.exit(0);
}

const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
if (lock.lockfileVersion !== 3) {
  process.stderr.write(
    `shrinkwrap: package-lock.json has lockfileVersion ${lock.lockfileVersion}; expected 3 (npm 9 or later)\n`,
  );
  process.exit(2);
}
// the whole lock, development packages included: npm ci refuses a lock that does not match
// package.json's devDependencies, and --omit=dev leaves them out of the install anyway
writeFileSync(out, `${JSON.stringify(lock, null, 2)}\n`);
