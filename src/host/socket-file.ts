/**
 * Removing a unix socket file a server of ours left behind. Only a socket, and only one this
 * user owns: a regular file, a directory or a symbolic link at the path is someone else's (or
 * a trap in a shared directory) and stays. unlink never follows a link, and in a sticky
 * directory (/tmp) nobody else can swap our own file between the check and the unlink.
 */
import * as fs from "node:fs";

/**
 * True when a socket file of ours was at `file` and is gone now. Tidying up: a file that cannot
 * be looked at or removed is left, without an error.
 */
export function removeOwnSocketFile(file: string): boolean {
  try {
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!st?.isSocket() || st.uid !== process.getuid?.()) return false;
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}
