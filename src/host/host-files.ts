/**
 * Files by host path, outside any root: muster's own bookkeeping in places it made or was
 * pointed at (the config repo checkout, its dependency stamp, a run's lock file and log
 * directory, the boot config a --config flag names, /proc). The callers decide what the files
 * mean (is a lock stale?); the effects are here. A path a resource or a config names inside
 * the root goes through RootFs instead, which keeps it inside the root.
 */
import * as fs from "node:fs";

export function pathExists(hostPath: string): boolean {
  return fs.existsSync(hostPath);
}

/** Is there a directory at this path (a link to one counts, as stat follows it)? Never throws. */
export function isDirectory(hostPath: string): boolean {
  try {
    return fs.statSync(hostPath).isDirectory();
  } catch {
    return false;
  }
}

export function readText(hostPath: string): string {
  return fs.readFileSync(hostPath, "utf8");
}

/** Thrown by readSmallFile for anything but a regular file of at most its size. */
export class NotPlainFile extends Error {
  constructor(
    message: string,
    /** what is there: "directory", "FIFO", "character device", ..., or "too large" */
    readonly kind: string,
    readonly size: number,
  ) {
    super(message);
  }
}

/**
 * A small regular file's text, read without blocking: a FIFO or a device put where a file should
 * be (in a directory another user owns, such as an app's checkout, or as an input file) is
 * refused by fstat on what was opened, where a plain read would hang or never end. `followLast`
 * false: a link at the last component is refused too (ELOOP). `seen` gets the file's owner and
 * mode.
 */
export function readSmallFile(
  hostPath: string,
  maxBytes: number,
  opts: { followLast?: boolean; seen?: { uid: number; mode: number } } = {},
): string {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const fd = fs.openSync(hostPath, O_RDONLY | O_NONBLOCK | (opts.followLast ? 0 : O_NOFOLLOW));
  try {
    const st = fs.fstatSync(fd);
    if (opts.seen) Object.assign(opts.seen, { uid: st.uid, mode: st.mode & 0o7777 });
    if (!st.isFile()) {
      const kind = fileKind(st);
      throw new NotPlainFile(`${hostPath} is a ${kind}, not a regular file`, kind, st.size);
    }
    if (st.size > maxBytes)
      throw new NotPlainFile(`${hostPath} is larger than ${maxBytes} bytes`, "too large", st.size);
    return fs.readFileSync(fd, "utf8");
  } finally {
    fs.closeSync(fd);
  }
}

function fileKind(st: fs.Stats): string {
  if (st.isDirectory()) return "directory";
  if (st.isFIFO()) return "FIFO";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  if (st.isSocket()) return "socket";
  return "special file";
}

export function readBytes(hostPath: string): Buffer {
  return fs.readFileSync(hostPath);
}

export function writeText(hostPath: string, text: string): void {
  fs.writeFileSync(hostPath, text);
}

/** Remove a file (a directory too with `recursive`); nothing there is fine. */
export function removePath(hostPath: string, recursive = false): void {
  fs.rmSync(hostPath, { force: true, recursive });
}

/** The names in a directory; throws when it cannot be read. */
export function listDir(hostPath: string): string[] {
  return fs.readdirSync(hostPath);
}

export interface DirEntry {
  name: string;
  kind: "file" | "directory" | "other";
}

/** The entries of a directory with their kind (links are "other": never followed); throws when it cannot be read. */
export function listDirEntries(hostPath: string): DirEntry[] {
  return fs.readdirSync(hostPath, { withFileTypes: true }).map((e) => ({
    name: e.name,
    kind: e.isFile() ? "file" : e.isDirectory() ? "directory" : "other",
  }));
}

/** When a file was last modified, ms since the epoch (a link is followed, as stat does); throws when it is missing. */
export function modifiedMs(hostPath: string): number {
  return fs.statSync(hostPath).mtimeMs;
}

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

/** The path with every link resolved (host paths: the config repo, not a root's insides). */
export function realPath(p: string): string {
  return fs.realpathSync(p);
}

/** The last `maxBytes` of a file as text ("" when it is absent or unreadable): a log's tail. */
export function readTail(hostPath: string, maxBytes: number): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(hostPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const text = buf.toString("utf8");
    // a tail that starts mid-line: that first partial line is left out
    return len < size ? text.slice(text.indexOf("\n") + 1) : text;
  } catch {
    return "";
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
