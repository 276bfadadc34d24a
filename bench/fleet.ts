/**
 * The local fleet under load: 1, 5 and 20 instances launched at once (a detached `muster fleet
 * up` with that desired capacity), each from launch to InService behind the load balancer.
 * Reports per instance count: p50 and p95 of launch -> InService, the time per boot pipeline
 * stage (from each instance's boot record), where the rest of the time goes (the fleet's launch,
 * the boot process starting, the lifecycle call), muster's own share of the time to InService,
 * the fleet's peak memory (sum of RSS of the daemon and every process of its instances, sampled
 * from /proc every 100 ms, by kind of process; also split into the fleet's own processes and the
 * instances' processes), and the CPU time per instance by kind of process (the boot's from its
 * record, the rest from the same samples). Goals: 20 at once all InService with p95 < 2 x p50;
 * fleet processes < 200 MB RSS together (reported for the fleet's own processes and for every
 * process). muster's own share is reported, no longer a goal (see docs/performance.md).
 *
 *   node --import tsx bench/fleet.ts [counts...]      (default 1 5 20)
 *   npm run bench                                    runs it at the end (FLEET_COUNTS="1 5 20")
 *
 * Either way the report (markdown) is printed and written to bench/results/fleet.md. It runs the
 * fleet from muster's dist/ (`npm run build`; `npm run bench` builds it first).
 *
 * muster's own share = 1 - (git transfer + converge) / (launch -> InService), per instance: the
 * same split as bench/boot-overhead.ts (the converge stage counts as "the work itself").
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import YAML from "yaml";
import { musterPackageRoot } from "../src/cli/package-root.ts";
import { startFleetDaemon, stopFleet } from "../src/cli/run-fleet.ts";
import { percentile } from "../src/fleet/balancing/metrics.ts";
import { controlRequest } from "../src/fleet/control/control.ts";
import type { FleetStatus, InstanceStatus } from "../src/fleet/control/controller.ts";
import { fleetProcesses, type ProcInfo, rssKb } from "../src/fleet/instances/processes.ts";

export interface FleetRun {
  instances: number;
  /** fleets launched with that many instances (their instances pooled) */
  launches: number;
  allInService: boolean;
  /** launch -> InService per instance, ms */
  samplesMs: number[];
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** median per instance of the time in each boot stage, ms (all attempts) */
  stagesMs: Record<string, number>;
  /** median per instance of each part of launch -> InService, ms */
  partsMs: {
    launch: number;
    processStart: number;
    transfer: number;
    converge: number;
    otherStages: number;
    afterLifecycle: number;
  };
  /** median of muster's own share of launch -> InService, 0..1 */
  ownShare: number;
  /** peak of the sum of RSS, MB, and the peak of each kind of process at that moment */
  peakRssMb: number;
  peakByKindMb: Record<string, number>;
  /** the same without the app services (the workload) */
  peakWithoutAppMb: number;
  /**
   * peak of the fleet's OWN processes (the daemon with its emulators and load balancer, the git
   * server's children, HAProxy), and peak of the instances' processes (boots and what they run,
   * supervisors, health endpoints, apps), each at its own peak
   */
  peakFleetOwnMb: number;
  peakInstancesMb: number;
  /** the instances' processes by kind at their peak */
  peakInstancesByKindMb: Record<string, number>;
  /**
   * CPU time per instance, ms: the boot process's own (median, from its record: in all, and before
   * its pipeline started), the other processes' of the instances by kind (sampled, summed, divided
   * by the instances), and the fleet daemon's divided by the instances
   */
  cpuMs: {
    boot?: number;
    bootBeforeRun?: number;
    instancesByKind: Record<string, number>;
    daemonPerInstance: number;
  };
}

export interface FleetBenchmark {
  runs: FleetRun[];
  goals: { goal: string; met: boolean; detail: string }[];
  lines: string[];
}

const median = (xs: number[]) => percentile(xs, 50) ?? 0;

/** Instances launched at once, one fleet each. */
export const DEFAULT_FLEET_COUNTS = [1, 5, 20];

/**
 * The processes of the fleet's instances: anything whose command line, working directory or
 * MUSTER_ROOT points into STATE/instances/, and their descendants. The rest is the fleet's own.
 */
function instanceProcesses(procs: ProcInfo[], stateDir: string): Set<number> {
  const dir = path.join(stateDir, "instances");
  const inside = (p: string | undefined) => p !== undefined && (p === dir || p.startsWith(`${dir}/`));
  const mine = new Set<number>();
  for (const p of procs)
    if (p.argv.some((a) => a.includes(`${dir}/`)) || inside(p.cwd) || inside(p.musterRoot)) mine.add(p.pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs)
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
  }
  return mine;
}

function kindOf(p: ProcInfo, daemonPid: number): string {
  if (p.pid === daemonPid) return "daemon";
  const a = p.argv.join(" ");
  if (/ supervise /.test(a)) return "supervisor";
  if (/ health serve /.test(a)) return "health endpoint";
  if (/ boot /.test(a)) return "muster boot";
  if (/server\.js/.test(a)) return "app";
  if (/esbuild/.test(a)) return "esbuild";
  if (/\bgit\b|git-/.test(a)) return "git";
  if (/nginx|haproxy/.test(a)) return "web/lb";
  return "other";
}

/**
 * CPU time a process has used, in clock ticks (/proc/<pid>/stat utime + stime; Linux's USER_HZ is
 * 100 on every architecture it runs on, so a tick is 10 ms).
 */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}
const MS_PER_TICK = 10;

function parts(i: InstanceStatus): { total: number; own: number; parts: FleetRun["partsMs"] } {
  const total = (i.inServiceAt ?? 0) - i.launchedAt;
  const stages = i.boot.stages ?? [];
  const converge = stages.filter((s) => s.stage === "converge").reduce((a, s) => a + s.durationMs, 0);
  const all = stages.reduce((a, s) => a + s.durationMs, 0);
  const transfer = i.boot.transferMs ?? 0;
  const bootStart = i.boot.startedAt ?? i.launchedAt;
  const pipelineStart = i.boot.pipelineStartedAt ?? bootStart;
  const p = {
    launch: bootStart - i.launchedAt,
    processStart: pipelineStart - bootStart,
    transfer,
    converge,
    otherStages: Math.max(0, all - converge - transfer),
    afterLifecycle: Math.max(0, (i.inServiceAt ?? 0) - (pipelineStart + all)),
  };
  return { total, own: total > 0 ? 1 - (transfer + converge) / total : 1, parts: p };
}

/** the state directories of the fleets run so far, deleted when the benchmark is done */
const finished: string[] = [];

/** What one fleet launch leaves to measure: its instances' status, its peaks and CPU samples. */
export interface Launch {
  allInService: boolean;
  /** the instances that reached InService, as the fleet reported them */
  served: InstanceStatus[];
  peakKb: number;
  peakByKindKb: Record<string, number>;
  peakWithoutAppKb: number;
  peakOwnKb: number;
  peakInstancesKb: number;
  peakInstancesByKindKb: Record<string, number>;
  /** CPU ms of the instances' processes by kind, the boot excluded (it has its record) */
  cpuByKindMs: Record<string, number>;
  daemonCpuMs: number;
}

async function launchOnce(n: number, block: number): Promise<Launch> {
  const pkg = musterPackageRoot();
  const stateDir = mkdtempSync(path.join(tmpdir(), "muster-bench-fleet-"));
  const file = path.join(stateDir, "fleet.yaml");
  writeFileSync(
    file,
    YAML.stringify({
      group: {
        min: 1,
        max: Math.max(20, n),
        desired: n,
        launchHook: { name: "launch", heartbeatTimeout: 300, defaultResult: "ABANDON" },
        healthCheckGracePeriod: 300,
      },
      repositories: {
        config: { dir: path.join(pkg, "examples/config-repo") },
        app: { dir: path.join(pkg, "examples/app") },
      },
      instances: {
        addresses: `127.77.${block}.1-127.77.${block}.254`,
        boot: { deadline: 600, gitTimeout: 120 },
      },
    }),
  );
  let peak = 0;
  let peakByKind: Record<string, number> = {};
  let peakWithoutApp = 0;
  let peakOwn = 0;
  let peakInstances = 0;
  let peakInstancesByKind: Record<string, number> = {};
  let sampling = true;
  let daemonPid = -1;
  /** the last CPU time seen per process (a process's CPU only grows), with its kind */
  const cpuSeen = new Map<number, { kind: string; ofInstance: boolean; ticks: number }>();
  const sampler = (async () => {
    while (sampling) {
      if (daemonPid > 0) {
        const byKind: Record<string, number> = {};
        const instByKind: Record<string, number> = {};
        let total = 0;
        let own = 0;
        const procs = fleetProcesses(stateDir, daemonPid);
        const ofInstances = instanceProcesses(procs, stateDir);
        for (const p of procs) {
          const kb = rssKb(p.pid);
          total += kb;
          const k = kindOf(p, daemonPid);
          if (ofInstances.has(p.pid)) instByKind[k] = (instByKind[k] ?? 0) + kb;
          else own += kb;
          const key = ofInstances.has(p.pid) || k === "daemon" ? k : `${k} (fleet)`;
          byKind[key] = (byKind[key] ?? 0) + kb;
          const ticks = cpuTicks(p.pid);
          const seen = cpuSeen.get(p.pid);
          if (ticks !== undefined && (seen === undefined || seen.kind !== k || ticks >= seen.ticks))
            cpuSeen.set(p.pid, { kind: k, ofInstance: ofInstances.has(p.pid), ticks });
        }
        if (total > peak) {
          peak = total;
          peakByKind = byKind;
        }
        peakWithoutApp = Math.max(peakWithoutApp, total - (byKind.app ?? 0));
        peakOwn = Math.max(peakOwn, own);
        if (total - own > peakInstances) {
          peakInstances = total - own;
          peakInstancesByKind = instByKind;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let st: FleetStatus | undefined;
  let allInService = false;
  let leftAfterDown = 0;
  try {
    const info = await startFleetDaemon(file, stateDir);
    daemonPid = info.pid;
    const deadline = Date.now() + 300_000;
    for (;;) {
      st = await controlRequest<FleetStatus>(stateDir, "GET", "/status");
      const ready = st.instances.filter((i) => i.state === "InService" && i.targetState === "healthy");
      if (ready.length >= n) {
        allInService = st.instances.every((i) => i.state === "InService");
        break;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // boot records are final once every boot process has exited
    for (let k = 0; k < 50 && st?.instances.some((i) => i.boot.running); k++) {
      await new Promise((r) => setTimeout(r, 100));
      st = await controlRequest<FleetStatus>(stateDir, "GET", "/status");
    }
  } finally {
    sampling = false;
    await sampler;
    // not deleted yet: the next count's instances would be created among its just-freed inodes,
    // which this machine's journal-less ext4 walks past one by one (see moveAside in run.ts)
    finished.push(stateDir);
    leftAfterDown = (await stopFleet(stateDir)).left.length;
  }
  if (leftAfterDown > 0) throw new Error(`fleet benchmark: ${leftAfterDown} processes were left running`);
  const served = (st?.instances ?? []).filter((i) => i.inServiceAt !== undefined);
  const cpuByKindMs: Record<string, number> = {};
  let daemonTicks = 0;
  for (const c of cpuSeen.values()) {
    if (c.kind === "daemon") daemonTicks += c.ticks;
    // the boot's own CPU comes from its record, whole; a sample may miss its last 100 ms
    else if (c.ofInstance && c.kind !== "muster boot")
      cpuByKindMs[c.kind] = (cpuByKindMs[c.kind] ?? 0) + c.ticks * MS_PER_TICK;
  }
  return {
    allInService: allInService && served.length === n,
    served,
    peakKb: peak,
    peakByKindKb: peakByKind,
    peakWithoutAppKb: peakWithoutApp,
    peakOwnKb: peakOwn,
    peakInstancesKb: peakInstances,
    peakInstancesByKindKb: peakInstancesByKind,
    cpuByKindMs,
    daemonCpuMs: daemonTicks * MS_PER_TICK,
  };
}

/**
 * PURE: several launches of `n` instances as one result. Times are pooled over every instance of
 * every launch (p50, p95, medians per part and stage); peaks are the highest launch's; CPU is per
 * instance over all launches.
 */
export function summarize(n: number, launches: Launch[]): FleetRun {
  const served = launches.flatMap((l) => l.served);
  const measured = served.map(parts);
  const samples = measured.map((m) => m.total);
  const stageNames = [...new Set(served.flatMap((i) => (i.boot.stages ?? []).map((s) => s.stage)))];
  const stagesMs = Object.fromEntries(
    stageNames.map((name) => [
      name,
      median(
        served.map((i) =>
          (i.boot.stages ?? []).filter((s) => s.stage === name).reduce((a, s) => a + s.durationMs, 0),
        ),
      ),
    ]),
  );
  const mb = (kb: number) => Math.round(kb / 1024);
  const mbEach = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, mb(v)]));
  const highest = (f: (l: Launch) => number) =>
    launches.reduce((a, l) => (f(l) > f(a) ? l : a), launches[0]!);
  const byPeak = highest((l) => l.peakKb);
  const byInstances = highest((l) => l.peakInstancesKb);
  const instancesLaunched = n * launches.length;
  const cpuByKind: Record<string, number> = {};
  for (const l of launches)
    for (const [k, v] of Object.entries(l.cpuByKindMs)) cpuByKind[k] = (cpuByKind[k] ?? 0) + v;
  const bootCpu = served.flatMap((i) => (i.boot.cpu ? [i.boot.cpu] : []));
  return {
    instances: n,
    launches: launches.length,
    allInService: launches.every((l) => l.allInService) && served.length === instancesLaunched,
    samplesMs: samples,
    p50Ms: median(samples),
    p95Ms: percentile(samples, 95) ?? 0,
    maxMs: Math.max(0, ...samples),
    stagesMs,
    partsMs: {
      launch: median(measured.map((m) => m.parts.launch)),
      processStart: median(measured.map((m) => m.parts.processStart)),
      transfer: median(measured.map((m) => m.parts.transfer)),
      converge: median(measured.map((m) => m.parts.converge)),
      otherStages: median(measured.map((m) => m.parts.otherStages)),
      afterLifecycle: median(measured.map((m) => m.parts.afterLifecycle)),
    },
    ownShare: median(measured.map((m) => m.own)),
    peakRssMb: mb(byPeak.peakKb),
    peakByKindMb: mbEach(byPeak.peakByKindKb),
    peakWithoutAppMb: mb(Math.max(...launches.map((l) => l.peakWithoutAppKb))),
    peakFleetOwnMb: mb(Math.max(...launches.map((l) => l.peakOwnKb))),
    peakInstancesMb: mb(byInstances.peakInstancesKb),
    peakInstancesByKindMb: mbEach(byInstances.peakInstancesByKindKb),
    cpuMs: {
      boot: bootCpu.length > 0 ? median(bootCpu.map((c) => c.totalMs)) : undefined,
      bootBeforeRun: bootCpu.length > 0 ? median(bootCpu.map((c) => c.beforeRunMs)) : undefined,
      instancesByKind: Object.fromEntries(
        Object.entries(cpuByKind).map(([k, v]) => [k, Math.round(v / instancesLaunched)]),
      ),
      daemonPerInstance: Math.round(launches.reduce((a, l) => a + l.daemonCpuMs, 0) / instancesLaunched),
    },
  };
}

/**
 * Launches per instance count: one fleet of one instance is one sample, on a machine shared with
 * other work; small counts are launched again so that their figures are medians of several.
 */
export function launchesFor(n: number): number {
  return n === 1 ? 5 : n < 10 ? 3 : 1;
}

/** The benchmark; `counts` defaults to 1, 5 and 20 instances launched at once. */
export async function fleetBenchmark(counts: number[] = DEFAULT_FLEET_COUNTS): Promise<FleetBenchmark> {
  const pkg = musterPackageRoot();
  if (!existsSync(path.join(pkg, "dist/cli.cjs")))
    throw new Error("fleet benchmark: dist/cli.cjs is missing; run `npm run build` first");
  const runs: FleetRun[] = [];
  try {
    let block = 0;
    for (const n of counts) {
      const launches: Launch[] = [];
      for (let i = 0; i < launchesFor(n); i++)
        launches.push(await launchOnce(n, 200 + ((process.pid + block++) % 50)));
      runs.push(summarize(n, launches));
    }
  } finally {
    for (const dir of finished.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const lines: string[] = [
    "| instances | all InService | p50 launch->InService | p95 | max | muster's own share | peak RSS (all) | without the app | the fleet's own processes | the instances' processes |",
    "| ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of runs)
    lines.push(
      `| ${r.instances}${r.launches > 1 ? ` (${r.launches} launches)` : ""} | ${r.allInService ? "yes" : "NO"} | ${s(r.p50Ms)} | ${s(r.p95Ms)} | ${s(r.maxMs)} | ${(r.ownShare * 100).toFixed(0)}% | ${r.peakRssMb} MB | ${r.peakWithoutAppMb} MB | ${r.peakFleetOwnMb} MB | ${r.peakInstancesMb} MB |`,
    );
  lines.push("", "Median time per part of launch -> InService, and per boot stage:");
  for (const r of runs) {
    const p = r.partsMs;
    lines.push(
      `- ${r.instances} at once: fleet launch ${s(p.launch)}, boot process start ${s(p.processStart)}, git transfer ${s(p.transfer)}, ` +
        `converge ${s(p.converge)}, other stages ${s(p.otherStages)}, lifecycle -> InService ${s(p.afterLifecycle)}; stages: ` +
        Object.entries(r.stagesMs)
          .map(([k, v]) => `${k} ${s(v)}`)
          .join(", "),
    );
    const c = r.cpuMs;
    const ms = (v: number | undefined) => (v === undefined ? "?" : `${v} ms`);
    lines.push(
      `  CPU per instance: muster boot ${ms(c.boot)} (${ms(c.bootBeforeRun)} of it before its pipeline started; its git and esbuild not counted), ` +
        Object.entries(c.instancesByKind)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v} ms`)
          .join(", ") +
        `; the fleet's daemon ${c.daemonPerInstance} ms per instance (all but the boot sampled every 100 ms: short-lived processes show little or nothing)`,
    );
    lines.push(
      `  peak RSS by kind: ${Object.entries(r.peakByKindMb)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v} MB`)
        .join(", ")}`,
    );
    lines.push(
      `  the instances' processes at their peak (${r.peakInstancesMb} MB, ${Math.round(r.peakInstancesMb / r.instances)} MB per instance): ${Object.entries(
        r.peakInstancesByKindMb,
      )
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v} MB`)
        .join(", ")}`,
    );
  }
  const big = runs.find((r) => r.instances === Math.max(...counts))!;
  const goals = [
    {
      goal: `${big.instances} at once all InService, p95 < 2 x p50`,
      met: big.allInService && big.p95Ms < 2 * big.p50Ms,
      detail: `${big.allInService ? "all InService" : "NOT all InService"}; p95 ${s(big.p95Ms)} vs 2 x p50 ${s(2 * big.p50Ms)}`,
    },
    {
      goal: "fleet processes < 200 MB RSS together: the fleet's own (daemon with its emulators and load balancer, git server)",
      met: runs.every((r) => r.peakFleetOwnMb < 200),
      detail: runs.map((r) => `${r.instances}: ${r.peakFleetOwnMb} MB`).join(", "),
    },
    {
      goal: "fleet processes < 200 MB RSS together: every process, the instances' included",
      met: runs.every((r) => r.peakRssMb < 200),
      detail: runs
        .map(
          (r) =>
            `${r.instances}: ${r.peakRssMb} MB (the instances' ${r.peakInstancesMb} MB; ${r.peakWithoutAppMb} MB without the app)`,
        )
        .join(", "),
    },
  ];
  // no longer a goal: a Node process's start is most of it, and a real instance spends tens of
  // seconds booting before muster starts; the headline (bench/headline.ts) is the goal instead
  lines.push(
    "",
    `muster's own share of the time to InService (measured, not a goal): ${runs.map((r) => `${r.instances}: ${(r.ownShare * 100).toFixed(0)}%`).join(", ")}`,
  );
  lines.push("", "Goals:");
  for (const g of goals) lines.push(`- ${g.met ? "met" : "NOT met"}: ${g.goal} (${g.detail})`);
  return { runs, goals, lines };
}

export default fleetBenchmark;

/** Where the report goes. */
export const FLEET_RESULTS_FILE = path.join(musterPackageRoot(), "bench/results/fleet.md");

/**
 * Instance counts from words ("1 5 20", "1,5" or argv): whole numbers from 1 to 254 (a fleet's
 * addresses are one 127.77.N.1-254 block); none given: the default. A problem comes back as a
 * message.
 */
export function parseFleetCounts(words: string[]): number[] | string {
  const parts = words.flatMap((w) => w.split(/[\s,]+/)).filter(Boolean);
  if (parts.length === 0) return [...DEFAULT_FLEET_COUNTS];
  const bad = parts.filter((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 254);
  if (bad.length > 0)
    return `instance counts must be whole numbers from 1 to 254 (got ${bad.map((b) => `"${b}"`).join(", ")})`;
  return parts.map(Number);
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")[0]!
      .trim();
  } catch {
    return "?";
  }
}

/** The report: what ran where, the table, the parts, the goals. */
export function fleetMarkdown(b: FleetBenchmark, when = new Date()): string {
  const pkg = musterPackageRoot();
  const rev = firstLine("git", ["-C", pkg, "rev-parse", "--short", "HEAD"]);
  const status = firstLine("git", ["-C", pkg, "status", "--porcelain", "--", "src"]);
  const dirty = status !== "" && status !== "?";
  const version = (JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")) as { version: string })
    .version;
  return [
    `## muster's local fleet, instances launched at once: ${b.runs.map((r) => r.instances).join(", ")}; ${when.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`,
    `- muster ${version} (${rev}${dirty ? ", with uncommitted changes in src/" : ""}) from dist/ on Node ${process.version}; ${firstLine("git", ["--version"])}`,
    "- each count: a fresh detached `muster fleet up` (the example config repo and app, muster's own load balancer) with that desired capacity, until every instance is InService with a healthy target; launch -> InService per instance; a count of 1 is launched 5 times and one under 10 3 times, their instances pooled",
    "- muster's own share = 1 - (git transfer + converge) / (launch -> InService), per instance; a new instance's git transfer is its one `git clone` of the config repo, which also writes the repo's few files",
    "",
    ...b.lines,
    "",
  ].join("\n");
}

/** Run the benchmark, print its report and write it to bench/results/fleet.md. */
export async function fleetBenchReport(
  counts: number[] = DEFAULT_FLEET_COUNTS,
): Promise<{ benchmark: FleetBenchmark; markdown: string; file: string }> {
  const benchmark = await fleetBenchmark(counts);
  const markdown = fleetMarkdown(benchmark);
  mkdirSync(path.dirname(FLEET_RESULTS_FILE), { recursive: true });
  writeFileSync(FLEET_RESULTS_FILE, markdown);
  process.stdout.write(markdown);
  return { benchmark, markdown, file: FLEET_RESULTS_FILE };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const counts = parseFleetCounts(process.argv.slice(2));
  if (typeof counts === "string") {
    process.stderr.write(`bench/fleet.ts: ${counts}\n`);
    process.exit(2);
  }
  const r = await fleetBenchReport(counts);
  process.stderr.write(`bench/fleet.ts: wrote ${path.relative(process.cwd(), r.file)}\n`);
  if (!r.benchmark.runs.every((x) => x.allInService)) process.exitCode = 1;
}
