import { describe, expect, it } from "vitest";
import {
  buildFailureRecord,
  CONSOLE_PREFIX,
  consoleLine,
  type FailureInput,
  failureSummary,
  recordFromConsole,
  redactSecrets,
} from "./failure-record.ts";

const line = (runId: string, event: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level: 30, time: "2026-01-01T00:00:00Z", runId, mode: "boot", event, ...extra });

const base = (logTail: string[]): FailureInput => ({
  instanceId: "i-0000000000000000a",
  bootId: "boot-1",
  runId: "run-1",
  stage: "fetch",
  cause: "git clone https://deploy:hunter2@git.example/config.git failed: connection refused",
  attempts: 3,
  gaveUp: "gave up after 3 attempts",
  at: "2026-01-01T00:00:10Z",
  logTail,
});

describe("buildFailureRecord", () => {
  it("keeps the stage, cause, attempts and this run's last 20 log lines, oldest first", () => {
    const tail = [
      line("run-0", "stage.failed", { note: "an earlier run" }),
      ...Array.from({ length: 30 }, (_, i) => line("run-1", `e${i}`)),
      "",
    ];
    const r = buildFailureRecord(base(tail));
    expect(r).toMatchObject({
      muster: "boot-failure",
      instanceId: "i-0000000000000000a",
      bootId: "boot-1",
      stage: "fetch",
      attempts: 3,
      gaveUp: "gave up after 3 attempts",
    });
    expect(r.log).toHaveLength(20);
    expect(r.log[0]).toContain('"event":"e10"');
    expect(r.log[19]).toContain('"event":"e29"');
    expect(r.log.join("\n")).not.toContain("an earlier run");
  });

  it("redacts credentials in the cause and in log lines", () => {
    const r = buildFailureRecord(
      base([
        line("run-1", "stage.failed", { error: "https://user:s3cret-pass@git.example/x.git refused" }),
        line("run-1", "env", {
          note: "AWS_SECRET_ACCESS_KEY=abcdEFGH1234/secretvalue key AKIAABCDEFGHIJKLMNOP",
        }),
        line("run-1", "http", { header: "Authorization: Bearer eyJhbGciOi.payload.sig" }),
        line("run-1", "json", { password: "p4ssw0rd!" }),
      ]),
    );
    const text = JSON.stringify(r);
    for (const secret of [
      "hunter2",
      "s3cret-pass",
      "secretvalue",
      "ABCDEFGHIJKLMNOP",
      "eyJhbGciOi",
      "p4ssw0rd",
    ])
      expect(text).not.toContain(secret);
    expect(r.cause).toContain("https://***@git.example/config.git");
  });

  it("is bounded: the oldest log lines go first, long lines are cut", () => {
    const long = Array.from({ length: 20 }, (_, i) => line("run-1", `e${i}`, { blob: "x".repeat(5000) }));
    const r = buildFailureRecord(base(long), 4096);
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(4096);
    expect(r.log.length).toBeGreaterThan(0);
    expect(r.log.at(-1)).toContain('"event":"e19"');
    for (const l of r.log) expect(l.length).toBeLessThanOrEqual(600);
  });
});

describe("the console line", () => {
  it("is one line that reads back as the record, the last one winning", () => {
    const first = buildFailureRecord({ ...base([]), stage: "deps" });
    const second = buildFailureRecord({ ...base([line("run-1", "multi\nline")]), cause: "two\nlines" });
    const text = `[   0.1] kernel\n${consoleLine(first)}noise\n${consoleLine(second)}`;
    expect(consoleLine(second).trimEnd()).not.toContain("\n");
    expect(consoleLine(second).startsWith(CONSOLE_PREFIX)).toBe(true);
    expect(recordFromConsole(text)).toEqual(second);
    expect(recordFromConsole("no record here\n")).toBeUndefined();
  });

  it("summarises stage and cause for a person", () => {
    expect(failureSummary(buildFailureRecord(base([])))).toBe(
      "boot failed at stage fetch after 3 attempts: git clone https://***@git.example/config.git failed: connection refused",
    );
  });
});

describe("redactSecrets", () => {
  it("leaves ordinary text alone", () => {
    expect(redactSecrets("stage fetch failed: connection refused")).toBe(
      "stage fetch failed: connection refused",
    );
  });
});
