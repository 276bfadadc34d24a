/**
 * The fleet's processes as Linux shows them in /proc: who belongs to a fleet (its daemon and its
 * descendants, the services whose MUSTER_ROOT is an instance's root, and, orphans included, what
 * runs detached from any terminal in or on its instances' roots and load balancer files), whether
 * a pid is still the process that was recorded
 * (pids get reused: the start time in /proc/<pid>/stat tells), and their resident memory.
 * `muster fleet down`, the tests and the benchmark use it to prove that nothing is left.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** /proc/<pid>/stat field 22: start time in clock ticks since boot */
  start: string;
  state: string;
  /** it has a controlling terminal (an operator's shell, or what one runs) */
  tty: boolean;
  argv: string[];
  cwd?: string;
  /** MUSTER_ROOT from its environment, when readable */
  musterRoot?: string;
}

/** A process as it was recorded: the pid and its start time, so a reused pid is not mistaken. */
export interface PidRecord {
  pid: number;
  start?: string;
  role: string;
}

function readStat(pid: number): { ppid: number; start: string; state: string; tty: boolean } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields 3 (state), 4 (ppid), 7 (tty_nr, 0 for none) and 22 (starttime) of proc(5)
    return { state: rest[0]!, ppid: Number(rest[1]), tty: rest[4] !== "0", start: rest[19]! };
  } catch {
    return undefined;
  }
}

export function procStart(pid: number): string | undefined {
  return readStat(pid)?.start;
}

/** Running (not a zombie) and, when `start` is given, still the same process. */
export function isRunning(pid: number, start?: string): boolean {
  const st = readStat(pid);
  if (!st || st.state === "Z") return false;
  return start === undefined || st.start === start;
}

export function processInfo(pid: number): ProcInfo | undefined {
  const st = readStat(pid);
  if (!st) return undefined;
  let argv: string[] = [];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {}
  let cwd: string | undefined;
  try {
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {}
  let musterRoot: string | undefined;
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    musterRoot = env.find((e) => e.startsWith("MUSTER_ROOT="))?.slice("MUSTER_ROOT=".length);
  } catch {}
  return { pid, ppid: st.ppid, start: st.start, state: st.state, tty: st.tty, argv, cwd, musterRoot };
}

export function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const info = processInfo(Number(name));
    if (info && info.state !== "Z") out.push(info);
  }
  return out;
}

function under(p: string | undefined, dir: string): boolean {
  return p !== undefined && (p === dir || p.startsWith(`${dir}/`));
}

/** `text` names `dir` or a path under it (not merely a longer name that starts the same). */
function mentions(text: string, dir: string): boolean {
  for (let i = text.indexOf(dir); i >= 0; i = text.indexOf(dir, i + 1)) {
    const next = text[i + dir.length];
    if (next === undefined || next === "/" || next === " " || next === ":") return true;
  }
  return false;
}

/** A `muster fleet status|events|scale|fault|down` client: names the state dir, is not the fleet. */
function isFleetClient(p: ProcInfo): boolean {
  const i = p.argv.indexOf("fleet");
  return i >= 0 && p.argv[i + 1] !== undefined && p.argv[i + 1] !== "up";
}

/** The daemon of the fleet on `stateDir`: `muster fleet up --foreground --state-dir STATE`. */
function isDaemonOf(p: ProcInfo, stateDir: string): boolean {
  const at = p.argv.indexOf("--state-dir");
  return p.argv.includes("--foreground") && at >= 0 && p.argv[at + 1] === stateDir;
}

/**
 * Does `p` belong to the fleet on `stateDir`, by itself (its descendants are added after)? Its
 * daemon; a service an instance's supervisor started (MUSTER_ROOT is the instance's root, kept
 * through any fork); and what runs detached from a terminal in an instance's root or names one,
 * or the load balancer's files (a supervisor, a boot, HAProxy), orphaned ones included. Never
 * what merely names the state directory, nor what has a terminal: an operator's shell in it, a
 * `tail -f` of its logs.
 */
export function belongsToFleet(p: ProcInfo, stateDir: string): boolean {
  if (isFleetClient(p)) return false;
  if (isDaemonOf(p, stateDir) || under(p.musterRoot, stateDir)) return true;
  if (p.tty) return false;
  const own = [path.join(stateDir, "instances"), path.join(stateDir, "lb")];
  return own.some((d) => p.argv.some((a) => mentions(a, d))) || under(p.cwd, own[0]!);
}

/**
 * Does `p` belong to the instance whose directory is `instanceDir`: a service of its supervisor
 * (MUSTER_ROOT), or something without a terminal that runs in it or names it. The boot's `git
 * clone` is one: it runs in a process group of its own (so that a timeout kills its helpers),
 * which a kill of the boot's group misses, and it names the instance's root.
 */
export function belongsToInstance(p: ProcInfo, instanceDir: string): boolean {
  if (isFleetClient(p)) return false;
  if (under(p.musterRoot, instanceDir)) return true;
  if (p.tty) return false;
  return p.argv.some((a) => mentions(a, instanceDir)) || under(p.cwd, instanceDir);
}

/**
 * Every process of the fleet whose state directory is `stateDir` (belongsToFleet, and, when
 * given, the daemon `daemonPid`) with their descendants, leaving out the calling process and its
 * ancestors.
 */
export function fleetProcesses(stateDir: string, daemonPid?: number): ProcInfo[] {
  return processesOf((p) => belongsToFleet(p, stateDir), daemonPid === undefined ? [] : [daemonPid]);
}

/** Every process of one instance (belongsToInstance, and the pids given) with their descendants. */
export function instanceProcesses(instanceDir: string, pids: readonly number[]): ProcInfo[] {
  return processesOf((p) => belongsToInstance(p, instanceDir), pids);
}

/** The processes `owns` takes and `pids`, with their descendants; never this process or its ancestors. */
function processesOf(owns: (p: ProcInfo) => boolean, pids: readonly number[]): ProcInfo[] {
  const procs = allProcesses();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const exclude = new Set<number>();
  for (let p: number | undefined = process.pid; p && !exclude.has(p); p = byPid.get(p)?.ppid) exclude.add(p);
  const mine = new Set<number>();
  for (const pid of pids) if (byPid.has(pid) && !exclude.has(pid)) mine.add(pid);
  for (const p of procs) if (!exclude.has(p.pid) && owns(p)) mine.add(p.pid);
  // descendants of what is already ours
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of procs)
      if (!mine.has(p.pid) && mine.has(p.ppid) && !exclude.has(p.pid)) {
        mine.add(p.pid);
        grew = true;
      }
  }
  return procs.filter((p) => mine.has(p.pid));
}

/** Resident memory of a process, kB (0 when it is gone). */
export function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Records of the processes still running, out of `records`. */
export function stillRunning(records: PidRecord[]): PidRecord[] {
  return records.filter((r) => isRunning(r.pid, r.start));
}

/** Send a signal to a process group (negative pid) or, failing that, the process. */
export function signal(pid: number, sig: NodeJS.Signals, group = true): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {}
  }
}

/** Wait until none of `records` runs, up to `timeoutMs`; returns those still running. */
export async function waitGone(records: PidRecord[], timeoutMs: number): Promise<PidRecord[]> {
  const deadline = Date.now() + timeoutMs;
  let left = stillRunning(records);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = stillRunning(left);
  }
  return left;
}
