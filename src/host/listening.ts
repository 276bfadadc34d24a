/**
 * Whether a process (or one it started) listens on a TCP port, read from Linux's /proc: the
 * socket inodes among its open files, against the LISTEN entries of its network namespace's
 * /proc/<pid>/net/tcp and tcp6. Written here because no library reads it without native code;
 * it is two files and a directory. Anything unreadable (another system, a process that has gone,
 * another user's files) answers "not known to listen", never an error.
 */
import * as fs from "node:fs";

/** /proc/net/tcp's state column for LISTEN (include/net/tcp_states.h: TCP_LISTEN = 10) */
const TCP_LISTEN = "0A";

/**
 * PURE: the rows of a /proc/net/tcp or tcp6 table read so far (whole lines, no heading): the
 * inodes of LISTEN rows (inode 0 is none), and whether a row in another state came. The kernel
 * lists a table's listening sockets before any other (tcp_seq_start walks the listening hash,
 * then the established one), so after such a row no listening socket follows. A kernel that put
 * another row among them would only make a listener look absent for a while: the start then
 * waits the settle time, as for a program that never listens.
 */
export function scanRows(lines: string[]): { listening: string[]; pastListening: boolean } {
  const listening: string[] = [];
  for (const line of lines) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (f[3] !== TCP_LISTEN) return { listening, pastListening: true };
    if (f[9] !== "0") listening.push(f[9]!);
  }
  return { listening, pastListening: false };
}

/**
 * Is one of `inodes` a listening socket in a /proc/<pid>/net/tcp-format table? Read a page at a
 * time and only as far as its listening rows go: each read makes the kernel walk its connection
 * hash only as far as that page, and all of it only for the whole table (about 5 ms here, with
 * 550 sockets in TIME_WAIT; the listening rows came in the first page, in 0.2 ms).
 */
export function listensIn(table: string, inodes: string[], pageSize = 4096): boolean {
  let fd: number;
  try {
    fd = fs.openSync(table, "r");
  } catch {
    return false;
  }
  try {
    const page = Buffer.alloc(pageSize);
    let partial = "";
    let heading = true;
    for (;;) {
      const n = fs.readSync(fd, page, 0, page.length, null);
      if (n === 0) return false;
      const lines = (partial + page.toString("latin1", 0, n)).split("\n");
      partial = lines.pop()!;
      if (heading && lines.length > 0) {
        lines.shift();
        heading = false;
      }
      const { listening, pastListening } = scanRows(lines);
      if (listening.some((i) => inodes.includes(i))) return true;
      if (pastListening) return false;
    }
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** PURE: the inode of an fd's link target "socket:[12345]", else undefined. */
export function socketInode(linkTarget: string): string | undefined {
  return /^socket:\[(\d+)\]$/.exec(linkTarget)?.[1];
}

/** The pid and its descendants (threads' children included), as /proc lists them. */
function withDescendants(pid: number): number[] {
  const all: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && all.length < 256) {
    const p = todo.pop()!;
    all.push(p);
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {}
    for (const t of tasks) {
      try {
        for (const c of fs.readFileSync(`/proc/${p}/task/${t}/children`, "utf8").split(/\s+/))
          if (c) todo.push(Number(c));
      } catch {}
    }
  }
  return all;
}

/**
 * Does `pid`, or a process it started, listen on a TCP port? The tables are read only for a
 * socket not seen before (even their listening rows cost a walk into the kernel's hash): pass
 * the same `known` set to every poll of one process, and a socket found not listening (a
 * client's, a unix socket) is not looked up again. A server creates its socket and listens on it in one go, so a socket seen not yet
 * listening is rare; it only costs the wait for the fallback.
 */
export function listensOnTcp(pid: number, known: Set<string> = new Set()): boolean {
  const fresh: string[] = [];
  for (const p of withDescendants(pid)) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let inode: string | undefined;
      try {
        inode = socketInode(fs.readlinkSync(`/proc/${p}/fd/${fd}`));
      } catch {}
      if (inode !== undefined && !known.has(inode)) fresh.push(inode);
    }
  }
  if (fresh.length === 0) return false;
  for (const table of ["tcp", "tcp6"]) if (listensIn(`/proc/${pid}/net/${table}`, fresh)) return true;
  for (const i of fresh) known.add(i);
  return false;
}
