/** Whether a process is running, as the lock and the supervisor need to know it. */
import { readFileSync } from "node:fs";

/**
 * Is the process running? A zombie is not: an exited process whose parent is gone waits as a
 * zombie until init reaps it (PID 1 in containers often never does), and kill(pid, 0) still works.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill()
  }
}

/** The running kernel's boot id (pids are only meaningful within one boot), or "" if unknown. */
export function kernelBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}
