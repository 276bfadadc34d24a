/**
 * Where compiled recipe bundles are cached. A converge runs them as root, so the directory must
 * be one nobody else can write, now or before: a predictable shared one (`/tmp/muster-recipes`)
 * let any local user create it first and swap a cached bundle for code of their own. The cache
 * is `<tmp>/muster-recipes-<euid>`, made 0700, and used only while it is a real directory (not
 * a link) owned by this user that only it can write (src/host/private-dir.ts), in a temporary
 * directory others cannot rename it out of (sticky, or this user's own). One that was ever open to others is not trusted, and
 * not repaired either: its content may be planted. Then this run compiles into a fresh private
 * directory of its own, removed at exit: slower, never unsafe.
 */
import { tmpdir } from "node:os";
import * as path from "node:path";
import { euid, isSafeBase, makePrivateDir, ownTempDir } from "../host/private-dir.ts";

/** The recipe cache directory for this process (see above). */
export function recipeCacheDir(base = tmpdir()): string {
  const safeBase = [base, "/tmp"].find(isSafeBase);
  if (!safeBase)
    throw new Error(`no safe temporary directory for compiled recipes: ${base} is writable by others`);
  const dir = path.join(safeBase, `muster-recipes-${euid() ?? "user"}`);
  if (makePrivateDir(dir) === undefined) return dir;
  return ownTempDir([safeBase], "muster-recipes-run-");
}
