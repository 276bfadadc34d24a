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

/** PURE: the inodes of the listening sockets in the text of a /proc/net/tcp or tcp6 file. */
export function listeningInodes(table: string): Set<string> {
  const inodes = new Set<string>();
  for (const line of table.split("\n").slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && f[3] === TCP_LISTEN && f[9] !== "0") inodes.add(f[9]!);
  }
  return inodes;
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
 * Does `pid`, or a process it started, listen on a TCP port? Reading the tables walks the
 * kernel's whole connection hash (milliseconds on a large machine, more with many connections),
 * so they are read only for a socket not seen before: pass the same `known` set to every poll of
 * one process, and a socket found not listening (a client's, a unix socket) is not looked up
 * again. A server creates its socket and listens on it in one go, so a socket seen not yet
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
  for (const table of ["tcp", "tcp6"]) {
    let listening: Set<string>;
    try {
      listening = listeningInodes(fs.readFileSync(`/proc/${pid}/net/${table}`, "utf8"));
    } catch {
      continue;
    }
    if (fresh.some((i) => listening.has(i))) return true;
  }
  for (const i of fresh) known.add(i);
  return false;
}
