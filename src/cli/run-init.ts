/**
 * `muster init [DIR]`: a new config repository that checks clean and boots a local fleet at once.
 * DIR must be new or empty (a non-empty one is refused, exit 2, nothing written); the files come
 * from init-files.ts. Each file is created exclusively ("wx"), so nothing is written through a
 * link or over a file that appeared meanwhile; a failure half-way removes what was written.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { errorMessage, InputError } from "../core/errors.ts";
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
  const made = createdDir ? makeDirChain(dir, shown) : undefined;
  const written: string[] = [];
  try {
    for (const [rel, content] of Object.entries(initFiles(musterPackageRoot()))) {
      const file = path.join(dir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content, { flag: "wx", mode: 0o644 });
      written.push(rel);
    }
  } catch (err) {
    // what this run made goes; a failure of that cleanup must not hide the error that caused it
    try {
      if (made) rmSync(made, { recursive: true, force: true });
      else
        for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
    } catch {}
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

/**
 * Make `dir` and the directories missing above it, one at a time, and return the top-most one
 * made (what a cleanup removes). Node's recursive mkdir reports a file on the way as a bare
 * ENOTDIR and, under /proc, never returns; each step here is one mkdir, and a failure is one line.
 */
function makeDirChain(dir: string, shown: string): string {
  const missing: string[] = [];
  let at = dir;
  while (!existsSync(at)) {
    if (isDeadLink(at))
      throw new InputError(`init ${shown}: ${at} is a link to nothing; give a new or empty directory`);
    missing.unshift(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  if (!statSync(at).isDirectory())
    throw new InputError(`init ${shown}: ${at} is not a directory; give a new or empty directory`);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      if (d !== missing[0]) rmSync(missing[0]!, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(
        `init ${shown}: cannot make ${d} (${code ?? errorMessage(err)}); give a directory you can write`,
      );
    }
  }
  return missing[0]!;
}

function isDeadLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false; // nothing there, or a file on the way (found as the walk goes up)
  }
}
