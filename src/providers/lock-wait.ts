/**
 * Who holds a package manager's lock, from /proc/locks (and, for dnf, the pid its lock file
 * holds), and a bounded wait for it to be let go that names the holder when it runs out.
 */
import * as fs from "node:fs";
import { lockHolders, parseProcLocks } from "./apt-plan.ts";

export interface LockHolder {
  lock: string;
  pid: number;
  command: string;
}

/** Who holds a lock on any of these files, from /proc/locks. */
export function lockHoldersOf(paths: string[], procLocks = "/proc/locks"): LockHolder[] {
  let locks: ReturnType<typeof parseProcLocks>;
  try {
    locks = parseProcLocks(fs.readFileSync(procLocks, "utf8"));
  } catch {
    return [];
  }
  const out: LockHolder[] = [];
  for (const lock of paths) {
    let inode: number;
    try {
      inode = fs.statSync(lock).ino;
    } catch {
      continue; // no lock file: nobody holds it
    }
    // only the inode is compared: on overlayfs (containers) /proc/locks names the lower
    // filesystem's device, not the one stat() reports
    for (const pid of lockHolders(locks, inode))
      if (pid !== process.pid) out.push({ lock, pid, command: commandOf(pid) });
  }
  return out;
}

export function commandOf(pid: number): string {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    if (argv.length > 0) return argv.join(" ");
  } catch {}
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "a process that has since exited";
  }
}

export interface WaitOptions {
  holders(): LockHolder[];
  deadlineMs: number;
  /** when the wait began, for the message */
  waitedFrom: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** said once, when the first holder is seen */
  onWait(h: LockHolder): void;
  timeout(h: LockHolder, waitedSeconds: number): Error;
}

/** Wait until `holders()` is empty, or throw `timeout` at the deadline. */
export async function waitWhileHeld(o: WaitOptions): Promise<void> {
  let said = false;
  for (;;) {
    const holders = o.holders();
    if (holders.length === 0) return;
    const h = holders[0];
    if (o.now() >= o.deadlineMs) throw o.timeout(h, Math.round((o.now() - o.waitedFrom) / 1000));
    if (!said) o.onWait(h);
    said = true;
    await o.sleep(Math.min(500, Math.max(10, o.deadlineMs - o.now())));
  }
}
