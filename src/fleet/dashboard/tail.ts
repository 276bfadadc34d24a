/** The end of a log file, for the dashboard and `muster fleet status --watch`. */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** The last lines of a file, read without following a link, at most its last maxBytes. */
export function tailLines(file: string, n: number, maxBytes = 16 * 1024): string[] {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return [];
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return [];
    const len = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, st.size - len);
    return buf.toString("utf8").split("\n").filter(Boolean).slice(-n);
  } finally {
    closeSync(fd);
  }
}
