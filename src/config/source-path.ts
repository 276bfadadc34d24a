/**
 * Reading a resource's `source` from the config repository (files/, templates/). The repository
 * comes from git and so may hold symbolic links: `files/leak -> /etc/shadow` must not turn
 * `file("/etc/x", { source: "leak" })` into a copy of the host's shadow file, made by root. A
 * source is read only when its real path (every link followed) stays inside the repository; a
 * link to another file in the repository is fine.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { InputError } from "../core/errors.ts";

/** PURE: whether `p` is `dir` or inside it (both absolute and normalised). */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === "" || (!rel.startsWith(`..${path.sep}`) && rel !== ".." && !path.isAbsolute(rel));
}

/**
 * The bytes of `source` under `repoDir/subdir`; undefined when there is no such file. Bad input
 * (an InputError naming `subdir/source`) when it leaves the repository, by its name or through a
 * link, or is not a regular file.
 *
 * Against a link swapped in after the check, the file is opened through its resolved path, never
 * following a link at its last part, and the kernel is then asked (/proc/self/fd) where the file
 * it opened is: the bytes read are that file's, so only the file opened is trusted, not the path
 * checked before. Where /proc is not mounted the remaining window is a parent directory of the
 * resolved path swapped for a link between the realpath and the open, which takes write access
 * to the repository, that is, root's config, already.
 */
export function readRepoSource(repoDir: string, subdir: string, source: string): Buffer | undefined {
  const name = `${subdir}/${source}`;
  const dir = path.resolve(repoDir, subdir);
  const lexical = path.resolve(dir, source.replace(/^\/+/, ""));
  if (!isInside(dir, lexical) || lexical === dir)
    throw new InputError(`${name} leaves the config repo's ${subdir}/`);
  let real: string;
  let repoReal: string;
  try {
    repoReal = realpathSync.native(repoDir);
    real = realpathSync.native(lexical);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const outside = (where: string) =>
    new InputError(
      `${name} is a link to ${where}, outside the config repo; muster reads sources only from inside it: put the file itself in the repo`,
    );
  if (!isInside(repoReal, real)) throw outside(real);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put there must not hang the run (it is refused below)
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw outside("a link made after it was checked");
    throw err;
  }
  try {
    const opened = openedPath(fd);
    if (opened !== undefined && !isInside(repoReal, opened)) throw outside(opened);
    if (!fstatSync(fd).isFile())
      throw new InputError(`${name} is not a regular file; give a file in the config repo`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Where the kernel says the file open as `fd` is; undefined without /proc. */
function openedPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, "");
  } catch {
    return undefined;
  }
}
