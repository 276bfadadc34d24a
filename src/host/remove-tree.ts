/**
 * rm -r that never follows a link and never leaves the tree it was given, for removals under a
 * root where another user may own a directory below the one removed.
 *
 * Why by hand: Node's fs.rm walks the tree by path strings, so a directory below the one removed
 * that its owner swaps for a link between the walk's lstat and the removal of its entries sends
 * root's removal wherever the link points (the race of CVE-2022-21658 in Rust's remove_dir_all).
 * Here each directory is opened through its parent's descriptor with O_NOFOLLOW | O_DIRECTORY
 * and emptied through its own descriptor, as rm -r does with openat (fts, FTS_PHYSICAL): a link
 * found anywhere is removed itself, never entered. Node has no openat(2); "/proc/self/fd/N/NAME"
 * looks NAME up in the directory descriptor N holds, wherever that directory has been moved (see
 * pinned-dir.ts).
 */
import * as fs from "node:fs";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** For tests that swap a directory at the worst moment: after the lstat, before the open. */
export interface RemoveTreeSeam {
  beforeOpen?(at: string): void;
}

/** A path as bytes or text: names are taken as bytes (a name that is not UTF-8 is still a name). */
type At = string | Buffer;

/**
 * Remove `at` ("/proc/self/fd/N/NAME", NAME in a held directory) and, when it is a directory,
 * everything below it. Nothing there is fine, as rm -rf.
 */
export function removeTreeAt(at: At, seam: RemoveTreeSeam = {}): void {
  const st = fs.lstatSync(at, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) {
    unlinkIfThere(at);
    return;
  }
  seam.beforeOpen?.(at.toString());
  let fd: number;
  try {
    fd = fs.openSync(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    // swapped for a link (or a file) since the lstat: that is what is removed, not its target
    if (code !== "ELOOP" && code !== "ENOTDIR") throw err;
    unlinkIfThere(at);
    return;
  }
  try {
    const here = Buffer.from(`/proc/self/fd/${fd}/`);
    for (const name of fs.readdirSync(here, { encoding: "buffer" }))
      removeTreeAt(Buffer.concat([here, name]), seam);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.rmdirSync(at); // what is at NAME now: a link or a file swapped in is refused (ENOTDIR)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

function unlinkIfThere(at: At): void {
  try {
    fs.unlinkSync(at);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
