import { describe, expect, it } from "vitest";
import {
  badInputFigure,
  badInputProblems,
  churnFigure,
  type KillTrial,
  killFigure,
  listingChanges,
  MAX_LINE,
  tallyChurn,
  tallyKills,
  trialsMarkdown,
} from "./trials-tally.ts";

const clean = {
  code: 2,
  stdout: "",
  stderr: "muster: /etc/muster/boot.json: retries.attempts: must be at least 1\n",
};

describe("badInputProblems", () => {
  it("passes one named line, exit 2, nothing written", () => {
    expect(badInputProblems(clean, { mentions: ["boot.json"], changes: [] })).toEqual([]);
  });

  it("refuses another exit code, a timeout, an empty stderr", () => {
    expect(badInputProblems({ ...clean, code: 1 }, { changes: [] })).toEqual(["exit code 1, not 2"]);
    expect(badInputProblems({ ...clean, code: null, timedOut: true }, { changes: [] })).toContain(
      "did not finish within the trial's timeout",
    );
    expect(badInputProblems({ ...clean, stderr: "\n" }, { changes: [] })).toEqual(["stderr is empty"]);
  });

  it("counts lines against the problems, leaving progress lines out", () => {
    const two = { ...clean, stderr: `${clean.stderr}muster: roles/web.json: unknown role "base"\n` };
    expect(badInputProblems(two, { changes: [] })).toEqual(["stderr has 2 lines for 1 problem"]);
    expect(badInputProblems(two, { problems: 2, changes: [] })).toEqual([]);
    const withProgress = { ...clean, stderr: `muster check: templates ...\n${clean.stderr}` };
    expect(badInputProblems(withProgress, { changes: [], progress: /^muster check: / })).toEqual([]);
    expect(badInputProblems(withProgress, { changes: [] })).toEqual(["stderr has 2 lines for 1 problem"]);
  });

  it("finds a stack trace, a Node error prefix, an over-long line", () => {
    const trace = {
      code: 2,
      stdout: "",
      stderr: "TypeError: x is undefined\n    at f (file.js:1:1)\n",
    };
    const why = badInputProblems(trace, { problems: 2, changes: [] });
    expect(why).toContain("stack trace");
    expect(why).toContain("Node error prefix on stderr");
    expect(badInputProblems({ ...clean, stdout: "    at g (x.js:2:2)\n" }, { changes: [] })).toEqual([
      "stack trace",
    ]);
    const long = { ...clean, stderr: `muster: role: "${"r".repeat(MAX_LINE)}" is unknown\n` };
    expect(badInputProblems(long, { changes: [] })[0]).toMatch(/^a stderr line of \d+ characters$/);
  });

  it("wants the named file or field, and nothing written", () => {
    expect(badInputProblems(clean, { mentions: ["fleet.yaml"], changes: [] })).toEqual([
      'stderr does not name "fleet.yaml"',
    ]);
    expect(badInputProblems(clean, { changes: ["+ root/etc/motd f 644 1 5"] })).toEqual([
      "wrote 1 change: + root/etc/motd f 644 1 5",
    ]);
  });
});

describe("listingChanges", () => {
  it("shows what appeared, went and changed", () => {
    expect(
      listingChanges(["a d 755 0 1", "b f 644 3 1"], ["a d 755 0 1", "b f 644 4 2", "c f 600 1 2"]),
    ).toEqual(["+ b f 644 4 2", "+ c f 600 1 2", "- b f 644 3 1"]);
    expect(listingChanges(["x"], ["x"])).toEqual([]);
  });
});

describe("tallyKills", () => {
  const t = (o: Partial<KillTrial>): KillTrial => ({
    killAtMs: 10,
    killed: true,
    landed: "after fetch",
    gateStatusCode: 3,
    healthStatus: 503,
    ...o,
  });

  it("counts an open gate by gate status or by a 200 from the health logic; not boots that finished", () => {
    const tally = tallyKills([
      t({}),
      t({ gateStatusCode: 0 }),
      t({ healthStatus: 200, landed: "after converge" }),
      t({ killed: false, gateStatusCode: 0, healthStatus: 200, landed: "finished first" }),
      t({ recovery: { bootCode: 0, gateStatusCode: 0 } }),
      t({ recovery: { bootCode: 1, gateStatusCode: 3 } }),
      t({ afterGate: true, gateStatusCode: 0, healthStatus: 200, landed: "after open-gate" }),
    ]);
    expect(tally).toEqual({
      runs: 7,
      killed: 5,
      killedAfterGate: 1,
      finishedFirst: 1,
      openGates: 2,
      landedIn: { "after fetch": 4, "after converge": 1 },
      recoveries: 2,
      recoveredOpen: 1,
    });
    expect(killFigure(tally)).toBe(
      "kill trials: 2 open gates after 5 boots killed mid-way (1 of 2 later boots opened)",
    );
  });
});

describe("tallyChurn", () => {
  it("tells errors at a kill from others and counts requests to failed boots", () => {
    const tally = tallyChurn({
      requests: [
        { time: 1000, status: 200 },
        { time: 4500, status: 0 }, // 500 ms before the kill at 5000
        { time: 5800, status: 502 }, // 800 ms after it
        { time: 9000, status: 503 }, // no kill near
      ],
      accessLog: [
        { time: 1000, status: 200, targetId: "i-a" },
        { time: 2000, status: 200, targetId: "i-failed" },
        { time: 9000, status: 503, targetId: null },
      ],
      failedBoots: ["i-failed", "i-other"],
      kills: [{ id: "i-b", at: 5000 }],
      inFlightBeforeMs: 1000,
      inFlightAfterMs: 1000,
    });
    expect(tally).toEqual({
      requests: 4,
      errors: 3,
      errorsAtKills: 2,
      otherErrors: 1,
      requestsToFailedBoots: 1,
      failedBoots: 2,
      kills: 1,
    });
    expect(churnFigure("haproxy", tally)).toBe(
      "churn (haproxy): 4 requests, 3 errors (2 in flight to 1 killed instances, 1 other), 1 requests to 2 failed boots",
    );
  });
});

describe("trialsMarkdown", () => {
  it("lists each unclean input with why, and the figures", () => {
    const badInputs = [
      { name: "a", command: "boot --root T/root", problems: [] },
      { name: "b", command: "fleet scale 1e9", problems: ["exit code 1, not 2"] },
    ];
    expect(badInputFigure(badInputs)).toBe("bad inputs: 1 of 2 clean");
    const md = trialsMarkdown({ commit: "abc1234", when: "now", machine: "2 cores", seed: 7, badInputs });
    expect(md).toContain("Commit abc1234");
    expect(md).toContain("- bad inputs: 1 of 2 clean");
    expect(md).toContain("- **b** (`fleet scale 1e9`): exit code 1, not 2");
    expect(md).not.toContain("- **a**");
  });
});
