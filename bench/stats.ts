/**
 * The arithmetic of the benchmark, kept pure so it can be tested without timing anything:
 * summaries of timed runs, ratios of a peer against muster, the goals and the markdown
 * that reports them.
 */

export const TOOLS = ["muster", "puppet", "ansible"] as const;
export type Tool = (typeof TOOLS)[number];
export const PEERS = ["puppet", "ansible"] as const satisfies readonly Tool[];
export type Peer = (typeof PEERS)[number];

/** One timed run: wall time and the peak resident set size /usr/bin/time saw. */
export interface Sample {
  ms: number;
  rssKb?: number;
}

export interface Summary {
  medianMs: number;
  minMs: number;
  maxMs: number;
  n: number;
  /** the largest peak RSS over the runs, KiB */
  maxRssKb?: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarise(samples: readonly Sample[]): Summary {
  const ms = samples.map((s) => s.ms);
  const rss = samples.map((s) => s.rssKb).filter((r): r is number => r !== undefined);
  return {
    medianMs: median(ms),
    minMs: Math.min(...ms),
    maxMs: Math.max(...ms),
    n: ms.length,
    maxRssKb: rss.length > 0 ? Math.max(...rss) : undefined,
  };
}

/** How many times faster muster is than the peer (peer median / muster median). */
export function speedup(peer: Summary | undefined, muster: Summary | undefined): number | undefined {
  if (!peer || !muster || muster.medianMs <= 0) return undefined;
  return peer.medianMs / muster.medianMs;
}

/**
 * Marginal no-op cost of one file resource: the slope between two no-op medians that differ only
 * in the number of plain files.
 */
export function perFileMs(small: Summary, smallN: number, large: Summary, largeN: number): number {
  if (largeN <= smallN) throw new Error(`per-file cost needs two sizes, got ${smallN} and ${largeN}`);
  return (large.medianMs - small.medianMs) / (largeN - smallN);
}

/**
 * Linearity: how far the no-op median at a middle size lies from the straight line through the
 * two outer sizes, as a fraction of the measured middle median.
 */
export function linearityDeviation(
  small: Summary,
  smallN: number,
  mid: Summary,
  midN: number,
  large: Summary,
  largeN: number,
): number {
  const predicted = small.medianMs + perFileMs(small, smallN, large, largeN) * (midN - smallN);
  return Math.abs(mid.medianMs - predicted) / mid.medianMs;
}

/** Results of one run of the benchmark, keyed by case ("noop-500") and tool. */
export type Results = Record<string, Partial<Record<Tool, Summary>>>;

export interface GoalInput {
  results: Results;
  /** the standard and the scaled number of plain files (500 and 2000) */
  n: number;
  ns: number;
  /** the middle size muster's no-op was measured at for linearity, if it was */
  nmid?: number;
}

export interface Goal {
  goal: string;
  target: string;
  measured: string;
  /** undefined: not measured in this run (a peer was skipped) */
  pass: boolean | undefined;
}

export const GOALS = {
  noopVsPuppet: 15,
  noopVsAnsible: 500,
  coldVsPuppet: 8,
  perFileMs: 0.3,
  /** a middle no-op may lie this far off the line through the outer two */
  linearity: 0.15,
  peakRssMb: 150,
  versionMs: 100,
} as const;

export function evaluateGoals({ results, n, ns, nmid }: GoalInput): Goal[] {
  const goals: Goal[] = [];
  const ratioGoal = (kase: string, peer: Peer, min: number, what: string) => {
    const r = speedup(results[kase]?.[peer], results[kase]?.muster);
    goals.push({
      goal: `${what} (${kase}) vs ${peer}`,
      target: `>= ${min}x`,
      measured: r === undefined ? `not measured (${peer} skipped)` : `${fmtRatio(r)}`,
      pass: r === undefined ? undefined : r >= min,
    });
  };
  for (const size of [n, ns]) {
    ratioGoal(`noop-${size}`, "puppet", GOALS.noopVsPuppet, "no-op re-converge faster");
    ratioGoal(`noop-${size}`, "ansible", GOALS.noopVsAnsible, "no-op re-converge faster");
  }
  for (const size of [n, ns]) ratioGoal(`cold-${size}`, "puppet", GOALS.coldVsPuppet, "cold converge faster");

  const small = results[`noop-${n}`]?.muster;
  const large = results[`noop-${ns}`]?.muster;
  if (small && large) {
    const slope = perFileMs(small, n, large, ns);
    goals.push({
      goal: `no-op cost per file resource, (noop-${ns} - noop-${n}) / ${ns - n}`,
      target: `< ${GOALS.perFileMs} ms`,
      measured: `${slope.toFixed(3)} ms`,
      pass: slope < GOALS.perFileMs,
    });
    const mid = nmid === undefined ? undefined : results[`noop-${nmid}`]?.muster;
    if (mid && nmid !== undefined) {
      const dev = linearityDeviation(small, n, mid, nmid, large, ns);
      goals.push({
        goal: `no-op cost linear in resources: noop-${nmid} off the line through noop-${n} and noop-${ns}`,
        target: `<= ${GOALS.linearity * 100}%`,
        measured: `${(dev * 100).toFixed(1)}%`,
        pass: dev <= GOALS.linearity,
      });
    }
  }

  const rss = Object.values(results)
    .map((byTool) => byTool.muster?.maxRssKb)
    .filter((r): r is number => r !== undefined);
  if (rss.length > 0) {
    const mb = (Math.max(...rss) * 1024) / 1e6;
    goals.push({
      goal: "muster's peak RSS, any case",
      target: `< ${GOALS.peakRssMb} MB`,
      measured: `${mb.toFixed(0)} MB`,
      pass: mb < GOALS.peakRssMb,
    });
  }

  const version = results.startup?.muster;
  if (version)
    goals.push({
      goal: "`muster --version` (median)",
      target: `< ${GOALS.versionMs} ms`,
      measured: fmtMs(version.medianMs),
      pass: version.medianMs < GOALS.versionMs,
    });
  return goals;
}

// ---- formatting ----

/** "231 ms" below a second, "5.31 s" / "336 s" above. */
export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return s < 100 ? `${s.toFixed(2)} s` : `${s.toFixed(0)} s`;
}

export function fmtRatio(r: number): string {
  return r >= 100 ? `${r.toFixed(0)}x` : `${r.toFixed(1)}x`;
}

export function fmtSummary(s: Summary | undefined): string {
  if (!s) return "–";
  if (s.n === 1) return `${fmtMs(s.medianMs)} (n=1)`;
  return `${fmtMs(s.medianMs)} (${fmtMs(s.minMs)}–${fmtMs(s.maxMs)}, n=${s.n})`;
}

function fmtRss(s: Summary | undefined): string {
  return s?.maxRssKb === undefined ? "–" : (s.maxRssKb / 1024).toFixed(0);
}

/** The side-by-side table: medians (min–max), peak RSS, and each peer's time over muster's. */
export function resultsTable(results: Results, cases: readonly string[], peers: readonly Peer[]): string {
  const head = [
    "case",
    ...["muster", ...peers].map((t) => `${t} median (min–max, n)`),
    ...peers.map((p) => `${p} / muster`),
    ...["muster", ...peers].map((t) => `${t} peak RSS MiB`),
  ];
  const rows = cases.map((c) => {
    const byTool = results[c] ?? {};
    const ratios = peers.map((p) => {
      const r = speedup(byTool[p], byTool.muster);
      return r === undefined ? "–" : fmtRatio(r);
    });
    return [
      c,
      fmtSummary(byTool.muster),
      ...peers.map((p) => fmtSummary(byTool[p])),
      ...ratios,
      fmtRss(byTool.muster),
      ...peers.map((p) => fmtRss(byTool[p])),
    ];
  });
  return markdownTable(head, rows);
}

export function goalsTable(goals: readonly Goal[]): string {
  return markdownTable(
    ["goal", "target", "measured", "result"],
    goals.map((g) => [g.goal, g.target, g.measured, g.pass === undefined ? "n/a" : g.pass ? "pass" : "FAIL"]),
  );
}

/** Columns padded to one width, as the project's formatter (biome) lays markdown tables out. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (c: string) => c.replaceAll("|", "\\|");
  const all = [head, ...rows].map((r) => r.map(esc));
  const widths = head.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(all[0]), rule, ...all.slice(1).map(line)].join("\n");
}
