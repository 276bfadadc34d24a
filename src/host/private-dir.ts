/**
 * Directories only this user can write. muster runs as root: in a directory another user made
 * first, or may write, they can put a link where muster writes next (and have a root-owned file
 * rewritten through it), or a file muster takes for its own (a list of pids it kills). So such a
 * directory is used only while it is a real directory (not a link) owned by this user that
 * group and others cannot write. One that is not is refused, never repaired: what is in it may
 * be planted already.
 */
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync } from "node:fs";
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

const otherOwner = (st: DirStat, me: number | undefined) =>
  me !== undefined && st.uid !== me && st.uid !== 0
    ? `is owned by uid ${st.uid}, neither this user (uid ${me}) nor root`
    : undefined;

/**
 * Why a directory with this lstat is not safe to keep private directories in, or undefined when
 * it is: nobody but user `me` (or root) may rename or replace its entries. Its owner can, and so
 * can anyone who may write it unless it is sticky (as /tmp).
 */
export function unsafeBaseFault(st: DirStat, me: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return "is a symbolic link";
  if (!st.isDirectory()) return "is not a directory";
  const owner = otherOwner(st, me);
  if (owner) return owner;
  if ((st.mode & 0o022) !== 0 && (st.mode & STICKY) === 0)
    return `is writable by ${st.mode & 0o020 ? "its group" : "others"} and not sticky (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** Why `dir` is not safe to keep private directories in (see unsafeBaseFault), or undefined. */
export function unsafeBaseProblem(dir: string): string | undefined {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return st ? unsafeBaseFault(st, euid()) : "does not exist";
}

/** What unsafeAncestorFault needs of the file system. */
export interface PathLookup {
  lstat(p: string): DirStat | undefined;
  readlink(p: string): string;
}

/** As the kernel gives up (ELOOP). */
const MAX_LINKS = 40;

/**
 * PURE: the first directory on the way to `target` (an absolute path) that fails unsafeBaseFault,
 * and why; undefined when every one from / down passes. Anyone who may rename an entry of one of
 * them can swap everything below it. The way is followed as the kernel follows it: a symbolic
 * link on it is fine only when it is root's or this user's (in a sticky directory its owner may
 * replace it) and the directories its target leads through pass too. The walk ends at the first
 * part that does not exist: what is made there is this user's own.
 */
export function unsafeAncestorFault(
  target: string,
  fs: PathLookup,
  me: number | undefined,
): { dir: string; why: string } | undefined {
  const parts = (p: string) => p.split("/").filter((x) => x !== "" && x !== ".");
  const rootWhy = rootFault(fs, me);
  if (rootWhy) return { dir: "/", why: rootWhy };
  // `real`: where the walk is, a directory with no link on its way, every one of which passed
  let real = "/";
  let pending = parts(target);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      real = path.posix.dirname(real);
      continue;
    }
    const next = path.posix.join(real, part);
    const st = fs.lstat(next);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      const owner = otherOwner(st, me);
      if (owner) return { dir: next, why: `is a symbolic link ${owner.slice("is ".length)}` };
      if (++links > MAX_LINKS) return { dir: next, why: "leads through too many symbolic links" };
      const to = fs.readlink(next);
      if (to.startsWith("/")) real = "/";
      pending = [...parts(to), ...pending];
      continue;
    }
    const why = unsafeBaseFault(st, me);
    if (why) return { dir: next, why };
    real = next;
  }
  return undefined;
}

function rootFault(fs: PathLookup, me: number | undefined): string | undefined {
  const st = fs.lstat("/");
  return st ? unsafeBaseFault(st, me) : "does not exist";
}

/**
 * Why a directory at `p` could be swapped by another user, as `<dir>, above it, <why>` naming
 * the first directory above it that fails unsafeBaseFault (unsafeAncestorFault), or undefined. `p`
 * itself is not judged here: what it must be is the caller's rule (privateDirProblem).
 */
export function unsafeAncestorProblem(p: string): string | undefined {
  const abs = path.isAbsolute(p) ? p : `${process.cwd()}/${p}`;
  // not path.dirname: that would take `a/link/..` as `a`, where the kernel goes to the link's
  // target's parent
  const above = abs.replace(/\/+[^/]*\/*$/, "") || "/";
  const fault = unsafeAncestorFault(
    above,
    { lstat: (x) => lstatSync(x, { throwIfNoEntry: false }), readlink: (x) => readlinkSync(x) },
    euid(),
  );
  return fault && `${fault.dir}, above it, ${fault.why}`;
}

/**
 * Is `dir` safe to keep private directories in (see unsafeBaseProblem), and every directory
 * above it too? A safe base in a directory others may rename entries of could be swapped whole.
 */
export function isSafeBase(dir: string): boolean {
  return unsafeBaseProblem(dir) === undefined && unsafeAncestorProblem(dir) === undefined;
}

/** This user's own directory in a shared one such as /tmp: `muster-<uid>`. */
export const userDirName = (uid: number | undefined) => `muster-${uid ?? "user"}`;

/**
 * `base/muster-<uid>`, made 0700 and checked: a private directory whose path depends on the uid
 * alone, for what two processes of this user must both find whatever their environments (a
 * socket one listens on and the other connects to), which a directory of one run's own cannot
 * be. One another user made first, or in a base whose entries others may replace, is not used,
 * nor repaired: `problem` says why, one line naming the path and what to do.
 */
export function userPrivateDir(base: string, uid = euid()): { dir: string; problem?: string } {
  const dir = path.join(base, userDirName(uid));
  const baseWhy = unsafeBaseProblem(base);
  if (baseWhy)
    return {
      dir,
      problem: `${base} ${baseWhy}: others could replace ${dir}; make ${base} sticky (chmod +t) or only root's`,
    };
  const aboveWhy = unsafeAncestorProblem(base);
  if (aboveWhy)
    return {
      dir,
      problem: `${base}: ${aboveWhy}: others could replace ${dir}; keep it in a directory only its owner or root can change`,
    };
  const why = makePrivateDir(dir);
  if (why)
    return {
      dir,
      problem: `${dir} ${why}: another user may have made it first to receive what is meant for this one; remove it (rm -r ${dir}) and run again`,
    };
  return { dir };
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
  for (const t of tmpBases) out.push({ dir: path.join(t, userDirName(uid)), base: t });
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
