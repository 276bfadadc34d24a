/**
 * Files muster keeps by host path, outside any resource's RootFs: a run's lock file and log
 * directory, the config repo's checkout. The runner decides what they mean (is a lock stale?);
 * the effects are here, as every other touch of the host is in src/host.
 */
import * as fs from "node:fs";

/** Make a directory and its missing parents. */
export function ensureDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
}

/**
 * Create `file` holding `content` only if nothing is there (O_EXCL): true when this call made it,
 * false when a file was already there. Other errors throw.
 */
export function createExclusive(file: string, content: string, mode = 0o644): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx", mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** A small file's text, or undefined when it cannot be read (gone, not ours). */
export function readTextIfAny(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Remove a file; nothing when it is already gone. */
export function removeFile(file: string): void {
  fs.rmSync(file, { force: true });
}

export function pathExists(p: string): boolean {
  return fs.existsSync(p);
}

/** The path with every link resolved (host paths: the config repo, not a root's insides). */
export function realPath(p: string): string {
  return fs.realpathSync(p);
}
