/**
 * Locks that outlive a reboot lie: after a reboot their pid may belong to another live process.
 * The boot's own lock lives in /run (a tmpfs on a host, empty after every boot); for lock files
 * elsewhere, one whose mtime is older than the kernel's boot time is removed by the boot, which
 * holds its own lock by then.
 */
import { modifiedMs, readText, removePath } from "../host/host-files.ts";

/** ms since the epoch when the kernel booted, or undefined when /proc/uptime is unreadable. */
export function kernelBootTimeMs(now = Date.now(), uptimeFile = "/proc/uptime"): number | undefined {
  try {
    const up = Number.parseFloat(readText(uptimeFile).split(/\s+/)[0] ?? "");
    return Number.isFinite(up) ? now - up * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** PURE: a lock file last written before this boot began is left over from an earlier boot. */
export function fromEarlierBoot(lockMtimeMs: number, bootTimeMs: number | undefined): boolean {
  return bootTimeMs !== undefined && lockMtimeMs < bootTimeMs - 1000;
}

/** Remove the given host paths when they are lock files from an earlier boot; returns those removed. */
export function clearLocksFromEarlierBoots(hostPaths: string[], bootTimeMs = kernelBootTimeMs()): string[] {
  const removed: string[] = [];
  for (const p of hostPaths) {
    try {
      if (fromEarlierBoot(modifiedMs(p), bootTimeMs)) {
        removePath(p);
        removed.push(p);
      }
    } catch {}
  }
  return removed;
}
