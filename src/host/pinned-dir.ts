/**
 * A directory under a root, opened one component at a time and never through a symbolic link,
 * held by a descriptor: what is then made or opened through `path(name)` lands in that very
 * directory, even if another user swaps a component of its path for a link meanwhile (a member
 * of the group that may write /var/log, say).
 *
 * Why by hand: Node has no openat(2). Each step opens "/proc/self/fd/N/NAME": the kernel resolves
 * /proc/self/fd/N to the directory descriptor N holds, wherever it has been moved, and looks NAME
 * up in it; O_NOFOLLOW | O_DIRECTORY refuses a link or a file there. This is the walk
 * systemd-tmpfiles makes with openat, and what openat2's RESOLVE_NO_SYMLINKS does in one call.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RunError } from "../core/errors.ts";

export interface PinnedDir {
  /** the directory as a person names it (ROOT/var/log/muster) */
  readonly shown: string;
  /** the descriptor that holds it (a child process may be handed it: see exec.ts's cwdFd) */
  readonly fd: number;
  /** a path that reaches `name` in the held directory, for open, mkdir, rename */
  path(name: string): string;
  close(): void;
}

const PROC_FD = "/proc/self/fd";
const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
let procMissing: boolean | undefined;

/**
 * Open `rel` (a relative path such as "var/log/muster") under `root`, making what is missing
 * (mode `mode`, less the umask) when `create` is set. A component that is a link, or not a
 * directory, is refused with one line naming it.
 */
export function openDirUnder(
  root: string,
  rel: string,
  /** ownOnly: the directory itself must be root's (or this user's) and not writable by others */
  opts: { create?: boolean; mode?: number; ownOnly?: boolean } = {},
): PinnedDir {
  procMissing ??= !fs.existsSync(PROC_FD);
  if (procMissing)
    throw new RunError(
      `${PROC_FD} is missing (/proc is not mounted): muster needs it to write under a root safely`,
    );
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new RunError(`${rel}: a path under the root may not contain ".."`);
  let fd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
  let shown = root;
  try {
    for (const part of parts) {
      shown = path.join(shown, part);
      const at = `${PROC_FD}/${fd}/${part}`;
      let next: number;
      try {
        next = fs.openSync(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" && opts.create) {
          try {
            fs.mkdirSync(at, { mode: opts.mode ?? 0o755 });
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
          }
          next = openOrRefuse(at, shown);
        } else if (code === "ELOOP" || code === "ENOTDIR") {
          throw refusal(at, shown);
        } else throw err;
      }
      fs.closeSync(fd);
      fd = next;
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (opts.ownOnly) {
    // the directory itself is muster's: another user's directory could hold their links and
    // files in place of the ones muster writes
    const st = fs.fstatSync(fd);
    if ((st.uid !== 0 && st.uid !== process.geteuid?.()) || (st.mode & 0o022) !== 0) {
      fs.closeSync(fd);
      throw new RunError(
        `${shown} belongs to another user or can be written by others: muster writes there only into a directory of its own; remove it (muster makes it again)`,
      );
    }
  }
  const held = fd;
  let open = true;
  return {
    shown,
    fd: held,
    path: (name) => `${PROC_FD}/${held}/${name}`,
    close() {
      if (open) fs.closeSync(held);
      open = false;
    },
  };
}

function openOrRefuse(at: string, shown: string): number {
  try {
    return fs.openSync(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") throw refusal(at, shown);
    throw err;
  }
}

/**
 * Why the open was refused: a link (the kernel says ENOTDIR or ELOOP for one alike, so it is
 * looked at, on this failure only), or a file or other non-directory in the way.
 */
function refusal(at: string, shown: string): RunError {
  let link = true;
  try {
    link = fs.lstatSync(at).isSymbolicLink();
  } catch {}
  if (!link)
    return new RunError(
      `${shown} is not a directory (a file or other non-directory is in the way): muster makes and writes what goes under it only in a directory; remove it or choose another path`,
    );
  return new RunError(
    `${shown} is a symbolic link or not a directory (put there, or swapped in while muster worked under it): muster does not write through it; remove it`,
  );
}
