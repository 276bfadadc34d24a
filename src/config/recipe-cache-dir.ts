/**
 * Where compiled recipe bundles are cached. A converge runs them as root, so the directory must
 * be one nobody else can write: a predictable shared one (`/tmp/muster-recipes`) let any local
 * user create it first and swap a cached bundle for code of their own. The cache is
 * `<tmp>/muster-recipes-<uid>`, made 0700 and used only while it is a real directory (not a
 * link) owned by this user and closed to others; the sticky /tmp keeps others from renaming it
 * away. When it is not (somebody else made it), this run compiles into a fresh private directory
 * of its own, removed at exit: slower, never unsafe.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** Is `dir` (made here when missing) a directory of this user's that only this user can write? */
export function isPrivateDir(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return false;
  }
  try {
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) return false;
    // ours, but opened up (an old muster, a umask): close it before anything in it is trusted
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return true;
  } catch {
    return false;
  }
}

/** The recipe cache directory for this process (see above). */
export function recipeCacheDir(base = tmpdir()): string {
  const dir = path.join(base, `muster-recipes-${process.getuid?.() ?? "user"}`);
  if (isPrivateDir(dir)) return dir;
  const own = mkdtempSync(path.join(base, "muster-recipes-run-"));
  process.once("exit", () => rmSync(own, { recursive: true, force: true }));
  return own;
}
