/** The fleet commands' bodies, loaded only when one runs. */
import { spawn } from "node:child_process";
import { closeSync, existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { InputError, RunError, TimeoutError } from "../core/errors.ts";
import { controlRequest, type FleetInfo, readFleetInfo, runningFleet } from "../fleet/control/control.ts";
import {
  type FleetEvent,
  type FleetStatus,
  formatEvent,
  type InstanceStatus,
  resolveInstanceId,
} from "../fleet/control/controller.ts";
import { runFleetDaemon, writeInfo } from "../fleet/control/daemon.ts";
import { parseFault } from "../fleet/control/fault-args.ts";
import {
  DEFAULT_ADDRESSES,
  defaultStateDir,
  type FleetConfig,
  fleetCommand,
  loadFleetConfig,
  parseAddressRange,
  type TemplateChoice,
} from "../fleet/control/fleet-config.ts";
import { notRehearsedLine } from "../fleet/control/from-template.ts";
import { fleetEnvLines, operatorKeysPath, readOperatorKeys } from "../fleet/control/operator-keys.ts";
import { describeTaken, preflightProblems, replacementBlock } from "../fleet/control/preflight.ts";
import {
  ensureStateDir,
  FLEET_FILES,
  stateDirAccessProblem,
  stopLeftovers,
} from "../fleet/control/state-dir.ts";
import { failureLines, launchTrouble, statusLines, watchLines } from "../fleet/control/status-table.ts";
import type { RequestSample } from "../fleet/dashboard/rate-series.ts";
import { tailLines } from "../fleet/dashboard/tail.ts";
import {
  fleetProcesses,
  isRunning,
  type PidRecord,
  signal,
  stillRunning,
  waitGone,
} from "../fleet/instances/processes.ts";
import { openAppendNoFollow } from "../host/write-no-follow.ts";
import { style, useColour } from "./human-report.ts";
import { musterPackageRoot } from "./package-root.ts";
import { createProgress, type Progress } from "./progress.ts";

interface Where {
  config?: string;
  stateDir?: string;
}

/** The fleet.yaml every fleet command reads when neither --config nor --state-dir is given. */
const CWD_CONFIGS = ["fleet.yaml", "fleet.yml"];

/**
 * The fleet.yaml a command means: --config, else a fleet.yaml in the current directory (the
 * directory one works in is the fleet's, as with a compose file), else none (the embedded
 * default). `up` and the commands that find a running fleet (status, events, scale, fault, down)
 * all take the same one, so they meet on the same state directory.
 */
export function configOf(w: Where, cwd = process.cwd()): string | undefined {
  if (w.config) return path.resolve(cwd, w.config);
  for (const name of CWD_CONFIGS) {
    const p = path.join(cwd, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

const out = (line = "") => process.stdout.write(`${line}\n`);
/** set for the daemon `fleet up` starts: its checks were made before it */
const PREFLIGHT_DONE = "MUSTER_FLEET_PREFLIGHT_DONE";

/**
 * The state directory a command means: --state-dir, else the config's, else the default. One
 * another user owns or may write is refused: its fleet.json and pids.json may be planted (pids
 * `fleet down` would kill, a socket that is not the fleet's).
 */
export function stateDirOf(w: Where): string {
  const dir = stateDirNamed(w);
  const problem = stateDirAccessProblem(dir);
  if (problem) throw new InputError(problem);
  return dir;
}

function stateDirNamed(w: Where): string {
  if (w.stateDir) return path.resolve(w.stateDir);
  // only the state directory is wanted: a fleet.yaml whose repositories have gone since still
  // names it (`fleet down` must not need them)
  const config = configOf(w);
  if (config) return loadFleetConfig(config, musterPackageRoot(), undefined, { checkPaths: false }).stateDir;
  return defaultStateDir();
}

/** --dashboard-port and --no-dashboard (commander: `dashboard` is false with --no-dashboard). */
export interface DashboardFlags {
  dashboard?: boolean;
  dashboardPort?: string;
}

/** The daemon's dashboard from the flags: false when off, else its port (0: any free one). */
export function dashboardPort(opts: DashboardFlags): number | false {
  if (opts.dashboard === false) {
    if (opts.dashboardPort !== undefined)
      throw new InputError(
        `--dashboard-port ${opts.dashboardPort} with --no-dashboard: leave one of them out`,
      );
    return false;
  }
  const p = opts.dashboardPort ?? "0";
  if (!/^\d+$/.test(p) || Number(p) > 65535)
    throw new InputError(`--dashboard-port ${p}: expected a port number 0-65535 (0: any free port)`);
  return Number(p);
}

/** The daemon's arguments for a dashboard setting (what `fleet up` passes on to it). */
function dashboardArgs(port: number | false): string[] {
  return port === false ? ["--no-dashboard"] : ["--dashboard-port", String(port)];
}

export async function fleetUp(
  opts: Where &
    DashboardFlags & {
      foreground: boolean;
      wait: boolean;
      timeout?: string;
      addresses?: string;
      fromTemplate?: string;
      group?: string;
    },
): Promise<number> {
  const dashboard = dashboardPort(opts);
  if (opts.group !== undefined && opts.fromTemplate === undefined)
    throw new InputError(
      `--group ${opts.group}: it chooses a group of --from-template; add --from-template FILE`,
    );
  const template = opts.fromTemplate
    ? { file: path.resolve(opts.fromTemplate), group: opts.group }
    : undefined;
  if (!opts.wait && opts.timeout !== undefined)
    throw new InputError(`--timeout ${opts.timeout}: it limits --wait; add --wait, or leave --timeout out`);
  const timeoutS = Number(opts.timeout ?? "120");
  if (!(timeoutS > 0)) throw new InputError(`--timeout ${opts.timeout}: expected a number of seconds > 0`);
  if (opts.addresses !== undefined) {
    const range = parseAddressRange(opts.addresses);
    if (typeof range === "string") throw new InputError(`--addresses ${range}`);
  }
  const pkg = musterPackageRoot();
  const bin = path.join(pkg, "bin/muster.js");
  const config = configOf(opts);
  const daemon = process.env[PREFLIGHT_DONE] === "1";
  if (config && !opts.config && !daemon) out(`muster fleet: using ${config}`);
  const stateDirFlag = opts.stateDir ? path.resolve(opts.stateDir) : undefined;
  let addresses = opts.addresses;
  let cfg = loadFleetConfig(config, pkg, stateDirFlag, { addresses, template });
  // the daemon `up` starts detached (PREFLIGHT_DONE) was checked by it; `--foreground` by hand is not
  if (!daemon) {
    // a fleet on this state directory whose daemon died left services holding its addresses:
    // `up` stops them first anyway, so it does that before the checks, which then see only
    // what other fleets and programs hold
    // (not on a directory another user may write: what it says was left may be planted)
    const earlier = stateDirAccessProblem(cfg.stateDir) ? undefined : readFleetInfo(cfg.stateDir);
    if (earlier && !earlier.stoppedAt && !runningFleet(cfg.stateDir)) await stopLeftovers(cfg.stateDir);
    // nobody chose the default block, so another fleet on it (a second state directory, a
    // checkout's tests) is no reason to refuse: this one moves to a free block and says so
    const moved = await replacementBlock(cfg);
    if (moved) {
      addresses = moved.block;
      cfg = loadFleetConfig(config, pkg, stateDirFlag, { addresses, template });
      out(
        `muster fleet: the default address block ${DEFAULT_ADDRESSES} is in use (${describeTaken(moved.taken)}); this fleet takes ${moved.block} (choose one with --addresses or instances.addresses)`,
      );
    }
    const problems = await preflightProblems(cfg);
    if (problems.length > 0) throw new InputError(problems);
    if (cfg.template) for (const l of templateLines(cfg.template)) out(l);
  }
  if (opts.foreground) {
    return runFleetDaemon(cfg, {
      musterBin: bin,
      say: out,
      dashboard: dashboard === false ? false : { port: dashboard, assetsDir: dashboardAssets() },
      onReady: (c, info) => {
        out(`muster fleet: load balancer ${c.lb.url} (state ${cfg.stateDir}; Ctrl-C stops everything)`);
        if (info.dashboard) out(`muster fleet: dashboard ${info.dashboard}`);
      },
    });
  }
  const info = await startFleetDaemon(config, cfg.stateDir, addresses, dashboard, template);
  out(`muster fleet: up (pid ${info.pid}); load balancer ${info.loadBalancer}`);
  if (info.dashboard) out(`  dashboard ${info.dashboard}`);
  // the commands as they find this fleet: with its state directory unless it is the default one
  const cmd = (sub: string) => fleetCommand(sub, cfg.stateDir);
  out(`  state ${cfg.stateDir}; ${cmd("status")}, ${cmd("events --follow")}, ${cmd("down")}`);
  if (!opts.wait) return 0;
  // a wait of a minute or two: each instance's changes as they happen, and the time waited
  const progress = createProgress({ lines: process.stdout });
  let st: FleetStatus;
  try {
    st = await waitInService(cfg.stateDir, timeoutS * 1000, progress);
  } finally {
    progress.close();
  }
  out(
    `muster fleet: ${st.group.counts.InService} instance${st.group.counts.InService === 1 ? "" : "s"} InService`,
  );
  return 0;
}

/** PURE: what `fleet up --from-template` says before it starts: the fields it took, what it leaves out. */
export function templateLines(t: NonNullable<FleetConfig["template"]>): string[] {
  return [
    `muster fleet: rehearsing ${t.group} of ${t.file}`,
    ...(t.overridden.length > 0
      ? [`muster fleet: the template's values replace fleet.yaml's ${t.overridden.join(", ")}`]
      : []),
    ...t.notRehearsed.map((n) => `  ${notRehearsedLine(n)}`),
  ];
}

/**
 * Start `muster fleet up --foreground` detached (its own session, output to STATE/daemon.log)
 * and wait until it answers; its STATE/fleet.json.
 */
export async function startFleetDaemon(
  config: string | undefined,
  stateDir: string,
  addresses?: string,
  dashboard: number | false = 0,
  template?: TemplateChoice,
): Promise<FleetInfo> {
  const bin = path.join(musterPackageRoot(), "bin/muster.js");
  const other = runningFleet(stateDir);
  if (other)
    throw new InputError(
      `a fleet already runs with state directory ${stateDir} (pid ${other.pid}, load balancer ${other.loadBalancer}); ${fleetCommand("down", stateDir)} first, or pass another --state-dir`,
    );
  ensureStateDir(stateDir);
  const logFile = path.join(stateDir, "daemon.log");
  const logFd = openAppendNoFollow(logFile);
  const args = [
    bin,
    "fleet",
    "up",
    "--foreground",
    ...(config ? ["--config", config] : []),
    ...(addresses ? ["--addresses", addresses] : []),
    ...(template ? ["--from-template", template.file] : []),
    ...(template?.group !== undefined ? ["--group", template.group] : []),
    "--state-dir",
    stateDir,
    ...dashboardArgs(dashboard),
  ];
  let exited: string | undefined;
  const child = spawn(process.execPath, args, {
    cwd: "/",
    detached: true,
    stdio: ["ignore", logFd, logFd],
    env: { ...process.env, [PREFLIGHT_DONE]: "1" },
  });
  closeSync(logFd);
  child.on("exit", (code, sig) => {
    exited = sig ? `was killed by ${sig}` : `exited with code ${code}`;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const info = runningFleet(stateDir);
    if (info && info.pid === child.pid) {
      child.unref();
      return info;
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) signal(child.pid!, "SIGTERM", false);
      throw new RunError(
        `the fleet daemon ${exited ?? "did not start within 60 s"}${logTail(logFile)} (log: ${logFile})`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The dashboard's page, as scripts/build.mjs bundles it. */
export function dashboardAssets(): string {
  return path.join(musterPackageRoot(), "dist/dashboard");
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const last = lines.filter((l) => /muster|error|Error/.test(l)).pop() ?? lines.pop();
    return last ? `: ${last.trim().slice(0, 300)}` : "";
  } catch {
    return "";
  }
}

/**
 * Wait until the desired instances are InService with healthy targets. Three launches in a row
 * that end before InService end the wait at once, with why the last one ended: the group goes on
 * launching (with a longer wait each time), but something wrong with every instance (its image,
 * its init, the config repo) will not mend itself before the timeout.
 */
export async function waitInService(
  stateDir: string,
  timeoutMs: number,
  progress?: Progress,
): Promise<FleetStatus> {
  const deadline = Date.now() + timeoutMs;
  const shown = new Map<string, string>();
  let waiting = false;
  for (;;) {
    const st = await controlRequest<FleetStatus>(stateDir, "GET", "/status");
    for (const i of st.instances) {
      const now = instanceState(i);
      if (shown.get(i.id) === now) continue;
      shown.set(i.id, now);
      progress?.line(`  ${i.id} ${i.address}: ${now}`);
    }
    const ready = st.instances.filter((i) => i.state === "InService" && i.targetState === "healthy").length;
    if (!waiting) {
      waiting = true;
      progress?.start("wait", `waiting for ${st.group.desired} instances InService and healthy`);
    }
    if (ready >= st.group.desired) {
      progress?.end("wait");
      return st;
    }
    const trouble = launchTrouble(st);
    if (trouble) {
      const logs = trouble.instance?.root ? path.join(trouble.instance.root, "var/log/muster") : undefined;
      const init =
        logs && trouble.instance?.boot.outcome !== "failed" ? path.join(logs, "supervisor.out") : undefined;
      throw new RunError(
        `${trouble.message}${init ? logTail(init) : ""}${logs ? ` (logs: ${logs})` : ""}; the fleet stays up: ${fleetCommand("events", stateDir)}, ${fleetCommand("down", stateDir)}`,
      );
    }
    if (Date.now() > deadline)
      throw new TimeoutError(
        `${ready} of ${st.group.desired} instances InService and healthy after ${Math.round(timeoutMs / 1000)} s; ${fleetCommand("events", stateDir)} says why`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** PURE: an instance's state as `fleet up --wait` shows its changes: lifecycle, target, boot stage. */
export function instanceState(i: InstanceStatus): string {
  const target = i.targetState ? `, target ${i.targetState}` : "";
  const boot = i.boot.running
    ? ", booting"
    : i.boot.outcome
      ? `, boot ${i.boot.outcome}${i.boot.failedStage ? ` at ${i.boot.failedStage}` : ""}`
      : "";
  return `${i.state}${target}${boot}`;
}

export async function fleetStatus(
  opts: Where & { json: boolean; watch?: boolean; interval?: string },
): Promise<number> {
  if (opts.interval !== undefined && !opts.watch)
    throw new InputError(
      `--interval ${opts.interval}: it paces --watch; add --watch, or leave --interval out`,
    );
  const intervalS = Number(opts.interval ?? "1");
  if (!(intervalS >= 0.1 && intervalS <= 3600))
    throw new InputError(`--interval ${opts.interval}: expected seconds from 0.1 to 3600`);
  const stateDir = stateDirOf(opts);
  const get = () => controlRequest<FleetStatus>(stateDir, "GET", "/status");
  const s = style(useColour(process.stdout));
  if (!opts.watch) {
    const st = await get();
    if (opts.json) out(JSON.stringify(st, null, 2));
    else for (const l of statusLines(st, { style: s })) out(l);
    return 0;
  }
  // the status lines and what a watcher wants besides: the dashboard's URL, the last minute's
  // requests and errors, a scale in progress, failed boots
  const lines = (st: FleetStatus) => {
    const now = Date.now();
    return watchLines(st, recentRequests(st.loadBalancer.accessLog, now), { style: s, now });
  };
  // on a terminal the table is drawn over itself; otherwise (a pipe, a log) each status is
  // printed whole after the last, with its time (JSON: one line each)
  const redraw = Boolean(process.stdout.isTTY) && !opts.json;
  return watchLoop(intervalS * 1000, async () => {
    let st: FleetStatus;
    try {
      st = await get();
    } catch (err) {
      // the fleet stopped while watched: nothing more to show, and nothing went wrong here
      if (!runningFleet(stateDir) && readFleetInfo(stateDir)?.stoppedAt) {
        out("muster fleet: the fleet has stopped");
        return false;
      }
      throw err;
    }
    if (opts.json) out(JSON.stringify(st));
    else if (redraw) process.stdout.write(`\x1b[H\x1b[2J${lines(st).join("\n")}\n`);
    else {
      out(`muster fleet status at ${new Date().toISOString()}`);
      for (const l of lines(st)) out(l);
      out();
    }
    return true;
  });
}

/**
 * Run `step` every `intervalMs` until it returns false, Ctrl-C (SIGINT) or the reader going
 * away (`| head`); exit code 0 for all three.
 */
async function watchLoop(intervalMs: number, step: () => Promise<boolean>): Promise<number> {
  let stop = false;
  let wake: () => void = () => {};
  const onStop = () => {
    stop = true;
    wake();
  };
  const onGone = (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") onStop();
  };
  process.once("SIGINT", onStop);
  process.stdout.on("error", onGone);
  try {
    while (!stop) {
      if (!(await step())) break;
      await new Promise<void>((res) => {
        const t = setTimeout(res, intervalMs);
        wake = () => {
          clearTimeout(t);
          res();
        };
      });
    }
  } finally {
    process.off("SIGINT", onStop);
    process.stdout.off("error", onGone);
  }
  return 0;
}

/** `muster fleet env`: the operator's keys, the region and the Auto Scaling endpoint, as export lines. */
export async function fleetEnv(opts: Where): Promise<number> {
  const stateDir = stateDirOf(opts);
  const st = await controlRequest<FleetStatus>(stateDir, "GET", "/status");
  const keys = readOperatorKeys(stateDir);
  if (!keys)
    throw new RunError(
      `${operatorKeysPath(stateDir)}: missing, or readable by others; restart the fleet (${fleetCommand("down", stateDir)}, then up) to issue new keys`,
    );
  for (const l of fleetEnvLines(keys, st.autoscalingUrl, st.region)) out(l);
  return 0;
}

/** The load balancer's requests of the last minute, from the end of its access log. */
function recentRequests(accessLog: string | undefined, now: number): RequestSample[] {
  if (!accessLog) return [];
  return tailLines(accessLog, 100_000, 4 * 1024 * 1024).flatMap((l) => {
    try {
      const e = JSON.parse(l) as { time: number; status: number };
      return e.time > now - 60_000 ? [{ time: e.time, status: e.status }] : [];
    } catch {
      return [];
    }
  });
}

function readEvents(file: string, from: number): { events: FleetEvent[]; next: number } {
  if (!existsSync(file)) return { events: [], next: from };
  const size = statSync(file).size;
  if (size <= from) return { events: [], next: size < from ? 0 : from };
  const buf = readFileSync(file).subarray(from);
  const text = buf.toString("utf8");
  const end = text.lastIndexOf("\n") + 1; // only whole lines
  const events = text
    .slice(0, end)
    .split("\n")
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as FleetEvent];
      } catch {
        return [];
      }
    });
  return { events, next: from + Buffer.byteLength(text.slice(0, end)) };
}

export async function fleetEvents(opts: Where & { follow: boolean; json: boolean }): Promise<number> {
  const stateDir = stateDirOf(opts);
  const file = path.join(stateDir, FLEET_FILES.events);
  if (!existsSync(file) && !runningFleet(stateDir))
    throw new RunError(`no fleet events in ${stateDir}; start a fleet with ${fleetCommand("up", stateDir)}`);
  const print = (e: FleetEvent) => out(opts.json ? JSON.stringify(e) : formatEvent(e));
  let pos = 0;
  let r = readEvents(file, pos);
  r.events.forEach(print);
  pos = r.next;
  if (!opts.follow) return 0;
  let stop = false;
  const onInt = () => {
    stop = true;
  };
  // a reader that went away (`--follow | head`) ends the follow: there is nobody to show it to
  const onGone = (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") stop = true;
  };
  process.once("SIGINT", onInt);
  process.stdout.on("error", onGone);
  try {
    while (!stop) {
      await new Promise((res) => setTimeout(res, 200));
      r = readEvents(file, pos);
      r.events.forEach(print);
      pos = r.next;
      if (!runningFleet(stateDir)) {
        readEvents(file, pos).events.forEach(print);
        break;
      }
    }
  } finally {
    process.off("SIGINT", onInt);
    process.stdout.off("error", onGone);
  }
  return 0;
}

/**
 * `muster fleet why INSTANCE`: the record its boot left when it gave up, kept after the
 * instance is gone. 0 printed, 1 the instance left none, 2 no such instance.
 */
export async function fleetWhy(name: string, opts: Where & { json: boolean }): Promise<number> {
  const st = await controlRequest<FleetStatus>(stateDirOf(opts), "GET", "/status");
  const id = resolveInstanceId(
    name,
    st.instances.map((i) => i.id),
  );
  const inst = st.instances.find((i) => i.id === id);
  if (!inst)
    throw new InputError(
      `fleet why ${name}: no such instance in the fleet; \`muster fleet status\` lists them`,
    );
  if (!inst.failure) {
    if (opts.json) out(JSON.stringify({ instanceId: inst.id, failure: null }));
    else
      out(
        `${inst.id} (${inst.state}): no boot failure record (its boot has not given up${inst.boot.outcome ? `; last outcome ${inst.boot.outcome}` : ""})`,
      );
    return 1;
  }
  if (opts.json) out(JSON.stringify({ instanceId: inst.id, failure: inst.failure }, null, 2));
  else for (const l of failureLines(inst)) out(l);
  return 0;
}

export async function fleetScale(n: string, opts: Where): Promise<number> {
  const desired = Number(n);
  // 4096: the most instances a fleet's address block can give (fleet.yaml's group.max bound)
  if (!/^\d+$/.test(n.trim()) || !Number.isSafeInteger(desired) || desired > 4096)
    throw new InputError(`fleet scale ${n}: expected a whole number from 0 to 4096`);
  const r = await controlRequest<{ from: number; to: number }>(stateDirOf(opts), "POST", "/scale", {
    desired,
  });
  out(`muster fleet: desired capacity ${r.from} -> ${r.to}`);
  return 0;
}

export interface RefreshFlags extends Where {
  ref: string;
  minHealthyPercentage?: string;
  instanceWarmup?: string;
  checkpoints?: string;
  checkpointDelay?: string;
  skipMatching?: boolean;
  autoRollback?: boolean;
}

/** A whole number flag within [lo, hi], or an InputError naming it. */
function wholeFlag(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < lo || n > hi)
    throw new InputError(`fleet refresh --${name} ${v}: expected a whole number from ${lo} to ${hi}`);
  return n;
}

/** The refresh's Preferences from the flags, checked as StartInstanceRefresh checks them. */
export function refreshPreferences(f: RefreshFlags): Record<string, unknown> {
  const checkpoints = f.checkpoints?.split(",").map((c) => wholeFlag("checkpoints", c.trim(), 1, 100)!);
  if (checkpoints?.some((c, i) => i > 0 && c <= checkpoints[i - 1]!))
    throw new InputError(`fleet refresh --checkpoints ${f.checkpoints}: percentages must rise (e.g. 50,100)`);
  const warmup = wholeFlag("instance-warmup", f.instanceWarmup, 0, 86_400);
  const delay = wholeFlag("checkpoint-delay", f.checkpointDelay, 0, 172_800);
  const p: Record<string, unknown> = {
    minHealthyPercentage: wholeFlag("min-healthy-percentage", f.minHealthyPercentage, 0, 100),
    instanceWarmupMs: warmup === undefined ? undefined : warmup * 1000,
    checkpointPercentages: checkpoints,
    checkpointDelayMs: delay === undefined ? undefined : delay * 1000,
    skipMatching: f.skipMatching || undefined,
    autoRollback: f.autoRollback || undefined,
  };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return p;
}

export async function fleetRefresh(flags: RefreshFlags): Promise<number> {
  const ref = flags.ref?.trim();
  if (!ref)
    throw new InputError(
      "fleet refresh: --ref REV is required (a branch, tag or commit of the config repository)",
    );
  const preferences = refreshPreferences(flags);
  const r = await controlRequest<{ id: string; version: number; commit: string }>(
    stateDirOf(flags),
    "POST",
    "/refresh",
    { ref, preferences },
  );
  out(`muster fleet: launch template version ${r.version} carries config ${ref} (${r.commit.slice(0, 12)})`);
  out(`muster fleet: instance refresh ${r.id} started; \`muster fleet status\` follows it`);
  out(r.id);
  return 0;
}

export async function fleetFault(kind: string, value: string | undefined, opts: Where): Promise<number> {
  const fault = parseFault(kind, value);
  const r = await controlRequest<{ message: string }>(stateDirOf(opts), "POST", "/fault", fault);
  out(`muster fleet: ${r.message}`);
  return 0;
}

function readPids(stateDir: string): PidRecord[] {
  try {
    return JSON.parse(readFileSync(path.join(stateDir, FLEET_FILES.pids), "utf8")) as PidRecord[];
  } catch {
    return [];
  }
}

/**
 * Stop the fleet of a state directory and check, by pid, that nothing of it is left: every
 * process it recorded (with its start time, so a reused pid is not taken for it) and every
 * process still running from the state directory. Anything left is killed and reported.
 */
export async function stopFleet(
  stateDir: string,
): Promise<{ ran: boolean; started: PidRecord[]; left: PidRecord[] }> {
  const info = runningFleet(stateDir);
  if (info) {
    try {
      await controlRequest(stateDir, "POST", "/down", {}, 10_000);
    } catch {
      signal(info.pid, "SIGTERM", false);
    }
    const still = await waitGone([{ pid: info.pid, start: info.pidStart, role: "daemon" }], 90_000);
    if (still.length) signal(info.pid, "SIGKILL", false);
  }
  // no daemon to ask: the supervisors stop their services first, so none is started again; what
  // had to be killed is reported as left running
  const killed = info ? [] : await stopLeftovers(stateDir);
  const started = readPids(stateDir);
  const left = [...killed, ...stillRunning(started).filter((p) => !killed.some((k) => k.pid === p.pid))];
  for (const p of fleetProcesses(stateDir))
    if (!left.some((l) => l.pid === p.pid))
      left.push({ pid: p.pid, start: p.start, role: p.argv.slice(0, 4).join(" ") });
  for (const p of left) signal(p.pid, "SIGKILL", false);
  await waitGone(left, 5000);
  // a daemon that died left its record without a stop: now what it left is stopped too
  const recorded = info ? undefined : readFleetInfo(stateDir);
  if (recorded && !recorded.stoppedAt)
    writeInfo(stateDir, { ...recorded, stoppedAt: new Date().toISOString() });
  return { ran: info !== undefined, started, left };
}

export async function fleetDown(opts: Where): Promise<number> {
  const stateDir = stateDirOf(opts);
  const r = await stopFleet(stateDir);
  if (!r.ran && r.left.length === 0) {
    out(`muster fleet: no fleet runs with state directory ${stateDir}; nothing of one is running`);
    return 0;
  }
  if (r.left.length > 0) {
    out(
      `muster fleet: ${r.left.length} process${r.left.length > 1 ? "es were" : " was"} still running and had to be killed:`,
    );
    for (const p of r.left) out(`  ${p.pid} ${p.role}${isRunning(p.pid, p.start) ? " (STILL RUNNING)" : ""}`);
    return 1;
  }
  const n = r.started.length;
  out(
    `muster fleet: down; ${n} process${n === 1 ? " was" : "es were"} started, none is left (checked by pid)`,
  );
  return 0;
}
