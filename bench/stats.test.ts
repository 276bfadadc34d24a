import { describe, expect, it } from "vitest";
import {
  evaluateGoals,
  fmtMs,
  goalsTable,
  linearityDeviation,
  median,
  perFileMs,
  type Results,
  resultsTable,
  type Summary,
  speedup,
  summarise,
} from "./stats.ts";
import { judgeTree, musterReportCounts, peerLogCounts } from "./tree-check.ts";

const s = (medianMs: number, maxRssKb?: number): Summary => ({
  medianMs,
  minMs: medianMs,
  maxMs: medianMs,
  n: 1,
  maxRssKb,
});

describe("median and summaries", () => {
  it("takes the middle value, or the mean of the middle two", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
  });

  it("summarises runs with min, max and the largest peak RSS", () => {
    const sum = summarise([{ ms: 300, rssKb: 80_000 }, { ms: 100, rssKb: 90_000 }, { ms: 200 }]);
    expect(sum).toEqual({ medianMs: 200, minMs: 100, maxMs: 300, n: 3, maxRssKb: 90_000 });
  });
});

describe("ratios and per-file cost", () => {
  it("says how many times longer the peer took", () => {
    expect(speedup(s(4300), s(215))).toBe(20);
    expect(speedup(undefined, s(215))).toBeUndefined();
  });

  it("computes the no-op slope per file between two sizes", () => {
    expect(perFileMs(s(230), 500, s(380), 2000)).toBeCloseTo(0.1);
    expect(() => perFileMs(s(1), 2000, s(2), 500)).toThrow(/two sizes/);
  });

  it("measures how far a middle point lies off the line", () => {
    expect(linearityDeviation(s(200), 500, s(275), 1250, s(350), 2000)).toBeCloseTo(0);
    expect(linearityDeviation(s(200), 500, s(250), 1250, s(350), 2000)).toBeCloseTo(0.1);
  });
});

describe("goals", () => {
  const results: Results = {
    startup: { muster: s(60, 45_000), puppet: s(3100) },
    "cold-500": { muster: s(600, 90_000), puppet: s(5300), ansible: s(336_000) },
    "noop-500": { muster: s(230, 80_000), puppet: s(4300), ansible: s(359_000) },
    "cold-2000": { muster: s(1900), puppet: s(14_000) },
    "noop-2000": { muster: s(380), puppet: s(11_000) },
    "noop-1250": { muster: s(305) },
  };
  const goals = evaluateGoals({ results, n: 500, ns: 2000, nmid: 1250 });
  const byName = (part: string) => goals.filter((g) => g.goal.includes(part));

  it("passes and fails each goal against its threshold", () => {
    expect(byName("(noop-500) vs puppet")[0]).toMatchObject({ measured: "18.7x", pass: true });
    expect(byName("(noop-500) vs ansible")[0]).toMatchObject({ measured: "1561x", pass: true });
    expect(byName("(cold-500) vs puppet")[0]).toMatchObject({ measured: "8.8x", pass: true });
    expect(byName("(cold-2000) vs puppet")[0]).toMatchObject({ measured: "7.4x", pass: false });
    expect(byName("per file")[0]).toMatchObject({ measured: "0.100 ms", pass: true });
    expect(byName("linear")[0]).toMatchObject({ measured: "0.0%", pass: true });
    expect(byName("peak RSS")[0]).toMatchObject({ measured: "92 MB", pass: true });
    expect(byName("--version")[0]).toMatchObject({ measured: "60 ms", pass: true });
  });

  it("marks a goal against a skipped peer as not measured", () => {
    expect(byName("(noop-2000) vs ansible")[0]).toMatchObject({ pass: undefined });
    expect(goalsTable(goals)).toMatch(/\| n\/a +\|/);
    expect(goalsTable(goals)).toMatch(/\| FAIL +\|/);
  });

  it("puts ratios and RSS in the side-by-side table", () => {
    const table = resultsTable(results, ["noop-500"], ["puppet", "ansible"]);
    const row = table.split("\n")[2];
    expect(row.split("|").map((c) => c.trim())).toEqual([
      "",
      "noop-500",
      "230 ms (n=1)",
      "4.30 s (n=1)",
      "359 s (n=1)",
      "18.7x",
      "1561x",
      "78",
      "–",
      "–",
      "",
    ]);
  });

  it("pads every column to one width, as the formatter lays tables out", () => {
    const lines = resultsTable(results, ["startup", "noop-500"], ["puppet"]).split("\n");
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[1]).toMatch(/^\| -+ \| -+ \|/);
  });

  it("formats durations by size", () => {
    expect(fmtMs(42.4)).toBe("42 ms");
    expect(fmtMs(5310)).toBe("5.31 s");
    expect(fmtMs(336_400)).toBe("336 s");
  });
});

describe("tree checks (check.sh semantics)", () => {
  const good = {
    tool: "muster" as const,
    run: "noop-500",
    n: 500,
    dirs: 22,
    files: 500,
    sites: 50,
    head: "da1ca6b0",
    expectedHead: "da1ca6b0",
    tracked: 200,
    ping: "ok\n",
    changes: 0,
    errors: 0,
  };

  it("accepts a converged tree and prints check.sh's line", () => {
    expect(judgeTree(good)).toEqual({
      ok: true,
      line: "ok muster noop-500: dirs=22 files=500 sites=50 app=da1ca6b/200 ping=ok changes=0 errors=0",
    });
  });

  it("fails a no-op that changed something, a wrong head, a missing gate", () => {
    expect(judgeTree({ ...good, changes: 1 }).ok).toBe(false);
    expect(judgeTree({ ...good, run: "cold-500", changes: 574 }).ok).toBe(true);
    expect(judgeTree({ ...good, head: "0000000" }).ok).toBe(false);
    expect(judgeTree({ ...good, ping: undefined }).ok).toBe(false);
    expect(judgeTree({ ...good, files: 499 }).ok).toBe(false);
  });

  it("counts changes and errors in the peers' logs as check.sh does", () => {
    const ansible = "changed: [localhost] => (item=1)\nok: [localhost]\nchanged: [localhost]\nfatal: [x]\n";
    expect(peerLogCounts("ansible", ansible)).toEqual({ changes: 2, errors: 1 });
    const puppet =
      "Notice: Compiled catalog\nNotice: /Stage[main]/Peerbench/File[/x]/ensure: created\nError: /Stage[main]/y\n";
    expect(peerLogCounts("puppet", puppet)).toEqual({ changes: 1, errors: 1 });
  });

  it("reads muster's --json totals; a failed or missing report is an error", () => {
    const report = { outcome: "converged", totals: { resources: 574, updated: 3, failed: 0 } };
    expect(musterReportCounts(JSON.stringify(report))).toEqual({ changes: 3, errors: 0, resources: 574 });
    expect(musterReportCounts(JSON.stringify({ ...report, outcome: "failed" })).errors).toBe(1);
    expect(musterReportCounts("").errors).toBe(1);
  });
});
