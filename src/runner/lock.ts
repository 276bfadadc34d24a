/**
 * One run per root at a time: a lock file made with O_EXCL holding the owner's pid and the
 * kernel's boot id. A lock whose pid is gone (a crashed or killed run), or that was taken on
 * another boot (its pid may belong to anything now), is taken over; a live one is waited for a
 * bounded time.
 * Written by hand: the lock libraries judge staleness by mtime, which a long converge outlives.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { TimeoutError } from "../core/errors.ts";
import { kernelBootId, processAlive } from "../host/process-alive.ts";

export interface Lock {
  release(): void;
}

export async function acquireLock(file: string, waitMs: number, what = "muster run"): Promise<Lock> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, "wx", 0o644);
      fs.writeSync(fd, `${process.pid} ${kernelBootId()}\n`);
      fs.closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
          } catch {}
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = readPid(file);
    if (pid === undefined || !processAlive(pid) || !sameBoot(file)) {
      fs.rmSync(file, { force: true }); // stale: its owner is gone
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
  try {
    const n = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function sameBoot(file: string): boolean {
  try {
    const boot = fs.readFileSync(file, "utf8").trim().split(/\s+/)[1];
    return boot === undefined || boot === kernelBootId(); // a lock without a boot id: trust the pid
  } catch {
    return true;
  }
}
