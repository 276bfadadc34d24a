/**
 * The fleet daemon: the controller plus its control endpoint, until `muster fleet down`,
 * SIGTERM or SIGINT. STATE/fleet.json names it (pid and start time, socket, load balancer URL)
 * while it runs and records when it stopped.
 */
import * as path from "node:path";
import { errorMessage, InputError } from "../../core/errors.ts";
import { replaceNoFollow } from "../../host/write-no-follow.ts";
import { type DashboardServer, startDashboard } from "../dashboard/server.ts";
import { procStart } from "../instances/processes.ts";
import { controlSocketPath, type FleetInfo, runningFleet, startControlServer } from "./control.ts";
import { FleetController } from "./controller.ts";
import { type FleetConfig, fleetCommand } from "./fleet-config.ts";
import { clearStateDir, ensureStateDir, FLEET_FILES } from "./state-dir.ts";

export interface DaemonOptions {
  musterBin: string;
  /** event lines as they happen */
  say?: (line: string) => void;
  /** called once everything listens (the load balancer's URL is known) */
  onReady?: (c: FleetController, info: FleetInfo) => void;
  /** the dashboard on 127.0.0.1 (port 0: any free one), its page from assetsDir; false: none */
  dashboard: { port: number; assetsDir: string } | false;
}

export function writeInfo(stateDir: string, info: FleetInfo): void {
  replaceNoFollow(path.join(stateDir, FLEET_FILES.info), `${JSON.stringify(info, null, 2)}\n`);
}

/** STATE/fleet.json's content for a fleet this process runs, serving its control endpoint at `socket`. */
export function daemonInfo(c: FleetController, socket: string): FleetInfo {
  return {
    pid: process.pid,
    pidStart: procStart(process.pid),
    startedAt: new Date(c.startedAt).toISOString(),
    stateDir: c.cfg.stateDir,
    source: c.cfg.source,
    socket,
    loadBalancer: c.lb.url,
  };
}

/** Run the fleet until asked to stop; resolves with the exit code (1 when a process was left). */
export async function runFleetDaemon(cfg: FleetConfig, opts: DaemonOptions): Promise<number> {
  const other = runningFleet(cfg.stateDir);
  if (other && other.pid !== process.pid)
    throw new InputError(
      `a fleet already runs with state directory ${cfg.stateDir} (pid ${other.pid}); ${fleetCommand("down", cfg.stateDir)} first, or pass another --state-dir`,
    );
  ensureStateDir(cfg.stateDir);
  await clearStateDir(cfg.stateDir);
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((r) => {
    stop = r;
  });
  const onSignal = (sig: NodeJS.Signals) => stop(sig);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, onSignal);
  const onCrash = (err: unknown) => {
    opts.say?.(`muster fleet: unexpected error: ${errorMessage(err)}; stopping everything`);
    stop("crash");
  };
  process.on("uncaughtException", onCrash);

  const c = await FleetController.start(cfg, { musterBin: opts.musterBin, say: opts.say });
  const control = await startControlServer(c, controlSocketPath(cfg.stateDir), () => stop("fleet down"));
  let dashboard: DashboardServer | undefined;
  if (opts.dashboard) {
    try {
      dashboard = await startDashboard(c, opts.dashboard);
      c.dashboardUrl = dashboard.url;
    } catch (err) {
      // the fleet runs without it: the CLI shows everything the page does
      opts.say?.(`muster fleet: no dashboard: ${errorMessage(err)} (--dashboard-port 0 takes any free port)`);
    }
  }
  const info: FleetInfo = { ...daemonInfo(c, control.socket), dashboard: dashboard?.url };
  writeInfo(cfg.stateDir, info);
  opts.onReady?.(c, info);

  const why = await stopped;
  await dashboard?.close();
  const left = await c.shutdown();
  await control.close();
  writeInfo(cfg.stateDir, { ...info, stoppedAt: new Date().toISOString() });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(sig, onSignal);
  process.off("uncaughtException", onCrash);
  opts.say?.(`muster fleet: stopped (${why})`);
  return left.length === 0 && why !== "crash" ? 0 : 1;
}
