import { describe, expect, it } from "vitest";
import {
  creationLine,
  gateMs,
  HEADLINE_GOAL,
  headlineRow,
  headlineTable,
  headlineVerdict,
  splitBoot,
  splitTable,
} from "./headline.ts";

describe("headline rows", () => {
  const pairs = [
    { classicMs: 6000, musterMs: 500 }, // 12x
    { classicMs: 5000, musterMs: 250 }, // 20x
    { classicMs: 7000, musterMs: 1000 }, // 7x
  ];

  it("gives each side's median and min–max, the ratio of the medians and of each pair", () => {
    const row = headlineRow("cold", pairs);
    expect(row.classic).toMatchObject({ medianMs: 6000, minMs: 5000, maxMs: 7000, n: 3 });
    expect(row.muster).toMatchObject({ medianMs: 500, minMs: 250, maxMs: 1000, n: 3 });
    expect(row.ratio).toBe(12);
    expect(row.pairRatio).toEqual({ median: 12, min: 7, max: 20 });
  });

  it("refuses a case with no successful pair", () => {
    expect(() => headlineRow("warm", [])).toThrow(/warm: no successful pair/);
  });

  it("lays the rows out as a table", () => {
    const table = headlineTable([headlineRow("cold", pairs)]);
    const lines = table.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(
      /^\| cold +\| 6\.00 s \(5\.00 s–7\.00 s\) +\| 500 ms \(250 ms–1\.00 s\) +\| 12\.0x +\| 12\.0x \(7\.0x–20\.0x\) +\| 3 +\|$/,
    );
  });

  it("says whether the goal is met, on the ratio of the cold medians", () => {
    expect(HEADLINE_GOAL).toBe(12);
    expect(headlineVerdict(headlineRow("cold", pairs))).toMatch(/: met, 12\.0x\.$/);
    const slow = headlineRow("cold", [{ classicMs: 5000, musterMs: 500 }]);
    expect(headlineVerdict(slow)).toMatch(/NOT met, 10\.0x\.$/);
  });
});

describe("time to the gate", () => {
  const spawned = Date.parse("2026-01-01T00:00:00.000Z");

  it("is the gate file's ctime less the spawn", () => {
    expect(gateMs(spawned, 4400, spawned + 3469.5)).toBe(3469.5);
  });

  it("counts a ctime a clock tick before the spawn as 0", () => {
    expect(gateMs(spawned, 500, spawned - 3)).toBe(0);
  });

  it("has none for a gate this run did not write: missing, older than the spawn or newer than the exit", () => {
    expect(gateMs(spawned, 500, undefined)).toBeUndefined();
    expect(gateMs(spawned, 500, spawned - 60_000)).toBeUndefined();
    expect(gateMs(spawned, 500, spawned + 2000)).toBeUndefined();
  });
});

describe("the disk's state line", () => {
  it("gives the median and range of the file creation probes, in whole µs", () => {
    expect(creationLine([25.4, 37.2, 23.1])).toMatch(/median 25 µs per new file \(23 µs–37 µs;/);
  });
});

describe("where a boot's time goes", () => {
  const t0 = Date.parse("2026-01-01T00:00:00.000Z");
  const line = (ms: number, fields: Record<string, unknown>) =>
    JSON.stringify({ time: new Date(t0 + ms).toISOString(), ...fields });
  const log = [
    line(300, { event: "run.start" }),
    line(310, { event: "stage.end", stage: "identify", durationMs: 10 }),
    line(420, { event: "stage.end", stage: "fetch", durationMs: 100 }),
    line(920, { event: "stage.end", stage: "converge", durationMs: 480 }),
    line(925, { event: "gate.opened" }),
    "not json",
    line(940, { event: "run.end" }),
  ].join("\n");

  it("splits spawn -> exit into start, stages, gate, exit and the rest", () => {
    const s = splitBoot(log, t0, t0 + 1000);
    expect(s).toEqual({
      start: 300,
      stages: { identify: 10, fetch: 100, converge: 480 },
      gate: 5,
      toGate: 925,
      exit: 75,
      other: 1000 - 300 - 590 - 5 - 75,
    });
  });

  it("takes the last run of a log that holds several", () => {
    const again = [
      line(2000, { event: "run.start" }),
      line(2050, { event: "stage.end", stage: "converge", durationMs: 40 }),
      line(2060, { event: "gate.opened" }),
    ].join("\n");
    const s = splitBoot(`${log}\n${again}`, t0 + 1900, t0 + 2100);
    expect(s?.start).toBe(100);
    expect(s?.stages).toEqual({ converge: 40 });
  });

  it("has nothing to split without an open gate", () => {
    expect(splitBoot(line(300, { event: "run.start" }), t0, t0 + 1000)).toBeUndefined();
    expect(splitBoot("", t0, t0 + 1000)).toBeUndefined();
  });

  it("tabulates the medians of several boots, the stages in the order they ran", () => {
    const a = splitBoot(log, t0, t0 + 1000)!;
    const b = { ...a, start: 500, toGate: 1125, stages: { ...a.stages, converge: 680 } };
    const table = splitTable([a, b, a]);
    expect(table).toMatch(/\| process start -> first boot\.log line[^|]*\| 300 ms +\|/);
    expect(table).toMatch(/\| stage converge +\| 480 ms +\|/);
    expect(table).toMatch(/\| \*\*process start -> gate open\*\* +\| 925 ms +\|/);
    const order = ["identify", "fetch", "converge"].map((k) => table.indexOf(`stage ${k}`));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(splitTable([])).toMatch(/no boot\.log/);
  });
});
