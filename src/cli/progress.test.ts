import { describe, expect, it } from "vitest";
import {
  createProgress,
  type ProgressEvent,
  type Running,
  SPINNER,
  statusLine,
  ttyFrame,
} from "./progress.ts";

/** A stream that records what is written to it. */
function sink(isTTY: boolean): { write(s: string): void; isTTY: boolean; text: string } {
  return {
    isTTY,
    text: "",
    write(s: string) {
      this.text += s;
    },
  };
}

describe("progress, not on a terminal", () => {
  it("prints one line per event, in order, and nothing on the status stream", () => {
    const lines = sink(false);
    const status = sink(false);
    let t = 0;
    const p = createProgress({ lines, status, now: () => t });
    p.start("fetch", "  fetch");
    t = 1500;
    p.line("  role: web");
    p.end("fetch", "  fetch ok (1.5 s)");
    p.start("deps", "  deps");
    p.end("deps"); // an end without a line to keep prints nothing
    p.close();
    expect(lines.text.split("\n")).toEqual([
      "  fetch ...",
      "  role: web",
      "  fetch ok (1.5 s)",
      "  deps ...",
      "",
    ]);
    expect(status.text).toBe("");
  });

  it("is silent with --json", () => {
    const lines = sink(true);
    const status = sink(true);
    const p = createProgress({ lines, status, quiet: true });
    p.start("x", "x");
    p.line("y");
    p.end("x", "z");
    p.close();
    expect(lines.text + status.text).toBe("");
  });
});

describe("progress on a terminal (frames from events)", () => {
  const CLEAR = "\r\x1b[K";

  it("draws the running step with a spinner and its elapsed seconds, and keeps the ended step's line", () => {
    const events: ProgressEvent[] = [
      { type: "start", key: "fetch", label: "fetch", at: 0 },
      { type: "end", key: "fetch", text: "fetch ok (2.0 s)", at: 2000 },
      { type: "start", key: "deps", label: "deps", at: 2000 },
      { type: "line", text: "i-1 127.77.0.1: InService", at: 2500 },
    ];
    let running: Running = new Map();
    const frames = events.map((e, tick) => {
      const f = ttyFrame(running, e, e.at, tick);
      running = f.running;
      return [f.kept, f.status];
    });
    expect(frames).toEqual([
      [undefined, `${CLEAR}${SPINNER[0]} fetch 0 s`],
      ["fetch ok (2.0 s)", CLEAR],
      [undefined, `${CLEAR}${SPINNER[2]} deps 0 s`],
      ["i-1 127.77.0.1: InService", `${CLEAR}${SPINNER[3]} deps 0 s`],
    ]);
    // a tick of the timer: the same step, the next spinner frame, the seconds so far
    expect(ttyFrame(running, undefined, 9400, 4)).toEqual({
      running,
      kept: undefined,
      status: `${CLEAR}${SPINNER[4]} deps 7 s`,
    });
  });

  it("names the step started last and counts the others", () => {
    const running: Running = new Map([
      ["a", { label: "fetch", since: 0 }],
      ["b", { label: "wait", since: 1000 }],
    ]);
    expect(statusLine(running, 4000, 11)).toBe(`${SPINNER[1]} wait 3 s (+1 more)`);
    expect(statusLine(new Map(), 4000, 0)).toBe("");
  });

  it("writes kept lines to their stream and the status line to the terminal, and clears it at the end", () => {
    const lines = sink(false);
    const status = sink(true);
    const p = createProgress({ lines, status, now: () => 0, intervalMs: 60_000 });
    p.start("check", "typecheck");
    p.end("check", "typecheck done");
    p.close();
    expect(lines.text).toBe("typecheck done\n");
    expect(status.text).toBe(`${CLEAR}${SPINNER[0]} typecheck 0 s${CLEAR}${CLEAR}${CLEAR}`);
  });
});
