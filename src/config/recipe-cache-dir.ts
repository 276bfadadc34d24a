/**
 * Where compiled recipe bundles are cached. A converge runs them as root, so the directory must
 * be one nobody else can write, now or before: a predictable shared one (`/tmp/muster-recipes`)
 * let any local user create it first and swap a cached bundle for code of their own. The cache
 * is `<tmp>/muster-recipes-<euid>`, made 0700, and used only while it is a real directory (not
 * a link) owned by this user and closed to others, in a temporary directory others cannot rename
 * it out of (sticky, or this user's own). One that was ever open to others is not trusted, and
 * not repaired either: its content may be planted. Then this run compiles into a fresh private
 * directory of its own, removed at exit: slower, never unsafe.
 */
import { lstatSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const STICKY = 0o1000;

function uid(): number | undefined {
  return process.geteuid?.();
}

/**
 * Is `dir` safe to keep the cache in: nobody but this user (or root) can rename or replace its
 * entries? Its owner can, and so can anyone who may write it unless it is sticky (as /tmp).
 */
export function isSafeBase(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    const me = uid();
    const owner = me === undefined || st.uid === me || st.uid === 0;
    return st.isDirectory() && owner && ((st.mode & 0o022) === 0 || (st.mode & STICKY) !== 0);
  } catch {
    return false;
  }
}

/** Is `dir` (made here when missing) a directory of this user's that only this user can write? */
export function isPrivateDir(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return false;
  }
  try {
    const st = lstatSync(dir);
    const me = uid();
    return st.isDirectory() && (me === undefined || st.uid === me) && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** The recipe cache directory for this process (see above). */
export function recipeCacheDir(base = tmpdir()): string {
  const safeBase = [base, "/tmp"].find(isSafeBase);
  if (!safeBase)
    throw new Error(`no safe temporary directory for compiled recipes: ${base} is writable by others`);
  const dir = path.join(safeBase, `muster-recipes-${uid() ?? "user"}`);
  if (isPrivateDir(dir)) return dir;
  const own = mkdtempSync(path.join(safeBase, "muster-recipes-run-"));
  process.once("exit", () => rmSync(own, { recursive: true, force: true }));
  return own;
}
