/**
 * Progress of a long step (`muster check`, `fleet up --wait`, `boot`), so a run is never silent
 * for seconds on end. A command reports events: a step starts, a step ends (with the line to
 * keep), or a line of its own (an instance changed state). How they show:
 *
 * - a terminal (stderr is a TTY): the kept lines as they come, and below them one status line on
 *   stderr with a spinner, the running step and its elapsed seconds, redrawn in place;
 * - otherwise (a pipe, a log, the journal): one line per event, nothing redrawn;
 * - never anything extra with --json (`quiet`).
 *
 * The rendering is PURE (events in, text out: `eventLine`, `statusLine`, `ttyFrame`); only
 * `createProgress` writes and runs a timer.
 */

export type ProgressEvent =
  | { type: "start"; key: string; label: string; at: number }
  | { type: "end"; key: string; text?: string; at: number }
  | { type: "line"; text: string; at: number };

/** The steps running now, in the order they started (key -> label and start time). */
export type Running = ReadonlyMap<string, { label: string; since: number }>;

export const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;
const CLEAR_LINE = "\r\x1b[K";

/** PURE: the steps running after an event. */
export function applyEvent(running: Running, e: ProgressEvent): Running {
  if (e.type === "line") return running;
  const next = new Map(running);
  if (e.type === "start") next.set(e.key, { label: e.label, since: e.at });
  else next.delete(e.key);
  return next;
}

/** PURE: the line an event prints when the output is not a terminal (none for a silent end). */
export function eventLine(e: ProgressEvent): string | undefined {
  if (e.type === "start") return `${e.label} ...`;
  return e.text;
}

/** PURE: the terminal's status line: the spinner, the step started last and its seconds. */
export function statusLine(running: Running, now: number, tick: number): string {
  const steps = [...running.values()];
  const last = steps[steps.length - 1];
  if (!last) return "";
  const more = steps.length > 1 ? ` (+${steps.length - 1} more)` : "";
  return `${SPINNER[tick % SPINNER.length]} ${last.label} ${Math.floor((now - last.since) / 1000)} s${more}`;
}

/**
 * PURE: what a terminal gets for an event (or for a tick of the timer, `event` undefined): the
 * status line cleared, the event's kept line, the status line drawn again. Kept lines are
 * separate so a command may send them to stdout; `status` always goes to stderr.
 */
export function ttyFrame(
  running: Running,
  event: ProgressEvent | undefined,
  now: number,
  tick: number,
): { running: Running; kept: string | undefined; status: string } {
  const next = event ? applyEvent(running, event) : running;
  const kept = event && event.type !== "start" ? event.text : undefined;
  return { running: next, kept, status: `${CLEAR_LINE}${statusLine(next, now, tick)}` };
}

export interface Progress {
  start(key: string, label: string): void;
  /** the step is over; `text`: the line to keep for it */
  end(key: string, text?: string): void;
  line(text: string): void;
  /** stop the timer and clear the status line */
  close(): void;
}

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** where the kept lines go (stderr for check, stdout for commands whose report is there) */
  lines: Writable;
  /** the terminal: the status line goes here, and only when it is a TTY */
  status?: Writable;
  /** --json: nothing but the kept lines' own channel stays silent too */
  quiet?: boolean;
  now?: () => number;
  intervalMs?: number;
}

export function createProgress(o: ProgressOptions): Progress {
  if (o.quiet) return { start() {}, end() {}, line() {}, close() {} };
  const now = o.now ?? Date.now;
  const status = o.status ?? process.stderr;
  const emitLine = (text: string | undefined) => {
    if (text !== undefined) o.lines.write(`${text}\n`);
  };
  if (!status.isTTY) {
    const send = (e: ProgressEvent) => emitLine(eventLine(e));
    return {
      start: (key, label) => send({ type: "start", key, label, at: now() }),
      end: (key, text) => send({ type: "end", key, text, at: now() }),
      line: (text) => send({ type: "line", text, at: now() }),
      close() {},
    };
  }
  let running: Running = new Map();
  let tick = 0;
  const draw = (event?: ProgressEvent) => {
    const f = ttyFrame(running, event, now(), tick);
    running = f.running;
    if (f.kept !== undefined) {
      status.write(CLEAR_LINE);
      emitLine(f.kept);
    }
    status.write(f.status);
  };
  const timer = setInterval(() => {
    tick++;
    if (running.size > 0) draw();
  }, o.intervalMs ?? 100);
  timer.unref();
  return {
    start: (key, label) => draw({ type: "start", key, label, at: now() }),
    end: (key, text) => draw({ type: "end", key, text, at: now() }),
    line: (text) => draw({ type: "line", text, at: now() }),
    close() {
      clearInterval(timer);
      running = new Map();
      status.write(CLEAR_LINE);
    },
  };
}

/** "3.2 s" */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
