/**
 * One timed run of a command: wall time from spawn to exit, and the peak RSS that /usr/bin/time
 * reports for it (its largest process, children included). Output goes to a log file, as
 * peers/run.sh keeps it, so the checks can read it afterwards.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
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
