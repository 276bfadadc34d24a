/**
 * Directories only this user can write. muster runs as root: in a directory another user made
 * first, or may write, they can put a link where muster writes next (and have a root-owned file
 * rewritten through it), or a file muster takes for its own (a list of pids it kills). So such a
 * directory is used only while it is a real directory (not a link) owned by this user that
 * group and others cannot write. One that is not is refused, never repaired: what is in it may
 * be planted already.
 */
import { lstatSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const STICKY = 0o1000;

/** The user muster runs as (undefined where there are no uids). */
export function euid(): number | undefined {
  return process.geteuid?.();
}

/** What privateDirFault needs of an lstat. */
export interface DirStat {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  uid: number;
  mode: number;
}

/** Why a directory with this lstat is not private to user `me`, or undefined when it is. */
export function privateDirFault(st: DirStat, me: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return "is a symbolic link; give the directory itself";
  if (!st.isDirectory()) return "is not a directory";
  if (me !== undefined && st.uid !== me) return `is owned by uid ${st.uid}, not by this user (uid ${me})`;
  if ((st.mode & 0o022) !== 0)
    return `is writable by ${st.mode & 0o020 ? "its group" : "others"} (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** Why `dir` is not a directory private to this user (see above), or undefined when it is. */
export function privateDirProblem(dir: string): string | undefined {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return st ? privateDirFault(st, euid()) : "does not exist";
}

/**
 * Make `dir` 0700 (missing parents too) and check it is private: the problem when it is not.
 * Checked after the mkdir, so one someone else made first (or swapped in meanwhile) is refused.
 */
export function makePrivateDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    return `cannot be made (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  return privateDirProblem(dir);
}

/**
 * Is `dir` safe to keep private directories in: nobody but this user (or root) can rename or
 * replace its entries? Its owner can, and so can anyone who may write it unless it is sticky
 * (as /tmp).
 */
export function isSafeBase(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return false;
  const me = euid();
  const owner = me === undefined || st.uid === me || st.uid === 0;
  return owner && ((st.mode & 0o022) === 0 || (st.mode & STICKY) !== 0);
}

/**
 * Where this user's runtime files (unix sockets) may go, best first: `$XDG_RUNTIME_DIR/muster`,
 * `/run/muster` for root, then `muster-<uid>` in each temporary directory. Each is used only
 * once checked (privateRuntimeDir); a shared name such as `/tmp/muster-x.sock` never is.
 */
export function runtimeDirCandidates(
  uid: number | undefined,
  env: NodeJS.ProcessEnv,
  tmpBases: string[],
): { dir: string; base: string }[] {
  const out: { dir: string; base: string }[] = [];
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) out.push({ dir: path.join(xdg, "muster"), base: xdg });
  if (uid === 0) out.push({ dir: "/run/muster", base: "/run" });
  for (const t of tmpBases) out.push({ dir: path.join(t, `muster-${uid ?? "user"}`), base: t });
  return out;
}

/**
 * A directory private to this user for runtime files (see runtimeDirCandidates): the first
 * candidate whose base is safe and which is (or is made) private. When another user holds every
 * one of them, a fresh directory of this process's own, removed at exit.
 */
export function privateRuntimeDir(
  env: NodeJS.ProcessEnv = process.env,
  tmpBases = [...new Set([tmpdir(), "/tmp"])],
  candidates = runtimeDirCandidates(euid(), env, tmpBases),
): string {
  for (const { dir, base } of candidates) {
    // $XDG_RUNTIME_DIR is the user's own (0700); a temporary directory may be shared if sticky
    const baseOk = base === env.XDG_RUNTIME_DIR ? privateDirProblem(base) === undefined : isSafeBase(base);
    if (baseOk && makePrivateDir(dir) === undefined) return dir;
  }
  return ownTempDir(tmpBases, "muster-run-");
}

/** A new 0700 directory in the first safe one of `bases`, removed when the process exits. */
export function ownTempDir(bases: string[], prefix: string): string {
  const base = bases.find(isSafeBase);
  if (!base) throw new Error(`no safe temporary directory: ${bases.join(", ")} may be written by others`);
  const own = mkdtempSync(path.join(base, prefix));
  process.once("exit", () => rmSync(own, { recursive: true, force: true }));
  return own;
}
