/**
 * Output for stdout or stderr that holds what one busy stretch of the process prints until the
 * event loop next turns, then writes it in one write. Node writes each call synchronously to a
 * file or a pipe (the journal, under systemd), and a cold boot prints a line for each of hundreds
 * of resources. A terminal is written at once: a person watches it, and the progress status line
 * must stay in step with the lines above it. Whatever is held is written by `flush()`, which a
 * command calls before it writes to the other stream or ends, and as the process exits.
 */
export interface CoalescedOutput {
  write(text: string): boolean;
  readonly isTTY?: boolean;
  flush(): void;
}

const held = new Set<() => void>();
let exitHook = false;

/**
 * Write whatever any coalesced output holds. The top-level catch calls it before its error line:
 * where stdout and stderr share a file or the journal, the lines printed before a failure must
 * come before the line that says what failed.
 */
export function flushHeldOutput(): void {
  for (const f of held) f();
}

export function coalescedOutput(stream: NodeJS.WriteStream): CoalescedOutput {
  if (stream.isTTY) return { write: (text) => stream.write(text), isTTY: true, flush() {} };
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    held.delete(flush);
    if (pending === "") return;
    const text = pending;
    pending = "";
    stream.write(text);
  };
  if (!exitHook) {
    exitHook = true;
    process.on("exit", flushHeldOutput);
  }
  return {
    write(text) {
      pending += text;
      if (!scheduled) {
        scheduled = true;
        held.add(flush);
        setImmediate(flush).unref();
      }
      return true;
    },
    flush,
  };
}
