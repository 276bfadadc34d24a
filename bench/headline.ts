/**
 * The headline benchmark: a new server from "booted" to "gate open" on the standard workload
 * (../shared/bench beside the repository), the classic way and muster's, side by side in one run.
 *
 * - classic: a shell boot job as a team would write it: `git clone` of the config repo (the
 *   peer's puppet module), `puppet apply` of the workload, whose last resource is ping.html.
 * - muster: `muster boot` with a boot config that fetches the config repo (bench/workload),
 *   identifies the instance from a metadata emulator, converges role peerbench (a static: role
 *   source), and opens the gate (gate.file = the workload's ping.html); no lifecycle hook.
 *
 * Both config repos are served by the same local HTTP git server (src/fleet/control/git-server.ts)
 * that the bench process starts once; the app both check out is /tmp/peerbench/app.git. Each
 * side's time is taken twice: spawn to the gate's appearance (ping.html renamed into place: what
 * a load balancer's check can see, and what the goal is about) and spawn to the process's exit;
 * cold: a fresh root (and checkout, and puppet's or muster's state) every run; warm: the same
 * server booting again. Runs interleave classic, muster, classic, muster; reported are medians,
 * min–max and the ratio classic / muster.
 *
 * The arithmetic comes first and is pure (tested in headline.test.ts); headlineBench below runs it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { bareRepoFrom } from "../src/demo/example-repos.ts";
import { startMetadataEmulator } from "../src/fleet/aws/metadata-emulator.ts";
import { startGitServer } from "../src/fleet/control/git-server.ts";
import { fileCreationUs, timed } from "./measure.ts";
import { fmtMs, fmtRatio, markdownTable, median, type Summary, summarise } from "./stats.ts";
import { bareHead, countTree, judgeTree, musterReportCounts, peerLogCounts } from "./tree-check.ts";

/** classic / muster, medians of the cold case: the headline's goal */
export const HEADLINE_GOAL = 12;

/** Run i of each side, run back to back (A B A B): ms from process spawn to its gate or its exit. */
export interface HeadlinePair {
  classicMs: number;
  musterMs: number;
}

export interface HeadlineRow {
  kase: string;
  classic: Summary;
  muster: Summary;
  /** classic median / muster median */
  ratio: number;
  /** classic / muster of each pair */
  pairRatio: { median: number; min: number; max: number };
}

export function headlineRow(kase: string, pairs: readonly HeadlinePair[]): HeadlineRow {
  if (pairs.length === 0) throw new Error(`headline ${kase}: no successful pair of runs`);
  const classic = summarise(pairs.map((p) => ({ ms: p.classicMs })));
  const muster = summarise(pairs.map((p) => ({ ms: p.musterMs })));
  const ratios = pairs.map((p) => p.classicMs / p.musterMs);
  return {
    kase,
    classic,
    muster,
    ratio: classic.medianMs / muster.medianMs,
    pairRatio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
  };
}

const span = (s: Summary) => `${fmtMs(s.medianMs)} (${fmtMs(s.minMs)}–${fmtMs(s.maxMs)})`;

export function headlineTable(rows: readonly HeadlineRow[]): string {
  return markdownTable(
    [
      "case",
      "classic: git clone + puppet apply, median (min–max)",
      "muster boot, median (min–max)",
      "classic / muster (medians)",
      "per pair: median (min–max)",
      "runs",
    ],
    rows.map((r) => [
      r.kase,
      span(r.classic),
      span(r.muster),
      fmtRatio(r.ratio),
      `${fmtRatio(r.pairRatio.median)} (${fmtRatio(r.pairRatio.min)}–${fmtRatio(r.pairRatio.max)})`,
      String(r.classic.n),
    ]),
  );
}

/** One line: is the goal met by the cold case's ratio of medians, spawn to the gate. */
export function headlineVerdict(cold: HeadlineRow): string {
  const met = cold.ratio >= HEADLINE_GOAL;
  return `Goal: booted to gate open at least ${HEADLINE_GOAL}x faster than the classic job (cold, spawn to the gate, ratio of medians): ${
    met ? "met" : "NOT met"
  }, ${fmtRatio(cold.ratio)}.`;
}

/** The rows' names: the goal is judged on the first. */
export const COLD_TO_GATE = "cold, to the gate";
export const COLD_TO_EXIT = "cold, to exit";
export const WARM_TO_EXIT = "warm, to exit";

/**
 * PURE: ms from a process's spawn to its gate file's appearance, from the file's ctime (epoch ms)
 * as stat gives it after the run: a rename into place sets the renamed inode's ctime, and both
 * sides write the gate beside it and rename it (puppet's file type, muster's atomic write), so
 * the ctime is the moment the gate became visible. undefined when the file was not written by
 * this run: older than the spawn, or newer than the exit. The filesystem's clock is the kernel's
 * coarse one (a tick, up to 4 ms, behind), so up to TICK_MS before the spawn still counts, as 0.
 */
export function gateMs(spawnedAt: number, exitMs: number, ctimeMs: number | undefined): number | undefined {
  if (ctimeMs === undefined) return undefined;
  const ms = ctimeMs - spawnedAt;
  if (ms < -TICK_MS || ms > exitMs + TICK_MS) return undefined;
  return Math.max(0, ms);
}
const TICK_MS = 10;

// ---- where muster's time goes ----

/** The parts of one `muster boot`, ms, from its boot.log and the process's spawn and exit. */
export interface BootSplit {
  /** spawn -> the first boot.log line: node's start, module loading, the boot config */
  start: number;
  /** each pipeline stage's own duration (stage.end's durationMs), summed over attempts */
  stages: Record<string, number>;
  /** the last stage's end -> gate.opened: writing the gate record */
  gate: number;
  /** spawn -> gate.opened */
  toGate: number;
  /** gate.opened -> the process's exit: the run record, logs, exit */
  exit: number;
  /** spawn -> exit, less all of the above: between the stages (lock, state writes) */
  other: number;
}

interface LogLine {
  time?: string;
  event?: string;
  stage?: string;
  durationMs?: number;
}

/**
 * Split one boot from the text of a fresh boot.log (a new root per run, so one run's lines) and
 * the epoch ms the process was spawned at and exited at. undefined when the log has no gate.opened.
 */
export function splitBoot(logText: string, spawnedAt: number, exitedAt: number): BootSplit | undefined {
  const lines: LogLine[] = [];
  for (const l of logText.split("\n")) {
    if (l.trim() === "") continue;
    try {
      lines.push(JSON.parse(l) as LogLine);
    } catch {}
  }
  const at = (l: LogLine | undefined) => (l?.time ? Date.parse(l.time) : Number.NaN);
  // a log may hold earlier runs (a warm boot appends): take the last run.start onwards
  const startIdx = lines.map((l) => l.event).lastIndexOf("run.start");
  const run = startIdx >= 0 ? lines.slice(startIdx) : lines;
  const first = at(startIdx >= 0 ? run[0] : lines[0]);
  const opened = at(run.find((l) => l.event === "gate.opened"));
  if (Number.isNaN(first) || Number.isNaN(opened)) return undefined;
  const ends = run.filter((l) => l.event === "stage.end");
  const stages: Record<string, number> = {};
  for (const e of ends) if (e.stage) stages[e.stage] = (stages[e.stage] ?? 0) + (e.durationMs ?? 0);
  const lastEnd = ends.length > 0 ? at(ends[ends.length - 1]) : first;
  const start = Math.max(0, first - spawnedAt);
  const gate = Math.max(0, opened - lastEnd);
  const exit = Math.max(0, exitedAt - opened);
  const staged = Object.values(stages).reduce((a, b) => a + b, 0);
  return {
    start,
    stages,
    gate,
    toGate: opened - spawnedAt,
    exit,
    other: Math.max(0, exitedAt - spawnedAt - start - staged - gate - exit),
  };
}

/** Median of every part over several boots, as a table; the stages in the order they ran. */
export function splitTable(splits: readonly BootSplit[]): string {
  if (splits.length === 0) return "(no boot.log with an open gate)";
  const stageNames: string[] = [];
  for (const s of splits)
    for (const k of Object.keys(s.stages)) if (!stageNames.includes(k)) stageNames.push(k);
  const med = (f: (s: BootSplit) => number) => fmtMs(median(splits.map(f)));
  const rows: string[][] = [
    ["process start -> first boot.log line (node start, module loading, boot config)", med((s) => s.start)],
    ...stageNames.map((k) => [`stage ${k}`, med((s) => s.stages[k] ?? 0)]),
    ["between the stages (state records, logs)", med((s) => s.other)],
    ["gate written (last stage's end -> gate.opened)", med((s) => s.gate)],
    ["**process start -> gate open**", med((s) => s.toGate)],
    ["gate open -> process exit (run record, logs)", med((s) => s.exit)],
  ];
  return markdownTable(["part of `muster boot`", `median of ${splits.length}`], rows);
}

// ---- the run ----

export interface HeadlineOptions {
  /** argv that starts muster (node and bin/muster.js of a private build) */
  muster: string[];
  /** ../shared/bench/peers beside the repository */
  peersDir: string;
  /** muster's version of the workload (bench/workload) */
  workload: string;
  /** where roots, repositories and logs go */
  dir: string;
  /** the app repository both sides check out (peers/mkrepo.sh made it) */
  appGit: string;
  /** plain files of the workload */
  n: number;
  runs: number;
  /** a server's environment (no NODE_EXTRA_CA_CERTS / NODE_OPTIONS, a boot-time PATH) */
  env: NodeJS.ProcessEnv;
  /** removes a tree before a cold run without paying for the deletion (see run.ts) */
  moveAside(p: string): void;
  say(msg: string): void;
}

export interface HeadlineResult {
  rows: HeadlineRow[];
  splits: BootSplit[];
  checks: string[];
  failures: number;
  /** what each side ran, for the report */
  classicScript: string;
  bootConfig: Record<string, unknown>;
  /** file creation in the roots' directory before each cold pair, µs per file (fileCreationUs) */
  creationUs: number[];
}

/**
 * The classic boot job. Its ping.html is the module's last resource (it requires the whole
 * content class), so it is written only after everything else converged, as init scripts that
 * end in `echo ok > ping.html` have it. --detailed-exitcodes: 0 no changes, 2 changes; 4 and 6
 * mean a resource failed, and then the job fails (plain `puppet apply` would exit 0).
 */
const CLASSIC_SCRIPT = `#!/bin/bash
# classic-boot.sh ROOT CONFIG_URL NFILES: fetch the config repo, puppet apply the role
set -eu
root=$1 url=$2 n=$3
code=$root/etc/puppet/code
if [ -d "$code/.git" ]; then git -C "$code" pull -q --ff-only
else git clone -q "$url" "$code"; fi
rc=0
puppet apply --confdir="$root/etc/puppet" --codedir="$code" --vardir="$root/var/lib/puppet" \\
  --logdir="$root/var/log/puppet" --rundir="$root/run/puppet" --publicdir="$root/var/lib/puppet/public" \\
  --ssldir="$root/var/lib/puppet/ssl" --color=false --detailed-exitcodes --modulepath="$code/modules" \\
  -e "class { 'peerbench': root => '$root/peerbench', nfiles => $n }" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 2 ]
`;

const INSTANCE_ID = "i-0headline00000001";
/** the gate, in each side's root: the workload's ping.html (muster's gate.file points at it) */
const GATE = "peerbench/ping.html";
const IMAGE_DIRS = ["etc", "run", "var/lib", "var/log"];

export async function headlineBench(o: HeadlineOptions): Promise<HeadlineResult> {
  const gitDir = path.join(o.dir, "git");
  const out = path.join(o.dir, "out");
  mkdirSync(out, { recursive: true });
  o.moveAside(gitDir);
  mkdirSync(gitDir, { recursive: true });
  await bareRepoFrom(path.join(o.peersDir, "puppet"), path.join(gitDir, "classic-config.git"));
  await bareRepoFrom(o.workload, path.join(gitDir, "muster-config.git"));
  const script = path.join(o.dir, "classic-boot.sh");
  writeFileSync(script, CLASSIC_SCRIPT);
  chmodSync(script, 0o755);

  const git = await startGitServer({ projectRoot: gitDir });
  // what a real boot reads first: IMDSv2 identity (instance id, zone, region, groups, tags)
  const meta = await startMetadataEmulator({
    instances: [
      {
        instanceId: INSTANCE_ID,
        securityGroups: ["default", "web"],
        availabilityZone: "us-east-1a",
        tags: { "aws:autoscaling:groupName": "web-asg", Name: "web" },
        targetLifecycleState: "InService",
      },
    ],
  });
  const bootConfig = {
    repo: { url: git.repoUrl("muster-config.git"), ref: "master" },
    role: "static:peerbench",
    gate: { file: `/${GATE}` },
    endpoints: { metadata: meta.url },
    attributes: { peerbench: { nfiles: o.n, repo: o.appGit, ping: false } },
  };
  const classicUrl = git.repoUrl("classic-config.git");
  const expectedHead = bareHead(o.appGit);
  const checks: string[] = [];
  let failures = 0;
  const splits: BootSplit[] = [];
  const creationUs: number[] = [];

  const roots = { classic: path.join(o.dir, "classic"), muster: path.join(o.dir, "muster") };
  const tmpOf = (side: string) => path.join(o.dir, `.tmp-${side}`);
  const fresh = (side: "classic" | "muster") => {
    o.moveAside(roots[side]);
    o.moveAside(tmpOf(side));
    // what any image has: the directories that puppet's and muster's own directories go in
    for (const d of IMAGE_DIRS) mkdirSync(path.join(roots[side], d), { recursive: true });
    if (side === "muster") {
      // the boot config, as an image or the user data puts it there before the boot starts
      mkdirSync(path.join(roots.muster, "etc/muster"), { recursive: true });
      writeFileSync(
        path.join(roots.muster, "etc/muster/boot.json"),
        `${JSON.stringify(bootConfig, null, 2)}\n`,
      );
    }
  };
  const run = async (side: "classic" | "muster", kase: string, i: number) => {
    mkdirSync(tmpOf(side), { recursive: true });
    const log = path.join(out, `${kase}.${side}.log`);
    const argv =
      side === "classic"
        ? [script, roots.classic, classicUrl, String(o.n)]
        : [...o.muster, "boot", "--root", roots.muster];
    const spawnedAt = Date.now();
    const res = await timed(argv, { env: { ...o.env, TMPDIR: tmpOf(side) }, logFile: log });
    const exitedAt = Date.now();
    // the classic job never closes its gate: on a warm boot ping.html is open all along
    const toGate =
      kase === "cold" ? gateMs(spawnedAt, res.ms, ctimeOf(path.join(roots[side], GATE))) : undefined;
    o.say(
      `headline ${kase} ${side} run ${i + 1}/${o.runs}: ${toGate === undefined ? "" : `gate ${fmtMs(toGate)}, `}exit ${fmtMs(res.ms)}, code ${res.code}`,
    );
    if (res.code !== 0) {
      failures++;
      checks.push(`FAIL ${side} ${kase}: run ${i + 1} exited ${res.code} (log: ${log})`);
      return undefined;
    }
    if (kase === "cold" && toGate === undefined) {
      failures++;
      checks.push(`FAIL ${side} ${kase}: run ${i + 1} left no gate written during the run (${GATE})`);
      return undefined;
    }
    if (side === "muster" && kase === "cold") {
      const split = splitBoot(
        readText(path.join(roots.muster, "var/log/muster/boot.log")),
        spawnedAt,
        exitedAt,
      );
      if (split) splits.push(split);
    }
    return { exitMs: res.ms, gateMs: toGate ?? Number.NaN };
  };
  const check = (side: "classic" | "muster", kase: string) => {
    const root = side === "classic" ? roots.classic : roots.muster;
    const tree = countTree(path.join(root, "peerbench"));
    const counts =
      side === "classic"
        ? peerLogCounts("puppet", readText(path.join(out, `${kase}.classic.log`)))
        : musterReportCounts(readText(path.join(root, "var/lib/muster/last-converge.json")));
    // muster's gate is the boot's gate record, {"gate": "open", ...}, where the peers write "ok"
    const ping = side === "muster" && gateIsOpen(tree.ping) ? "ok" : tree.ping;
    const res = judgeTree({
      ...tree,
      ping,
      ...counts,
      tool: side === "classic" ? "puppet" : "muster",
      run: kase === "warm" ? "noop (warm boot)" : kase,
      n: o.n,
      expectedHead,
    });
    if (!res.ok) failures++;
    checks.push(
      res.line.replace(/^(ok|FAIL) (puppet|muster)/, `$1 ${side === "classic" ? "classic" : "muster boot"}`),
    );
  };

  const rows: HeadlineRow[] = [];
  try {
    for (const kase of ["cold", "warm"] as const) {
      const toExit: HeadlinePair[] = [];
      const toGate: HeadlinePair[] = [];
      for (let i = 0; i < o.runs; i++) {
        if (kase === "cold") creationUs.push(fileCreationUs(o.dir, o.moveAside));
        if (kase === "cold") fresh("classic");
        const classic = await run("classic", kase, i);
        if (kase === "cold") fresh("muster");
        const muster = await run("muster", kase, i);
        if (!classic || !muster) continue;
        toExit.push({ classicMs: classic.exitMs, musterMs: muster.exitMs });
        toGate.push({ classicMs: classic.gateMs, musterMs: muster.gateMs });
      }
      check("classic", kase);
      check("muster", kase);
      if (toExit.length === 0) continue;
      if (kase === "cold") rows.push(headlineRow(COLD_TO_GATE, toGate), headlineRow(COLD_TO_EXIT, toExit));
      else rows.push(headlineRow(WARM_TO_EXIT, toExit));
    }
  } finally {
    await git.close();
    await meta.close();
  }
  return { rows, splits, checks, failures, classicScript: CLASSIC_SCRIPT, bootConfig, creationUs };
}

function gateIsOpen(text: string | undefined): boolean {
  try {
    return (JSON.parse(text ?? "") as { gate?: string }).gate === "open";
  } catch {
    return false;
  }
}

function ctimeOf(p: string): number | undefined {
  return existsSync(p) ? statSync(p).ctimeMs : undefined;
}

function readText(p: string): string {
  return existsSync(p) ? readFileSync(p, "utf8") : "";
}

/**
 * PURE: the report's line on what file creation cost where the roots were (see fileCreationUs):
 * most of a cold converge is creating files, so this says what kind of disk state a run met.
 */
export function creationLine(us: readonly number[]): string {
  const fmt = (x: number) => `${Math.round(x)} µs`;
  return (
    `- file creation where the roots are, before each cold pair: median ${fmt(median(us))} per new file ` +
    `(${fmt(Math.min(...us))}–${fmt(Math.max(...us))}; 500 empty files in a fresh directory; ` +
    "a directory whose block groups hold many inodes freed in the last minutes costs 20-40x a quiet one's, see fileCreationUs in bench/measure.ts)"
  );
}

/** The markdown of bench/results/headline.md: what ran, the table, the goal, muster's split. */
export function headlineReport(r: HeadlineResult, head: { title: string; machine: string[] }): string {
  const cold = r.rows.find((x) => x.kase === COLD_TO_GATE);
  return [
    head.title,
    "",
    ...head.machine,
    ...(r.creationUs.length > 0 ? [creationLine(r.creationUs)] : []),
    "",
    headlineTable(r.rows),
    "",
    cold ? headlineVerdict(cold) : "Goal: not measured (no successful cold pair).",
    "",
    "### Where `muster boot`'s time goes (cold, from its boot.log)",
    "",
    splitTable(r.splits),
    "",
    "### What each side ran",
    "",
    "classic (`classic-boot.sh ROOT http://127.0.0.1:PORT/classic-config.git N`):",
    "",
    "```sh",
    r.classicScript.trimEnd(),
    "```",
    "",
    "muster (`muster boot --root ROOT`, ROOT/etc/muster/boot.json):",
    "",
    "```json",
    JSON.stringify(r.bootConfig, null, 2).replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT"),
    "```",
    "",
    "### Checks of the trees (after each case's last run)",
    "",
    "```",
    ...r.checks,
    "```",
    "",
  ].join("\n");
}
