/**
 * `muster init [DIR]`: a new config repository that checks clean and boots a local fleet at once.
 * DIR must be new or empty (a non-empty one is refused, exit 2, nothing written); the files come
 * from init-files.ts. Each file is created exclusively ("wx"), so nothing is written through a
 * link or over a file that appeared meanwhile; a failure half-way removes what was written.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { InputError } from "../core/errors.ts";
import { initFiles } from "./init-files.ts";
import { musterPackageRoot } from "./package-root.ts";

export function runInit(dirArg: string | undefined): number {
  const dir = path.resolve(dirArg ?? ".");
  const shown = dirArg ?? ".";
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw new InputError(`init ${shown}: not a directory; give a new or empty directory`);
    if (readdirSync(dir).length > 0)
      throw new InputError(`init ${shown}: not empty; give a new or empty directory (nothing was written)`);
  }
  const createdDir = !existsSync(dir);
  const written: string[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    for (const [rel, content] of Object.entries(initFiles(musterPackageRoot()))) {
      const file = path.join(dir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content, { flag: "wx", mode: 0o644 });
      written.push(rel);
    }
  } catch (err) {
    if (createdDir) rmSync(dir, { recursive: true, force: true });
    else
      for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
    throw err;
  }
  const out = (l = "") => process.stdout.write(`${l}\n`);
  out(`muster init: a config repository in ${shown}`);
  for (const rel of written) out(`  ${rel}`);
  out();
  out("Next:");
  out(`  muster check --repo ${shown}`);
  out(`  muster fleet up --config ${path.join(shown, "fleet.yaml")} --wait`);
  return 0;
}
