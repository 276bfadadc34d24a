/**
 * Helpers for the fleet's end-to-end tests and benchmark: a fleet configuration on a temporary
 * state directory with an address block of its own (so test files running at the same time,
 * or two test runs, do not meet on the same addresses), waiting for a condition, the access log.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { EXAMPLES, REPO_ROOT, tmpDir } from "../../test-support/tmp.ts";
import type { AccessLogEntry } from "../balancing/load-balancer.ts";
import { fleetProcesses, type PidRecord, type ProcInfo, stillRunning } from "../instances/processes.ts";
import type { FleetController, FleetStatus, InstanceStatus } from "./controller.ts";
import { type FleetConfig, parseFleetConfig } from "./fleet-config.ts";

/** A /24 under 127.77 for this test run and `salt` (one per test file). */
export function addressBlock(salt: number): string {
  // one block per salt within a test run: its files run in workers forked from one vitest process
  // (the same parent pid), and distinct salts below 230 give distinct blocks (31 and 230 share no
  // factor); another run at the same time (a second checkout's) has another parent, so other blocks
  const third = 20 + ((process.ppid * 7 + salt * 31) % 230);
  return `127.77.${third}.1-127.77.${third}.254`;
}

/** A fleet.yaml document for tests: the example repositories, fast settings, its own addresses. */
export function testFleetYaml(salt: number, overrides: Record<string, any> = {}): Record<string, any> {
  const doc: Record<string, any> = {
    group: {
      name: "web",
      min: 1,
      max: 6,
      desired: 2,
      healthCheckGracePeriod: 30,
      launchHook: { name: "launch", heartbeatTimeout: 30, defaultResult: "ABANDON" },
    },
    repositories: {
      config: { dir: path.join(EXAMPLES, "config-repo") },
      app: { dir: path.join(EXAMPLES, "app") },
    },
    instances: { addresses: addressBlock(salt) },
    loadBalancer: { preset: "fast" },
  };
  for (const [k, v] of Object.entries(overrides))
    doc[k] = typeof v === "object" && v !== null && !Array.isArray(v) ? { ...(doc[k] ?? {}), ...v } : v;
  return doc;
}

export function testFleetConfig(salt: number, overrides: Record<string, any> = {}): FleetConfig {
  const stateDir = tmpDir("muster-fleet-test-");
  return parseFleetConfig(YAML.parse(YAML.stringify(testFleetYaml(salt, overrides))), "(test)", stateDir, {
    stateDir,
    packageRoot: REPO_ROOT,
  });
}

export async function until<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function inService(st: FleetStatus): InstanceStatus[] {
  return st.instances.filter((i) => i.state === "InService" && i.targetState === "healthy");
}

/** n instances InService with healthy targets, and no other instance on its way in or out. */
export function stable(st: FleetStatus, n: number): boolean {
  return (
    inService(st).length === n &&
    st.instances.every((i) => i.state === "InService" || i.state === "Terminated")
  );
}

/** The load balancer's access log file (JSON lines). */
export function readAccessLog(file: string | undefined): AccessLogEntry[] {
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AccessLogEntry);
}

/** When the instance's gate was opened (this boot's gate record), ms since the epoch. */
export function gateOpenedAt(i: InstanceStatus | undefined): number | undefined {
  return i?.gate.openedAt ? Date.parse(i.gate.openedAt) : undefined;
}

/**
 * Stop a fleet a test started and return what is left running: processes it reported, processes
 * it ever started (start times guard against reused pids), and any under its state directory.
 */
export async function shutdownLeftovers(
  c: FleetController,
): Promise<{ reported: PidRecord[]; started: PidRecord[]; found: ProcInfo[] }> {
  const started = c.startedProcesses().filter((p) => p.pid !== process.pid);
  const reported = await c.shutdown();
  return { reported, started: stillRunning(started), found: fleetProcesses(c.stateDir) };
}
