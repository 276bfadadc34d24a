/**
 * One run per root at a time: a lock file made with O_EXCL holding the owner's pid and the
 * kernel's boot id. A lock whose pid is gone (a crashed or killed run), or that was taken on
 * another boot (its pid may belong to anything now), is taken over; a live one is waited for a
 * bounded time.
 * Written by hand: the lock libraries judge staleness by mtime, which a long converge outlives.
 */
import * as path from "node:path";
import { TimeoutError } from "../core/errors.ts";
import { createExclusive, ensureDir, readTextIfAny, removeFile } from "../host/host-files.ts";
import { kernelBootId, processAlive } from "../host/process-alive.ts";

export interface Lock {
  release(): void;
}

export async function acquireLock(file: string, waitMs: number, what = "muster run"): Promise<Lock> {
  ensureDir(path.dirname(file));
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (createExclusive(file, `${process.pid} ${kernelBootId()}\n`, 0o644)) {
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readPid(file) === process.pid) removeFile(file);
          } catch {}
        },
      };
    }
    const pid = readPid(file);
    if (pid === undefined || !processAlive(pid) || !sameBoot(file)) {
      removeFile(file); // stale: its owner is gone
      continue;
    }
    if (Date.now() >= deadline)
      throw new TimeoutError(
        `another ${what} (pid ${pid}) holds ${file}; waited ${Math.round(waitMs / 1000)} s. Let it finish, or stop it`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readPid(file: string): number | undefined {
  const n = Number.parseInt(readTextIfAny(file) ?? "", 10);
  return Number.isFinite(n) ? n : undefined;
}

function sameBoot(file: string): boolean {
  const boot = readTextIfAny(file)?.trim().split(/\s+/)[1];
  return boot === undefined || boot === kernelBootId(); // a lock without a boot id: trust the pid
}
