/**
 * The filesystem under a run's root. Every path a resource names ("/etc/nginx/site.conf") is
 * resolved here, chroot style: "..", and symbolic links (absolute or relative) can never lead
 * outside the root. Node has no chroot-style resolver (fs.realpath follows links out of the root
 * and needs every component to exist), so the component walk is written by hand.
 *
 * This module and exec.ts are the only places that touch the host.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { InputError, RunError } from "../core/errors.ts";
import { openDirUnder, type PinnedDir } from "./pinned-dir.ts";
import { removeTreeAt } from "./remove-tree.ts";

const MAX_LINK_HOPS = 40; // the kernel's own limit (ELOOP)
/** Linux's O_PATH (Node does not export it): a descriptor that names an inode and reads nothing */
const O_PATH = 0o10000000;

export interface FileStat {
  type: "file" | "directory" | "link" | "other";
  mode: number; // permission bits only
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  /** the filesystem it is on (a rename works only within one) */
  dev: number;
}

export interface WriteOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  /** fsync before the rename (default). Off only for bookkeeping: see replace-file.ts. */
  durable?: boolean;
}

/**
 * A durable write held back by a write group: the temporary file is written, moded, owned and
 * fsynced, but not yet renamed over its target. The runner publishes it (rename) or discards it.
 */
export interface StagedWrite {
  /** the target, as a path inside the root */
  readonly path: string;
  /** set when the fsync failed: the write must be discarded */
  readonly error?: Error;
  publish(): void;
  discard(): void;
}

/** What a walk saw where it ended: known when it lstat'ed that very path (st undefined: missing). */
interface LastStat {
  known: boolean;
  st?: fs.Stats;
}

interface OpenStaged {
  path: string;
  /** what was written, remembered once it is published (see Written) */
  data: string | Buffer;
  fd: number;
  /** the temporary file's and the target's names in `dir` */
  tmp: string;
  target: string;
  dir: HeldDir;
}

/**
 * A target's directory held by descriptor (pinned-dir.ts) from the temporary file's creation to
 * the rename: a directory another user can write (an app's own) could otherwise have a component
 * of its path swapped for a link between muster's checks and its writes, and the kernel would
 * follow it at the open, the chown or the rename, out of the root. Shared by the writes of a
 * write group into one directory; closed when the last of them is done and no group is open.
 */
interface HeldDir {
  key: string;
  dir: PinnedDir;
  refs: number;
  cached: boolean;
}

/**
 * A file this RootFs wrote and renamed into place: the inode it made, as fstat saw it after the
 * rename, and the bytes written. A read that finds that very inode at the path, its size, change
 * and modification times as they were, gets these bytes without reading them back: any write to
 * the file, a chmod, a chown, a rename over it, a utimes, changes its ctime (which no user can
 * set), so a match means the content is the one written. This is the quick check git's index and
 * rsync make; it spares verify-after-apply (step.ts) a second open and read of every file a
 * cold run writes, a tenth of that run.
 *
 * Only a file no other user can write is remembered (root's, or muster's own user's, without
 * group or other write): the temporary file has its final owner and mode from before its fsync,
 * so a file owned by an app's user could be rewritten by that user before the fstat after the
 * rename, which would record their content's inode beside muster's bytes. Two limits remain, as
 * in git's "racy clean" case: on a filesystem whose clock ticks coarsely, a rewrite of the same
 * size by root within the tick of the rename goes unseen; and the entry is dropped when muster
 * removes or renames the path, not when someone else does (a new file there is a new inode).
 */
interface Written {
  dev: number;
  ino: number;
  size: number;
  ctimeMs: number;
  mtimeMs: number;
  bytes: Buffer;
}

/**
 * Temporary names: a random part and a counter, where a random part per file cost a call into
 * the CSPRNG per write. O_EXCL refuses a name that is taken; the user of a directory muster
 * writes in who saw one name there (a write group's file waits for its fsync) could make the
 * next ones first, so a taken name gets a new random part and another try (makeTemp).
 */
const tmpRandom = () => `muster-${randomBytes(6).toString("hex")}-`;
let tmpPrefix = tmpRandom();
let tmpCounter = 0;
const tmpName = (target: string) => `.${target}.${tmpPrefix}${(tmpCounter++).toString(36)}`;

/** `make` the temporary file or link for `target`; a name found taken is not tried again. */
function makeTemp<T>(target: string, make: (tmp: string) => T): { tmp: string; made: T } {
  for (let attempt = 1; ; attempt++) {
    const tmp = tmpName(target);
    try {
      return { tmp, made: make(tmp) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt === 3) throw err;
      tmpPrefix = tmpRandom();
    }
  }
}

export class RootFs {
  /** The root as a real absolute host path. */
  readonly root: string;
  /** Resolved parent directories; cleared whenever links or directories are removed or made. */
  private dirCache = new Map<string, string>();
  /** Durable writes of the open write group, in the order they were made. */
  private group: OpenStaged[] | undefined;
  /** target directories held for writes under way, by host path (see HeldDir) */
  private held = new Map<string, HeldDir>();
  /** files written and renamed into place, by host path (see Written) */
  private written = new Map<string, Written>();

  constructor(root: string) {
    const abs = path.resolve(root);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch {
      throw new InputError(
        `--root ${root}: directory does not exist; create it or pass an existing directory`,
      );
    }
    if (!fs.statSync(real).isDirectory()) throw new InputError(`--root ${root}: not a directory`);
    this.root = real;
  }

  /** True when the root is the host's own / (systemd, apt and useradd act for real then). */
  get isHostRoot(): boolean {
    return this.root === "/";
  }

  /**
   * Host path of `p` (an absolute path inside the root). Links in every parent component are
   * followed inside the root; the last component is followed too unless `followLast` is false
   * (link, delete and lstat want the link itself).
   */
  resolve(p: string, followLast = true, seen?: LastStat): string {
    if (!p.startsWith("/")) throw new InputError(`path "${p}" is not absolute; resource paths start with /`);
    const parts = p.split("/").filter((c) => c !== "" && c !== ".");
    const last = parts.length - 1;
    const parentKey = parts.slice(0, last).join("/");
    let dir = this.dirCache.get(parentKey);
    if (dir === undefined) {
      dir = this.walk(parts.slice(0, Math.max(last, 0)), true);
      this.dirCache.set(parentKey, dir);
    }
    if (last < 0) return dir;
    return this.walk([parts[last]], followLast, dir, seen);
  }

  /** Map a host path under the root back to the path inside the root ("/srv/app"). */
  inside(hostPath: string): string {
    const rel = path.relative(this.root, hostPath);
    return rel === "" ? "/" : `/${rel}`;
  }

  /** `seen`, when given, gets the lstat of where the walk ended, when it took one there. */
  private walk(components: string[], followLast: boolean, start = this.root, seen?: LastStat): string {
    let cur = start;
    const queue = [...components];
    let hops = 0;
    while (queue.length > 0) {
      const comp = queue.shift()!;
      if (seen) seen.known = false;
      if (comp === "..") {
        cur = cur === this.root ? cur : path.dirname(cur);
        continue;
      }
      if (comp === "." || comp === "") continue;
      const next = cur === "/" ? `/${comp}` : `${cur}/${comp}`;
      const isLast = queue.length === 0;
      if (isLast && !followLast) return next;
      let st: fs.Stats | undefined;
      let failed = false;
      try {
        // throwIfNoEntry: a missing path is the common case of a cold run, and a thrown error
        // (with its stack) costs more than the lstat itself
        st = fs.lstatSync(next, { throwIfNoEntry: false });
      } catch {
        st = undefined;
        failed = true;
      }
      if (st?.isSymbolicLink()) {
        // A link is followed only where no other user can have put it or can swap it: made by
        // root (or the user muster runs as), in a directory only they can write. Another user's
        // link in their own directory (an app's config.yml -> /etc/shadow) would send root's
        // writes anywhere, and in a directory they can write even root's own link can be
        // exchanged for theirs between this lstat and the readlink below.
        const why = untrustedLink(st, cur, this.inside(cur));
        if (why)
          throw new RunError(
            `${this.inside(next)} is a symbolic link ${why}: muster follows only links root made in directories no other user can write; remove it, or replace it with a real directory or file`,
          );
        if (++hops > MAX_LINK_HOPS)
          throw new RunError(`too many levels of symbolic links at ${this.inside(next)}`);
        const target = fs.readlinkSync(next);
        const targetParts = target.split("/").filter((c) => c !== "");
        if (target.startsWith("/")) cur = this.root; // absolute link targets mean the root's /
        queue.unshift(...targetParts);
        continue;
      }
      cur = next;
      if (seen && !failed) {
        seen.known = true;
        seen.st = st;
      }
    }
    return cur;
  }

  private invalidate(): void {
    this.dirCache.clear();
    // a directory made, removed or replaced: a held one may be another than its path names now
    for (const h of this.held.values()) {
      h.cached = false;
      if (h.refs === 0) h.dir.close(); // kept for the open group's next writes, which now reopen
    }
    this.held.clear();
  }

  /** The directory `hostDir` (under the root), held by descriptor; release it when done. */
  private holdDir(hostDir: string): HeldDir {
    let h = this.held.get(hostDir);
    if (!h) {
      let dir: PinnedDir;
      try {
        dir = openDirUnder(this.root, path.relative(this.root, hostDir));
      } catch (err) {
        // the error names the directory, not the /proc path it was reached by
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        throw Object.assign(new Error(`ENOENT: no such file or directory, ${this.inside(hostDir)}`), {
          code: "ENOENT",
        });
      }
      h = { key: hostDir, dir, refs: 0, cached: true };
      this.held.set(hostDir, h);
    }
    h.refs++;
    return h;
  }

  private releaseDir(h: HeldDir): void {
    h.refs--;
    if (h.refs > 0) return;
    if (h.cached && this.group !== undefined) return; // the open group's next writes may use it
    if (h.cached) this.held.delete(h.key);
    h.dir.close();
  }

  lstat(p: string): FileStat | undefined {
    return toStat(tryStat(() => fs.lstatSync(this.resolve(p, false), { throwIfNoEntry: false })));
  }

  /**
   * Stat following links (inside the root). The walk that resolves the path lstats its last
   * component, and where that is no link, its lstat is the stat: a file resource stats its path
   * three times in a run, and a cold run has hundreds of them.
   */
  stat(p: string): FileStat | undefined {
    const seen: LastStat = { known: false };
    const target = this.resolve(p, true, seen);
    if (seen.known) return toStat(seen.st);
    return toStat(tryStat(() => fs.statSync(target, { throwIfNoEntry: false })));
  }

  /**
   * The content of the file `p` resolves to, read in its held directory without following a link
   * there (one swapped in since the path was resolved, to a file only root may read, would put
   * that file's lines in the diff muster prints and logs).
   */
  readFile(p: string): Buffer | undefined {
    const seen: LastStat = { known: false };
    const resolved = this.resolve(p, true, seen);
    const mine = this.written.get(resolved);
    if (mine && seen.known && seen.st?.isFile() && sameInode(mine, seen.st)) return mine.bytes;
    try {
      return this.inParent(resolved, (at) => {
        let fd: number;
        try {
          fd = fs.openSync(at, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ELOOP") throw swappedInLink(p);
          throw err;
        }
        try {
          return fs.readFileSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  readText(p: string): string | undefined {
    return this.readFile(p)?.toString("utf8");
  }

  readLink(p: string): string | undefined {
    try {
      return fs.readlinkSync(this.resolve(p, false));
    } catch (err) {
      if (isNotFound(err) || (err as NodeJS.ErrnoException).code === "EINVAL") return undefined;
      throw err;
    }
  }

  readDir(p: string): string[] {
    try {
      return fs.readdirSync(this.resolve(p));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  /**
   * Atomic write: a temporary file beside the target, mode and owner set, fsynced, then renamed
   * over the target, so a reader (or a crash) sees the old file or the new one, never half of it.
   * While a write group is open (openWriteGroup), a durable write stops before the fsync: the
   * group fsyncs all its files at once and the runner renames them in order.
   */
  writeFileAtomic(p: string, data: string | Buffer, opts: WriteOptions = {}): void {
    const resolved = this.resolve(p);
    const dir = this.holdDir(path.dirname(resolved));
    const target = path.basename(resolved);
    let tmp: string;
    let fd: number;
    try {
      ({ tmp, made: fd } = makeTemp(target, (name) =>
        fs.openSync(
          dir.dir.path(name),
          fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
          0o600,
        ),
      ));
    } catch (err) {
      this.releaseDir(dir);
      throw err;
    }
    try {
      fs.writeFileSync(fd, data);
      // owner first: a chown clears setuid and setgid, so a mode such as 4755 is set after it
      if (opts.uid !== undefined || opts.gid !== undefined) fs.fchownSync(fd, opts.uid ?? -1, opts.gid ?? -1);
      fs.fchmodSync(fd, opts.mode ?? 0o644);
      if (opts.durable !== false) {
        if (this.group) {
          this.group.push({ path: p, data, fd, tmp, target, dir });
          return;
        }
        fs.fsyncSync(fd);
      }
      fs.renameSync(dir.dir.path(tmp), dir.dir.path(target));
      this.remember(resolved, fd, data);
      fs.closeSync(fd);
      this.releaseDir(dir);
    } catch (err) {
      closeQuietly(fd);
      try {
        fs.rmSync(dir.dir.path(tmp), { force: true });
      } finally {
        this.releaseDir(dir);
      }
      throw err;
    }
  }

  /**
   * Note what was just renamed to `hostPath` from the still open `fd` (after the rename: the
   * rename itself changes the inode's ctime). Only buffers are kept: they are the resources' own.
   */
  private remember(hostPath: string, fd: number, data: string | Buffer): void {
    const st = typeof data === "string" ? undefined : fs.fstatSync(fd);
    if (!st || !onlyMusterWrites(st)) {
      this.written.delete(hostPath);
      return;
    }
    this.written.set(hostPath, {
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      ctimeMs: st.ctimeMs,
      mtimeMs: st.mtimeMs,
      bytes: data as Buffer,
    });
  }

  /** Forget what was written at `hostPath` and below (removed or renamed by muster). */
  private forgetWritten(hostPath: string): void {
    if (this.written.size === 0) return;
    const below = `${hostPath}/`;
    for (const key of this.written.keys())
      if (key === hostPath || key.startsWith(below)) this.written.delete(key);
  }

  /**
   * Start a write group. One fsync per file, each waited for before the next file is written,
   * makes the disk flush its journal once per file: on ext4 that is most of a cold converge.
   * fsyncs issued together are committed together, so the runner groups consecutive file writes:
   * every file is still written beside its target, fsynced and only then renamed (principle 4),
   * and the renames still happen one by one in declaration order.
   */
  openWriteGroup(): void {
    if (this.group) throw new Error("a write group is already open");
    this.group = [];
  }

  /** How many writes the open group holds (the runner maps them back to their resources). */
  get groupSize(): number {
    return this.group?.length ?? 0;
  }

  /** Close the group: fsync every held file at once; the caller publishes or discards each. */
  async syncWriteGroup(): Promise<StagedWrite[]> {
    const held = this.group ?? [];
    this.group = undefined;
    // directories kept for the group's next writes that none of its writes still needs
    for (const [key, h] of this.held)
      if (h.refs === 0) {
        this.held.delete(key);
        h.dir.close();
      }
    const synced = await Promise.allSettled(held.map((h) => fsyncAsync(h.fd)));
    return held.map((h, i) => {
      const outcome = synced[i];
      let done = false;
      const finish = (publish: boolean) => {
        if (done) return;
        done = true;
        const tmp = h.dir.dir.path(h.tmp);
        try {
          if (publish) {
            fs.renameSync(tmp, h.dir.dir.path(h.target));
            this.remember(path.join(h.dir.key, h.target), h.fd, h.data);
          } else fs.rmSync(tmp, { force: true });
        } catch (err) {
          if (publish) fs.rmSync(tmp, { force: true });
          throw err;
        } finally {
          closeQuietly(h.fd);
          this.releaseDir(h.dir); // last: the paths above go through its descriptor
        }
      };
      return {
        path: h.path,
        error: outcome.status === "rejected" ? (outcome.reason as Error) : undefined,
        publish: () => finish(true),
        discard: () => finish(false),
      };
    });
  }

  /**
   * Make a directory with `mode`. With `recursive`, missing parents get the default 0755 (less the
   * umask), as `mkdir -p` and Chef's recursive directory give them: the mode and owner asked for
   * are the leaf's, and a 0700 leaf must not lock its own parents.
   */
  mkdir(p: string, mode: number, recursive: boolean): void {
    // mkdir -p one directory at a time, each in its held parent: Node's recursive mkdir walks the
    // path again, and a directory on the way that its owner swapped for a link since it was
    // resolved would have root make the rest of the path wherever the link points
    const target = this.resolve(p);
    if (recursive) for (const dir of this.missingAncestors(target)) this.mkdirIn(dir, 0o755);
    this.mkdirIn(target, mode);
    // mkdir's mode is filtered by the umask; set on the directory itself, never through a link
    this.onInode(p, this.resolve(p), (at, st) => {
      if (!st.isDirectory())
        throw new RunError(`${p} is not a directory (something else was made there meanwhile)`);
      fs.chmodSync(at, mode);
    });
    this.invalidate();
  }

  /**
   * The directories above `hostPath` (resolved: a link on the way, such as /etc -> /data/etc, is
   * already followed inside the root) that do not exist yet, the topmost first. Only a guide:
   * each is then made in its held parent, which refuses a link swapped in meanwhile.
   */
  private missingAncestors(hostPath: string): string[] {
    const missing: string[] = [];
    // below a file on the way lstat says ENOTDIR, taken as absent: the search goes up to the
    // file, and making the first directory in it is then refused, naming it, as a link there is
    const absent = (dir: string) => tryStat(() => fs.lstatSync(dir, { throwIfNoEntry: false })) === undefined;
    for (
      let dir = path.dirname(hostPath);
      dir !== this.root && dir !== path.dirname(dir);
      dir = path.dirname(dir)
    ) {
      if (!absent(dir)) break;
      missing.unshift(dir);
    }
    return missing;
  }

  /** One directory made in its held parent (the umask filters `mode`, as mkdir's). */
  private mkdirIn(target: string, mode: number): void {
    this.inParent(target, (at) => {
      try {
        fs.mkdirSync(at, { mode });
      } catch (err) {
        // made meanwhile by someone else: fine, as mkdir -p finds it (a link there is not)
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    });
  }

  /*
   * Mode, owner and times are set on the file or directory `p` resolves to (a link root made is
   * followed, inside the root; another user's is refused by the resolver), opened without
   * following a link: one put there since the path was resolved is refused.
   */

  chmod(p: string, mode: number): void {
    this.onInode(p, this.resolve(p), (at) => fs.chmodSync(at, mode));
  }

  /** followLast false: a link's own owner (lchown) */
  chown(p: string, uid: number | undefined, gid: number | undefined, followLast = true): void {
    if (followLast) this.onInode(p, this.resolve(p), (at) => fs.chownSync(at, uid ?? -1, gid ?? -1));
    else this.inParent(this.resolve(p, false), (at) => fs.lchownSync(at, uid ?? -1, gid ?? -1));
  }

  touch(p: string): void {
    const now = new Date();
    this.onInode(p, this.resolve(p), (at) => fs.utimesSync(at, now, now));
  }

  /** Make (or atomically replace) a symbolic link at `p` pointing to `to` (stored as given). */
  symlink(p: string, to: string): void {
    const target = this.resolve(p, false);
    const name = path.basename(target);
    this.inDir(path.dirname(target), (dir) => {
      const { tmp } = makeTemp(name, (t) => fs.symlinkSync(to, dir.path(t)));
      try {
        fs.renameSync(dir.path(tmp), dir.path(name));
      } catch (err) {
        fs.rmSync(dir.path(tmp), { force: true });
        throw err;
      }
    });
    this.invalidate();
  }

  /**
   * Remove `p` (not through a link at its last component; the link itself goes). A recursive
   * removal holds only the directory `p` is in: below it, Node's rm walks by path.
   */
  remove(p: string, recursive = false): void {
    try {
      const target = this.resolve(p, false);
      this.forgetWritten(target);
      // recursive: below `p` too, no directory is entered by a path walked again (remove-tree.ts)
      this.inParent(target, (at) => (recursive ? removeTreeAt(at) : fs.rmSync(at, { force: true })));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.invalidate();
      if (code === "ENOENT") return; // no directory: nothing to remove
      // a directory in the tree replaced by a link or refilled while it was removed
      if (recursive && (code === "ENOTDIR" || code === "ENOTEMPTY"))
        throw new RunError(
          `${p} changed while it was removed (${code}: a directory in it was replaced or written to meanwhile); nothing outside it was touched; run again`,
        );
      throw err;
    }
    this.invalidate();
  }

  rmdir(p: string): void {
    const target = this.resolve(p, false);
    this.forgetWritten(target);
    this.inParent(target, (at) => fs.rmdirSync(at));
    this.invalidate();
  }

  /** Rename `from` to `to`, both inside the root (a directory onto a missing path, atomically). */
  rename(from: string, to: string): void {
    const a = this.resolve(from, false);
    const b = this.resolve(to, false);
    this.forgetWritten(a);
    this.forgetWritten(b);
    this.inParent(a, (src) => this.inParent(b, (dst) => fs.renameSync(src, dst)));
    this.invalidate();
  }

  /**
   * Run `fn` with a path that reaches `hostPath`'s last component in its directory held by
   * descriptor (see HeldDir): whatever is swapped on the way meanwhile, `fn` acts in that very
   * directory. The root itself has no directory under the root: it is used as it is.
   */
  private inParent<T>(hostPath: string, fn: (at: string) => T): T {
    if (hostPath === this.root) return fn(hostPath);
    return this.inDir(path.dirname(hostPath), (dir) => fn(dir.path(path.basename(hostPath))));
  }

  private inDir<T>(hostDir: string, fn: (dir: PinnedDir) => T): T {
    const held = this.holdDir(hostDir);
    try {
      return fn(held.dir);
    } finally {
      this.releaseDir(held);
    }
  }

  /**
   * Run `fn` on the very file or directory `hostPath` is: opened with O_PATH and O_NOFOLLOW in its
   * held directory, then changed through /proc/self/fd/N (chmod, chown and utimes of that inode;
   * Node has no fchmodat). A link found there (swapped in since `p` was resolved) is refused.
   */
  private onInode<T>(p: string, hostPath: string, fn: (at: string, st: fs.Stats) => T): T {
    return this.inParent(hostPath, (at) => {
      const fd = fs.openSync(at, O_PATH | fs.constants.O_NOFOLLOW);
      try {
        const st = fs.fstatSync(fd);
        if (st.isSymbolicLink()) throw swappedInLink(p);
        return fn(`/proc/self/fd/${fd}`, st);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /**
   * The directory `p` resolves to, held by descriptor, for a child process to start in (exec.ts's
   * cwdFd): a path handed to the child would be resolved again by its chdir, and a component that
   * another user swapped for a link meanwhile would start root's command elsewhere (in /etc).
   * Close it once the child has started. A missing directory is one clear error.
   */
  openDir(p: string): PinnedDir {
    const st = this.stat(p);
    if (!st) throw new RunError(`working directory ${p} does not exist`);
    if (st.type !== "directory") throw new RunError(`working directory ${p} is not a directory`);
    const hostDir = this.resolve(p);
    try {
      return openDirUnder(this.root, path.relative(this.root, hostDir));
    } catch (err) {
      // gone since the stat
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new RunError(`working directory ${p} does not exist`);
      throw err;
    }
  }

  /** Host path of a path inside the root, for handing to a child process (git, a service). */
  hostPath(p: string): string {
    return this.resolve(p);
  }
}

/** A link found where the path resolved to something else a moment before: refused. */
function swappedInLink(p: string): RunError {
  return new RunError(
    `${p} became a symbolic link while muster worked on it; look at who made it, then run again`,
  );
}

/** PURE but for one stat: why the link `st` in directory `dir` may not be followed, or undefined. */
function untrustedLink(st: fs.Stats, dir: string, shownDir: string): string | undefined {
  const mine = (uid: number) => uid === 0 || uid === process.geteuid?.();
  if (!mine(st.uid)) return `owned by user ${st.uid}`;
  const d = fs.statSync(dir);
  if (!mine(d.uid)) return `in ${shownDir}, a directory of user ${d.uid}`;
  if ((d.mode & 0o022) !== 0) return `in ${shownDir}, a directory others can write`;
  return undefined;
}

/** PURE: may no one but root, or muster's own user, write this file (see Written)? */
function onlyMusterWrites(st: fs.Stats): boolean {
  return (st.uid === 0 || st.uid === process.geteuid?.()) && (st.mode & 0o022) === 0;
}

/** PURE: is `st` the inode `w` recorded, unchanged since (see Written)? */
function sameInode(w: Written, st: fs.Stats): boolean {
  return (
    st.ino === w.ino &&
    st.dev === w.dev &&
    st.size === w.size &&
    st.ctimeMs === w.ctimeMs &&
    st.mtimeMs === w.mtimeMs
  );
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {}
}

function tryStat(fn: () => fs.Stats | undefined): fs.Stats | undefined {
  try {
    return fn();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function toStat(st: fs.Stats | undefined): FileStat | undefined {
  if (!st) return undefined;
  const type = st.isFile() ? "file" : st.isDirectory() ? "directory" : st.isSymbolicLink() ? "link" : "other";
  return {
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeMs: st.mtimeMs,
    dev: st.dev,
  };
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
