/**
 * One timed run of a command: wall time from spawn to exit, and the peak RSS that /usr/bin/time
 * reports for it (its largest process, children included). Output goes to a log file, as
 * peers/run.sh keeps it, so the checks can read it afterwards.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { Sample } from "./stats.ts";

export interface TimedRun extends Sample {
  code: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout (and stderr, unless errFile is given) go here */
  logFile: string;
  errFile?: string;
  /** killed after this long (ansible at 2000 files takes tens of minutes) */
  timeoutMs?: number;
}

const TIME = "/usr/bin/time";

export function hasGnuTime(): boolean {
  return existsSync(TIME);
}

export function timed(argv: string[], opts: RunOptions): Promise<TimedRun> {
  const rssFile = `${opts.logFile}.rss`;
  rmSync(rssFile, { force: true });
  const withTime = hasGnuTime() ? [TIME, "-f", "%M", "-o", rssFile, ...argv] : argv;
  const out = openSync(opts.logFile, "w");
  const err = opts.errFile ? openSync(opts.errFile, "w") : out;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(withTime[0], withTime.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", out, err],
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 3 * 3600_000);
    const done = () => {
      clearTimeout(timer);
      closeSync(out);
      if (err !== out) closeSync(err);
    };
    child.on("error", (e) => {
      done();
      reject(e);
    });
    child.on("exit", (code, signal) => {
      const ms = performance.now() - started;
      done();
      resolve({ ms, code: code ?? (signal ? 128 : 1), rssKb: readRss(rssFile) });
    });
  });
}

/** /usr/bin/time -o writes "%M" last, after a "Command exited with non-zero status" line. */
function readRss(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const nums = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => /^\d+$/.test(l.trim()));
  return nums.length > 0 ? Number(nums[nums.length - 1]) : undefined;
}

/**
 * What creating a file costs in `dir` right now, in microseconds per file: `count` empty files
 * made in a fresh directory there (the directory is then handed to `moveAside`, not deleted).
 * Why the benchmarks report it: on a journal-less ext4 the kernel walks every inode freed in the
 * last one to six minutes in a block group before it reuses one (fs/ext4/ialloc.c,
 * recently_deleted), so the same file creation costs 20 to 40 times more in a directory whose
 * groups other work on the machine just churned (a shared /tmp) than in a quiet one. A cold
 * converge is mostly file creation; the figure says which of the two a run measured.
 */
export function fileCreationUs(dir: string, moveAside: (p: string) => void, count = 500): number {
  const probe = path.join(dir, `.create-probe-${process.pid}`);
  moveAside(probe);
  mkdirSync(probe, { recursive: true });
  const started = performance.now();
  for (let i = 0; i < count; i++) closeSync(openSync(path.join(probe, `f${i}`), "wx", 0o644));
  const us = ((performance.now() - started) * 1000) / count;
  moveAside(probe);
  return us;
}
