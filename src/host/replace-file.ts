/**
 * Replace a file atomically without an fsync: the data goes to a temporary file beside the
 * target, which is renamed over it, so a reader sees the old file or the new one, never half of
 * one. For muster's own bookkeeping that need not survive a power loss: the state of running
 * processes (under /run, a tmpfs on a host) and a run's progress record rewritten at every stage.
 * Under load an fsync waits for the disk (about 10 ms each with twenty instances booting on one
 * machine), and this bookkeeping is written often. Files whose loss matters (the gate, converged
 * resources, a run's final record) go through RootFs.writeFileAtomic, which fsyncs.
 */
import type { RootFs } from "./root-fs.ts";

/** Replace `p` (a path inside the root, resolved like every write under it) with `data`. */
export function replaceFile(root: RootFs, p: string, data: string | Buffer, mode = 0o644): void {
  root.writeFileAtomic(p, data, { mode, durable: false });
}
