/**
 * `npm run bench`: muster's converge side by side with ansible-playbook and puppet apply on the
 * standard workload (../shared/bench beside the repository: 21 directories, N plain files, 50 server blocks from one
 * template, a checkout of /tmp/peerbench/app.git, ping.html last), in the same run, runs
 * interleaved tool by tool. Reports medians (min–max), peak RSS, each peer's time over muster's,
 * the checks of every converged tree and the issue's goals, to stdout and bench/results/.
 *
 * Then the headline (bench/headline.ts): a new server from booted to gate open, the classic boot
 * job (git clone + puppet apply) against `muster boot`, RUNS pairs cold and warm, to stdout and
 * bench/results/headline.md.
 *
 * Then, at the end, the local fleet benchmark (bench/fleet.ts: 1, 5 and 20 instances launched at
 * once, launch -> InService, muster's own share, memory), from dist/ built afresh, to stdout and
 * bench/results/fleet.md.
 *
 *   npm run bench                 full run (ansible: one run per case, about 6 min each at N=500)
 *   npm run bench -- --no-ansible muster and puppet only
 *   npm run bench -- --quick      small N, two runs, no ansible: a look, not a result (the fleet
 *                                 part is the same as without --quick)
 *   npm run bench -- --no-fleet   leave the fleet benchmark out
 *   npm run bench -- --fleet-only the fleet benchmark alone (no peers needed)
 *   npm run bench -- --only headline  (npm run bench:headline) the headline alone
 *   npm run bench -- --no-headline    leave the headline out
 * RUNS (default 5; 2 with --quick) sets the runs per case for muster and puppet; FLEET_COUNTS
 * (default "1 5 20") the instance counts of the fleet benchmark.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { headlineBench, headlineReport } from "./headline.ts";
import { hasGnuTime, timed } from "./measure.ts";
import {
  evaluateGoals,
  fmtMs,
  goalsTable,
  median,
  PEERS,
  type Peer,
  type Results,
  resultsTable,
  type Sample,
  summarise,
  type Tool,
} from "./stats.ts";
import { bareHead, countTree, judgeTree, musterReportCounts, peerLogCounts } from "./tree-check.ts";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PEERS_DIR =
  process.env.PEERBENCH_PEERS ?? new URL("../../shared/bench/peers", import.meta.url).pathname;
const B = "/tmp/peerbench"; // where peers/env.sh keeps every peer's state
const OUT = path.join(B, "out");
const APP_GIT = path.join(B, "app.git");
const WORKLOAD = path.join(REPO, "bench/workload");
/**
 * muster runs from a private build: the test suite's global setup rebuilds dist/ in place
 * (removing it first), and a converge that loads a half-written dist/ in the middle of a
 * measurement would fail for reasons that have nothing to do with muster.
 */
const BUILD = path.join(B, "muster-build");
const MUSTER = [process.execPath, path.join(BUILD, "bin/muster.js")];
/** the peers' scripts run with the PATH env.sh sets; look them up on the same one */
const PEER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "no-ansible": { type: "boolean", default: false },
    "no-fleet": { type: "boolean", default: false },
    "fleet-only": { type: "boolean", default: false },
    "no-headline": { type: "boolean", default: false },
    only: { type: "string" },
    trees: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  process.stdout.write(
    "usage: npm run bench [-- --quick | --no-ansible | --no-fleet | --fleet-only | --trees DIR]\n" +
      "  --quick         N = 50 and 200, 2 runs, no ansible (writes bench/results/quick.md)\n" +
      "  --no-ansible    leave ansible-playbook out\n" +
      "  --no-fleet      leave out the local fleet benchmark that runs at the end (bench/fleet.ts)\n" +
      "  --fleet-only    run only the fleet benchmark (writes bench/results/fleet.md)\n" +
      "  --only headline run only the headline, booted to gate open: the classic boot job\n" +
      "                  (git clone + puppet apply) against muster boot (writes bench/results/headline.md)\n" +
      "  --no-headline   leave the headline out\n" +
      "  --trees DIR     put every tool's converged trees (and the headline's roots) in DIR\n" +
      "                  instead of /tmp/peerbench (writes *-trees-elsewhere.md)\n" +
      "  RUNS=k          runs per case for muster and puppet (default 5)\n" +
      '  FLEET_COUNTS="1 5 20"  instances launched at once, one fleet per count (default 1 5 20)\n',
  );
  process.exit(0);
}
if (flags["no-fleet"] && flags["fleet-only"]) {
  process.stderr.write("bench: --no-fleet and --fleet-only exclude each other; give one\n");
  process.exit(2);
}
if (flags.only !== undefined && flags.only !== "headline") {
  process.stderr.write(`bench: --only ${flags.only}: the one part that runs alone this way is "headline"\n`);
  process.exit(2);
}
const headlineOnly = flags.only === "headline";
if (headlineOnly && (flags["fleet-only"] || flags["no-headline"])) {
  process.stderr.write("bench: --only headline excludes --fleet-only and --no-headline; give one\n");
  process.exit(2);
}

const quick = flags.quick;
const N = quick ? 50 : 500;
const NS = quick ? 200 : 2000;
const NMID = (N + NS) / 2; // muster only: the linearity point
const RUNS = positiveInt(process.env.RUNS) ?? (quick ? 2 : 5);
/**
 * Where every tool's converged trees go: B, as the shared reference's run.sh has them, or
 * --trees DIR (a directory elsewhere on the disk: see moveAside for why that can matter).
 */
const TREES = flags.trees ? path.resolve(flags.trees) : B;
const ANSIBLE_RUNS = 1; // about 6 minutes a run at N = 500, 20+ at N = 2000

// ---------------------------------------------------------------------------------------------

interface Runner {
  tool: Tool;
  /** the converged tree for n plain files */
  tree(n: number): string;
  /** argv, environment and log of one converge */
  converge(n: number, kase: string, cold: boolean): { argv: string[]; env: NodeJS.ProcessEnv };
  startup: Record<string, string[]>;
  /** remove what a cold run must not find */
  clear(n: number): void;
  counts(kase: string): { changes: number; errors: number };
}

/**
 * Every tool runs without NODE_EXTRA_CA_CERTS and NODE_OPTIONS. Build and test machines set
 * them for a package proxy (this one sets NODE_EXTRA_CA_CERTS); a server converging its role
 * has neither, and with NODE_EXTRA_CA_CERTS every Node process first reads a whole CA bundle.
 * What that costs here is measured (caCertsCost) and printed with the results.
 */
const MACHINE_NODE_VARS = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"];
const baseEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !MACHINE_NODE_VARS.includes(k)),
);
const peerEnv = { ...baseEnv, PATH: PEER_PATH };
const inPeers = (cmd: string) => ["bash", "-c", `cd ${PEERS_DIR} && source env.sh && exec ${cmd}`];

function peerRunner(tool: Peer): Runner {
  const tree = (n: number) => path.join(TREES, `${tool}-${n}`);
  return {
    tool,
    tree,
    converge: (n) => ({ argv: [path.join(PEERS_DIR, `${tool}.sh`), tree(n), String(n)], env: peerEnv }),
    // the start-up commands of peers/run.sh
    startup:
      tool === "ansible"
        ? {
            startup: inPeers("ansible-playbook -i localhost, -c local ansible/empty.yml"),
            "startup+facts": inPeers("ansible-playbook -i localhost, -c local ansible/empty.yml -e facts=1"),
          }
        : { startup: inPeers("puppet apply $PUPPET_DIRS -e 'notice(1)'") },
    clear: (n) => moveAside(tree(n)),
    counts: (kase) => peerLogCounts(tool, readLog(logOf(kase, tool))),
  };
}

/**
 * muster converges a sandbox root, so its lock and run log (the root's /var/lib/muster and
 * /var/log/muster) stay out of this machine's /var; the workload's own root is /peerbench in it.
 * Cold runs also start with an empty recipe cache (TMPDIR), as on a freshly launched server, so
 * they pay for bundling the recipes; no-op runs find the cache, as a periodic re-converge does.
 */
const musterRunner: Runner = {
  tool: "muster",
  tree: (n) => path.join(sandbox(n), "peerbench"),
  converge: (n, _kase, cold) => {
    mkdirSync(sandbox(n), { recursive: true });
    const tmp = cold ? path.join(B, ".muster-tmp-cold") : path.join(B, ".muster-tmp");
    mkdirSync(tmp, { recursive: true });
    return {
      argv: [
        ...MUSTER,
        "converge",
        "--repo",
        WORKLOAD,
        "--role",
        "peerbench",
        "--root",
        sandbox(n),
        "--attr",
        `peerbench.nfiles=${n}`,
        "--json",
      ],
      env: { ...baseEnv, TMPDIR: tmp, NO_COLOR: "1" },
    };
  },
  startup: { startup: [...MUSTER, "--version"] },
  clear: (n) => {
    moveAside(sandbox(n));
    moveAside(path.join(B, ".muster-tmp-cold"));
  },
  counts: (kase) => musterReportCounts(readLog(logOf(kase, "muster"))),
};

/**
 * A cold run needs the previous tree gone, but deleting it just before the run made the run pay
 * for the deletion. This machine's ext4 has no journal (/proc/fs/jbd2 is empty), and without one
 * the kernel does not reuse an inode freed in the last minute or so: every file created in a
 * block group full of just-freed inodes first walks past each of them (fs/ext4/ialloc.c,
 * find_inode_bit and recently_deleted, the top of a kernel profile of such a run). Measured with
 * muster's cold-500 in one directory: 0.58 -> 0.93 s over six runs with rm -rf before each,
 * 0.36 s every time with the tree moved aside; every tool pays that walk, the fastest most in
 * proportion. So a tree is renamed into a trash directory beside it (the same filesystem), and
 * the trash is deleted when the whole bench is done. A server booted from an image has no
 * thousands of freed inodes either.
 */
function moveAside(p: string): void {
  if (!existsSync(p)) return;
  const trash = path.join(path.dirname(p), TRASH);
  mkdirSync(trash, { recursive: true });
  trashDirs.add(trash);
  try {
    renameSync(p, path.join(trash, `${path.basename(p)}.${process.pid}.${trashed++}`));
  } catch {
    rmSync(p, { recursive: true, force: true });
  }
}
const TRASH = ".bench-trash";
/** what this run moved aside; a run that was stopped half way leaves its trash to the next */
const trashDirs = new Set([path.join(B, TRASH), path.join(TREES, TRASH)]);
let trashed = 0;

function emptyTrash(): void {
  for (const t of trashDirs) rmSync(t, { recursive: true, force: true });
}

/** Copy what the build needs and run scripts/build.mjs on the copy; node_modules is shared. */
function buildSnapshot(): void {
  built = {
    rev: firstLine(sh("git", ["-C", REPO, "rev-parse", "--short", "HEAD"])),
    dirty: sh("git", ["-C", REPO, "status", "--porcelain", "--", "src"]).trim() !== "",
  };
  rmSync(BUILD, { recursive: true, force: true });
  mkdirSync(BUILD, { recursive: true });
  for (const item of ["package.json", "tsconfig.json", "bin", "scripts", "src"])
    cpSync(path.join(REPO, item), path.join(BUILD, item), { recursive: true });
  symlinkSync(path.join(REPO, "node_modules"), path.join(BUILD, "node_modules"));
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: BUILD, stdio: "inherit" });
}

function sandbox(n: number): string {
  return path.join(TREES, `muster-${n}`);
}

function logOf(kase: string, tool: Tool): string {
  return path.join(OUT, `${kase}.${tool}.${tool === "muster" ? "json" : "log"}`);
}

function readLog(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

// ---------------------------------------------------------------------------------------------

const results: Results = {};
const checks: string[] = [];
const notes: string[] = [];
let failures = 0;

function record(kase: string, tool: Tool, samples: Sample[]): void {
  if (samples.length === 0) return;
  const byTool = results[kase] ?? {};
  byTool[tool] = summarise(samples);
  results[kase] = byTool;
}

function say(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

interface Entry {
  runner: Runner;
  runs: number;
}

/**
 * Run a case: run i of every tool before run i + 1 of any, so drift on the machine is shared.
 * A tool with fewer runs (ansible: one) runs in the last rounds, not the first: its minutes of
 * creating thousands of files leave the disk busy and its directories' block groups fuller, and
 * the other tools' runs after it in the same case measured that, not themselves (cold-2000:
 * muster 0.67 s before ansible's run, 1.6-2.1 s after it).
 * A failed converge counts as a failure and its time is not used.
 */
async function runCase(kase: string, n: number, entries: Entry[], cold: boolean): Promise<void> {
  const samples = new Map<Tool, Sample[]>(entries.map((e) => [e.runner.tool, []]));
  const most = Math.max(...entries.map((e) => e.runs));
  if (cold) await outOfAnsiblesWindow();
  for (let i = 0; i < most; i++) {
    for (const { runner, runs } of entries) {
      if (i < most - runs) continue;
      if (cold) runner.clear(n);
      const { argv, env } = runner.converge(n, kase, cold);
      const log = logOf(kase, runner.tool);
      const res = await timed(argv, {
        env,
        logFile: log,
        errFile: runner.tool === "muster" ? `${log}.err` : undefined,
      });
      if (runner.tool === "ansible") ansibleEndedAt = Date.now();
      const nth = i - (most - runs) + 1;
      say(`${kase} ${runner.tool} run ${nth}/${runs}: ${fmtMs(res.ms)}, exit ${res.code}`);
      if (res.code !== 0) {
        failures++;
        checks.push(`FAIL ${runner.tool} ${kase}: run ${nth} exited ${res.code} (log: ${log})`);
        continue;
      }
      samples.get(runner.tool)!.push(res);
    }
  }
  for (const { runner } of entries) {
    record(kase, runner.tool, samples.get(runner.tool)!);
    check(kase, n, runner);
  }
}

/**
 * ansible-playbook creates and deletes a temporary directory per task: thousands of inodes freed
 * in the minutes of its run. On this machine's journal-less ext4 the next files created nearby
 * walk past every inode freed in the last 60 s (see moveAside), so a cold case that starts right
 * after ansible's run measured that. Before a cold case: sync (a dirty inode table block makes
 * that window 6 minutes), then wait until 61 s have passed since ansible's last run ended.
 */
let ansibleEndedAt: number | undefined;
async function outOfAnsiblesWindow(): Promise<void> {
  if (ansibleEndedAt === undefined) return;
  execFileSync("sync");
  const waitMs = ansibleEndedAt + 61_000 - Date.now();
  if (waitMs <= 0) return;
  say(
    `waiting ${Math.ceil(waitMs / 1000)} s for the inodes ansible's run freed to age (see outOfAnsiblesWindow)`,
  );
  await new Promise((resolve) => setTimeout(resolve, waitMs));
}

function check(kase: string, n: number, runner: Runner): void {
  const counts = runner.counts(kase);
  const res = judgeTree({
    ...countTree(runner.tree(n)),
    ...counts,
    tool: runner.tool,
    run: kase,
    n,
    expectedHead: bareHead(APP_GIT),
  });
  if (!res.ok) failures++;
  checks.push(res.line);
  // the standard's own check for the peers, on the log of their last run
  if (runner.tool !== "muster") {
    const out = sh(path.join(PEERS_DIR, "check.sh"), [runner.tool, runner.tree(n), String(n), kase]);
    checks.push(`  check.sh: ${out.trim()}`);
    if (!out.startsWith("ok")) failures++;
  }
}

/**
 * `muster --version` with and without this machine's NODE_EXTRA_CA_CERTS, interleaved, RUNS
 * each: a line for the report, or undefined when the machine does not set it.
 */
async function caCertsCost(): Promise<string | undefined> {
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (!ca) return undefined;
  const without: number[] = [];
  const withCa: number[] = [];
  for (let i = -1; i < RUNS; i++)
    for (const [env, into] of [
      [baseEnv, without],
      [{ ...baseEnv, NODE_EXTRA_CA_CERTS: ca }, withCa],
    ] as const) {
      const res = await timed([...MUSTER, "--version"], {
        cwd: REPO,
        env,
        logFile: logOf("ca-certs", "muster"),
      });
      if (res.code === 0 && i >= 0) into.push(res.ms);
    }
  const a = median(without);
  const b = median(withCa);
  return `- environment: NODE_EXTRA_CA_CERTS (set on this machine for its package proxy) and NODE_OPTIONS are removed for every tool, as on a server; with it, \`muster --version\` takes ${fmtMs(b)} instead of ${fmtMs(a)} (median of ${RUNS}): every Node process here pays the ${fmtMs(b - a)}`;
}

async function runStartup(entries: Entry[]): Promise<void> {
  for (const kase of ["startup", "startup+facts"]) {
    const present = entries.filter((e) => e.runner.startup[kase]);
    if (present.length === 0) continue;
    const samples = new Map<Tool, Sample[]>(present.map((e) => [e.runner.tool, []]));
    for (let i = -1; i < RUNS; i++) {
      // run -1 is the warm-up (run.sh: --warmup 1)
      for (const { runner } of present) {
        const res = await timed(runner.startup[kase], {
          cwd: PEERS_DIR,
          env: runner.tool === "muster" ? baseEnv : peerEnv,
          logFile: logOf(kase, runner.tool),
        });
        if (runner.tool === "ansible") ansibleEndedAt = Date.now();
        if (res.code !== 0) {
          failures++;
          checks.push(`FAIL ${runner.tool} ${kase}: exited ${res.code}`);
        } else if (i >= 0) samples.get(runner.tool)!.push(res);
      }
    }
    for (const { runner } of present) record(kase, runner.tool, samples.get(runner.tool)!);
    say(`${kase}: done`);
  }
}

/**
 * bench/boot-overhead.ts, when it exists: an async function returning { medianMs, runs } (and
 * cliMedianMs, `muster boot` as a process). An extra: its failure is reported, not counted
 * among the checks of the converged trees.
 */
async function bootOverhead(): Promise<string | undefined> {
  const file = path.join(REPO, "bench/boot-overhead.ts");
  if (!existsSync(file)) {
    notes.push("boot overhead: bench/boot-overhead.ts is not present; skipped.");
    return undefined;
  }
  try {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const fn = [mod.default, mod.bootOverhead, ...Object.values(mod)].find((v) => typeof v === "function") as
      | (() => Promise<{ medianMs: number; runs: number; cliMedianMs?: number }>)
      | undefined;
    if (!fn) {
      notes.push("boot overhead: bench/boot-overhead.ts exports no function; skipped.");
      return undefined;
    }
    say("boot overhead (bench/boot-overhead.ts)");
    const r = await fn();
    const cli = r.cliMedianMs === undefined ? "" : `; as a process (\`muster boot\`) ${fmtMs(r.cliMedianMs)}`;
    return `- boot pipeline overhead without git transfer and converge (bench/boot-overhead.ts): median ${fmtMs(r.medianMs)} over ${r.runs} runs${cli}`;
  } catch (err) {
    notes.push(`boot overhead: bench/boot-overhead.ts failed: ${(err as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

/**
 * The headline (bench/headline.ts): booted to gate open, the classic boot job against `muster
 * boot`, RUNS pairs cold and warm, on the private build. Writes bench/results/headline.md
 * (headline-quick.md with --quick). Needs puppet; a failed run or tree check makes the bench exit 1.
 */
async function runHeadline(): Promise<void> {
  if (!installed("puppet")) {
    say("the headline needs puppet (apt-get install -y puppet): skipped");
    process.exitCode = 1;
    return;
  }
  if (built.rev === "?") {
    say(`building dist/ (node scripts/build.mjs) from a copy of the sources in ${BUILD}`);
    buildSnapshot();
    execFileSync(path.join(PEERS_DIR, "mkrepo.sh"), { stdio: "inherit" });
  }
  const started = Date.now();
  const loadAtStart = loadavg()[0].toFixed(2);
  say(`headline: booted to gate open, classic boot job vs muster boot, N = ${N}, ${RUNS} pairs per case`);
  const r = await headlineBench({
    muster: MUSTER,
    peersDir: PEERS_DIR,
    workload: WORKLOAD,
    dir: path.join(TREES, "headline"),
    appGit: APP_GIT,
    n: N,
    runs: RUNS,
    env: peerEnv,
    moveAside,
    say,
  });
  const minutes = ((Date.now() - started) / 60_000).toFixed(0);
  const report = headlineReport(r, {
    title: `## Headline: booted to gate open, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC${quick ? " (--quick: indicative only)" : ""}`,
    machine: [
      ...machine(["puppet"]),
      `- workload: the shared peer benchmark, N = ${N}; ${RUNS} pairs per case, classic and muster back to back (A B A B); the headline took ${minutes} min (1-min load average ${loadAtStart} at the start, ${loadavg()[0].toFixed(2)} at the end)`,
      "- time: from each side's spawn to its gate (ping.html renamed into place, read from the file's ctime after the run: what a load balancer's check can first see, and what the goal is judged on) and to its process's exit (puppet still writes its reports and state after the gate); warm: to the exit only, as the classic job never closes its gate; both with a server's environment (no NODE_EXTRA_CA_CERTS / NODE_OPTIONS, PATH=/usr/sbin:/usr/bin:/sbin:/bin) and a TMPDIR of their own",
      `- roots in ${path.join(TREES, "headline")}${TREES === B ? " (as the shared reference keeps every tree)" : " (--trees; the shared reference keeps its trees in /tmp/peerbench)"}`,
      "- cold: a fresh root every run (a fresh checkout of the config repo and of the app, no puppet vardir, no muster state, an empty recipe cache); the previous root is moved aside, not deleted (see moveAside in bench/run.ts)",
      "- warm: the same server booting again (a reboot, or a warm-pool instance put in service): the same command on the root the last cold run left; the classic job pulls instead of cloning",
      "- both config repos over the same local HTTP git server (git http-backend, src/fleet/control/git-server.ts) started once for the run; the app both check out is /tmp/peerbench/app.git (a path); muster's identify reads a metadata emulator on loopback (IMDSv2, started once), its role is `static:peerbench`, no lifecycle hook",
    ],
  });
  process.stdout.write(report);
  const name = `headline${quick ? "-quick" : ""}${flags.trees ? "-trees-elsewhere" : ""}`;
  const file = path.join(REPO, "bench/results", `${name}.md`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, report);
  say(
    `wrote ${path.relative(REPO, file)}; ${r.failures === 0 ? "every check passed" : `${r.failures} check(s) FAILED`}`,
  );
  if (r.failures > 0) process.exitCode = 1;
}

/**
 * The local fleet benchmark, bench/fleet.ts's fleetBenchReport (it prints its report and writes
 * bench/results/fleet.md), on dist/ built from the current sources first: the fleet runs the
 * package's own bin/muster.js, and a dist/ older than src/ would measure old code. Counts come
 * from FLEET_COUNTS (checked before anything runs). Its failure (an error, or an instance count
 * not all InService) makes the bench exit 1; the converge report is written by then.
 */
type FleetModule = typeof import("./fleet.ts");

async function loadFleet(): Promise<{ mod: FleetModule; counts: number[] }> {
  const mod = (await import(pathToFileURL(path.join(REPO, "bench/fleet.ts")).href)) as FleetModule;
  const counts = mod.parseFleetCounts(process.env.FLEET_COUNTS ? [process.env.FLEET_COUNTS] : []);
  if (typeof counts === "string") {
    process.stderr.write(`bench: FLEET_COUNTS: ${counts}\n`);
    process.exit(2);
  }
  return { mod, counts };
}

async function runFleet({ mod, counts }: { mod: FleetModule; counts: number[] }): Promise<void> {
  say(`local fleet (bench/fleet.ts): ${counts.join(", ")} instances at once; building dist/ first`);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // as bench/fleet.ts alone
  try {
    execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: REPO, stdio: "inherit" });
    const r = await mod.fleetBenchReport(counts);
    const short = r.benchmark.runs.filter((x) => !x.allInService).map((x) => x.instances);
    say(
      `wrote ${path.relative(REPO, r.file)}; ${short.length === 0 ? "every instance went InService" : `NOT every instance went InService with ${short.join(", ")} at once`}`,
    );
    if (short.length > 0) process.exitCode = 1;
  } catch (err) {
    say(`the fleet benchmark failed: ${(err as Error).message.split("\n")[0]}`);
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------------------------

function installed(cmd: string): boolean {
  return sh("bash", ["-c", `PATH=${PEER_PATH} command -v ${cmd}`]).trim() !== "";
}

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: peerEnv,
    });
  } catch (err) {
    return (err as { stdout?: string }).stdout ?? "";
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

/** The commit the private build was made from (taken when it is built, not when the report is). */
let built = { rev: "?", dirty: false };

function machine(peers: Peer[]): string[] {
  const muster = firstLine(sh(MUSTER[0], MUSTER.slice(1).concat("--version")));
  const { rev, dirty } = built;
  const lines = [
    `- machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`,
    `- muster ${muster} (${rev}${dirty ? ", with uncommitted changes in src/" : ""}) on Node ${process.version}; ${firstLine(sh("git", ["--version"]))}`,
  ];
  if (peers.includes("ansible"))
    lines.push(
      `- ${firstLine(sh("ansible-playbook", ["--version"]))}, \`-c local\` on ${firstLine(sh("/usr/bin/python3", ["--version"]))}`,
    );
  if (peers.includes("puppet"))
    lines.push(
      `- puppet ${firstLine(sh("puppet", ["--version"]))} \`apply\` on ${firstLine(sh("ruby", ["--version"]))
        .split(" ")
        .slice(0, 2)
        .join(" ")}`,
    );
  return lines;
}

function positiveInt(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

async function convergeBench(): Promise<void> {
  const started = Date.now();
  const loadAtStart = loadavg()[0].toFixed(2);
  if (!hasGnuTime()) notes.push("/usr/bin/time is missing: peak RSS not measured (apt-get install time).");

  const peers: Peer[] = [];
  for (const p of PEERS) {
    const cmd = p === "ansible" ? "ansible-playbook" : "puppet";
    if (p === "ansible" && (flags["no-ansible"] || quick)) {
      notes.push(`ansible-playbook: left out (${quick ? "--quick" : "--no-ansible"}).`);
      continue;
    }
    if (!installed(cmd)) {
      notes.push(
        `${cmd}: not installed, skipped (apt-get install -y ${p === "ansible" ? "ansible-core" : p}).`,
      );
      say(`${cmd} is not installed: skipping it`);
      continue;
    }
    peers.push(p);
  }

  say(`building dist/ (node scripts/build.mjs) from a copy of the sources in ${BUILD}`);
  buildSnapshot();
  mkdirSync(TREES, { recursive: true });
  say("making the app repository (peers/mkrepo.sh)");
  execFileSync(path.join(PEERS_DIR, "mkrepo.sh"), { stdio: "inherit" });
  mkdirSync(OUT, { recursive: true });
  for (const t of ["muster", ...peers] as Tool[])
    for (const n of [N, NS, NMID]) moveAside(path.join(TREES, `${t}-${n}`));
  moveAside(path.join(B, ".muster-tmp"));

  const runners: Runner[] = [musterRunner, ...peers.map(peerRunner)];
  const entries = (opts: { ansible: number }): Entry[] =>
    runners.map((runner) => ({ runner, runs: runner.tool === "ansible" ? opts.ansible : RUNS }));

  await runStartup(entries({ ansible: RUNS }));
  for (const n of [N, NS]) {
    await runCase(`cold-${n}`, n, entries({ ansible: ANSIBLE_RUNS }), true);
    // muster's no-op runs find the recipe cache (see musterRunner): fill it once, untimed
    execFileSync(
      MUSTER[0],
      [...MUSTER.slice(1), "check", "--repo", WORKLOAD, "--role", "peerbench", "--no-typecheck"],
      {
        env: musterRunner.converge(n, "prime", false).env,
        stdio: "ignore",
      },
    );
    await runCase(`noop-${n}`, n, entries({ ansible: ANSIBLE_RUNS }), false);
  }
  // muster alone at a middle size: is the no-op cost a straight line in the number of resources?
  await runCase(`cold-${NMID}`, NMID, [{ runner: musterRunner, runs: 1 }], true);
  await runCase(`noop-${NMID}`, NMID, [{ runner: musterRunner, runs: RUNS }], false);

  const boot = await bootOverhead();
  const caLine = await caCertsCost();
  const goals = evaluateGoals({ results, n: N, ns: NS, nmid: NMID });
  const cases = [
    "startup",
    ...(peers.includes("ansible") ? ["startup+facts"] : []),
    `cold-${N}`,
    `noop-${N}`,
    `cold-${NS}`,
    `noop-${NS}`,
    `noop-${NMID}`,
  ];
  const minutes = ((Date.now() - started) / 60_000).toFixed(0);
  const report = [
    `## muster vs ${peers.join(" and ") || "no peers"}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC${quick ? " (--quick: indicative only)" : ""}`,
    "",
    ...machine(peers),
    `- runs per case: muster and puppet ${RUNS} (RUNS), ansible ${ANSIBLE_RUNS}; start-up ${RUNS} after one warm-up; runs interleaved tool by tool (ansible's one run in the last round); the bench took ${minutes} min (1-min load average ${loadAtStart} at the start, ${loadavg()[0].toFixed(2)} at the end)`,
    `- workload: the shared peer benchmark (N = ${N}, scaled N = ${NS}); muster's tree is bench/workload converged into a sandbox root; ${NMID} is muster alone (linearity)`,
    `- converged trees in ${TREES}${TREES === B ? " (as the shared reference)" : " (--trees; the shared reference puts them in /tmp/peerbench)"}; cold: the tree moved aside before each run and deleted when the bench is done, and a cold case starts at least 61 s after ansible's last run (muster also starts with an empty recipe cache); no-op: the converged tree again, zero changes; muster's code cache (dist/.code-cache, one per command) is as its own runs leave it: the first converge of the bench writes it, as a server's first converge would (or the image it came from)`,
    ...(caLine ? [caLine] : []),
    "",
    resultsTable(results, cases, peers),
    "",
    "`peer / muster` is how many times longer the peer's median took than muster's in this run.",
    "",
    "### Goals",
    "",
    goalsTable(goals),
    "",
    ...(boot ? [boot, ""] : []),
    "### Checks of every converged tree (after the case's last run)",
    "",
    "```",
    ...checks,
    "```",
    ...(notes.length > 0 ? ["", ...notes.map((n) => `- ${n}`)] : []),
    "",
  ].join("\n");

  process.stdout.write(report);
  const resultsDir = path.join(REPO, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  const name = `${quick ? "quick" : peers.includes("ansible") ? "latest" : "no-ansible"}${flags.trees ? "-trees-elsewhere" : ""}`;
  const file = path.join(resultsDir, `${name}.md`);
  writeFileSync(file, report);
  say(
    `wrote ${path.relative(REPO, file)}; ${failures === 0 ? "every check passed" : `${failures} check(s) FAILED`}`,
  );
  process.exitCode = failures === 0 ? 0 : 1;
}

async function main(): Promise<void> {
  // FLEET_COUNTS is checked before the long converge part, not after it
  const fleet = flags["no-fleet"] || headlineOnly ? undefined : await loadFleet();
  try {
    if (!flags["fleet-only"] && !headlineOnly) await convergeBench();
    if (!flags["fleet-only"] && !flags["no-headline"]) await runHeadline();
    if (fleet) await runFleet(fleet);
  } finally {
    emptyTrash();
  }
}

await main();
