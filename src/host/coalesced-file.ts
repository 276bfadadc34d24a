/**
 * An append-only file written in coalesced writes, for muster's logs (pino's destination).
 *
 * Lines are written synchronously, but what one busy stretch of the process writes goes out in
 * one write: a cold converge logs a line for each of hundreds of resources, and a write per line
 * cost more than the resources' own work. The lines go out as soon as the process waits for
 * anything (a child process, an fsync, the network: the event loop turns), when the file is
 * closed, and as the process exits (process.exit, an uncaught error, the end of its work). A
 * signal that ends the process outright (SIGKILL, or a SIGTERM nothing handles) loses the lines
 * of the stretch it cuts, a few milliseconds' worth. Written by hand: pino's own destination (sonic-boom) either writes
 * each line at once (sync) or buffers to a length (minLength) with no flush at the event loop's
 * turn, and follows a symbolic link at the log's path.
 */
import * as fs from "node:fs";
import { errorMessage, RunError } from "../core/errors.ts";

/** Logs with lines not written yet, written out as the process exits. */
const unwritten = new Set<CoalescedFile>();
let exitHook = false;

/**
 * pino's destination: lines appended to `dest` (never through a link: O_NOFOLLOW), held until the
 * event loop next turns (setImmediate), then written in one write.
 */
export class CoalescedFile {
  private fd: number | undefined;
  private pending: string[] = [];
  private scheduled = false;
  private failed = false;

  /** `shown`: the file as a person names it, when `dest` is a /proc/self/fd path */
  constructor(dest: string, shown = dest) {
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
    try {
      this.fd = fs.openSync(dest, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ELOOP") throw err;
      throw new RunError(
        `${shown} is a symbolic link: muster writes its log only to a file of its own; remove the link`,
      );
    }
    if (!exitHook) {
      exitHook = true;
      process.on("exit", () => {
        for (const f of unwritten) f.flushQuietly();
      });
    }
  }

  write(line: string): boolean {
    if (this.fd === undefined) return false;
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      unwritten.add(this);
      setImmediate(() => this.flushQuietly()).unref();
    }
    return true;
  }

  private flushSync(): void {
    this.scheduled = false;
    unwritten.delete(this);
    if (this.fd === undefined || this.pending.length === 0) return;
    const data = Buffer.from(this.pending.join(""));
    this.pending = [];
    // O_APPEND: each write lands at the end; a short write (a full disk) goes on from where it stopped
    for (let at = 0; at < data.length; ) at += fs.writeSync(this.fd, data, at);
  }

  /** A log that cannot be written (a full disk) must not end the run it logs: say so once. */
  private flushQuietly(): void {
    try {
      this.flushSync();
    } catch (err) {
      if (!this.failed) process.stderr.write(`muster: could not write its log: ${errorMessage(err)}\n`);
      this.failed = true;
    }
  }

  /** Write what is held now: for a reader of the file in this same busy stretch. */
  flush(): void {
    this.flushQuietly();
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      this.flushQuietly();
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
