#!/usr/bin/env node
// muster's executable: the bundle in dist/ (built by `npm ci` / `npm run build`).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "muster: dist/cli.js is missing; run `npm ci` (or `npm run build`) in muster's directory\n",
  );
  process.exit(2);
}
await import(entry.href);
