/** Whether another user could swap a file root trusts for another of their choosing (see swappableByOthers). */
import { lstatSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";

/**
 * What lets another user replace a file of root's (the boot config) without writing to it: a link to it
 * that another user made, or a directory (the link's, or the file's) that another user owns or
 * may write, where the entry can be swapped. A sticky directory (/tmp) lets no other user remove
 * or rename root's entries, so it is safe for a file and link of root's.
 */
export function swappableByOthers(hostPath: string, euid: number): string | undefined {
  const mine = (u: number) => u === 0 || u === euid;
  const entry = lstatSync(hostPath, { throwIfNoEntry: false });
  if (entry?.isSymbolicLink() && !mine(entry.uid)) return `a link made by uid ${entry.uid}`;
  let real = hostPath;
  try {
    real = realpathSync(hostPath);
  } catch {}
  for (const dir of new Set([path.dirname(hostPath), path.dirname(real)])) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (!st || (st.mode & 0o1000) !== 0) continue;
    if (!mine(st.uid)) return `in ${dir}, a directory of uid ${st.uid}`;
    if ((st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && st.gid !== 0))
      return `in ${dir}, a directory others may write (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`;
  }
  return undefined;
}
