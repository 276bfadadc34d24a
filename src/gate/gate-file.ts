/**
 * The gate file under a root: removed first thing on every boot, written atomically (mode 0644)
 * as the very last step, so a reader or a crash sees no gate or a whole one, never half of one.
 */
import * as path from "node:path";
import { InputError } from "../core/errors.ts";
import type { RootFs } from "../host/root-fs.ts";
import { type GateRecord, type GateVerdict, gateContent, judgeGate } from "./gate-state.ts";

export function readGate(fs: RootFs, file: string, bootId: string): GateVerdict {
  let content: Buffer | undefined;
  try {
    content = fs.readFile(file);
  } catch (err) {
    // what is at the gate's path is no gate (a directory, a link muster does not follow): closed,
    // and said so, as the health endpoint answers it, not an unexpected error
    const why = unreadableGate(err);
    if (why === undefined) throw err;
    return { state: "closed", reason: why };
  }
  return judgeGate(content, bootId);
}

/** PURE: why what is at the gate's path cannot be a gate, from the read's error; undefined for other errors. */
function unreadableGate(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EISDIR") return "a directory is at the gate file's path, not a gate file";
  if (code === "ELOOP" || code === "ENOTDIR" || /symbolic link/.test(String((err as Error).message)))
    return "the gate file's path goes through a link or a non-directory muster does not follow";
  return undefined;
}

/** Remove the gate and any temporary file an interrupted write left beside it. */
export function closeGate(fs: RootFs, file: string): string[] {
  const removed: string[] = [];
  const st = fs.lstat(file);
  // a gate is a file: a directory there is somebody's, never removed as the gate
  if (st?.type === "directory")
    throw new InputError(
      `gate.file ${file} is a directory, not a gate file: fix gate.file in the boot config`,
    );
  if (st) {
    fs.remove(file);
    removed.push(file);
  }
  const dir = path.posix.dirname(file);
  const prefix = `.${path.posix.basename(file)}.muster-`;
  for (const name of fs.readDir(dir)) {
    if (!name.startsWith(prefix)) continue;
    fs.remove(path.posix.join(dir, name));
    removed.push(path.posix.join(dir, name));
  }
  return removed;
}

export function openGate(fs: RootFs, file: string, record: GateRecord): void {
  const dir = path.posix.dirname(file);
  if (!fs.stat(dir)) fs.mkdir(dir, 0o755, true);
  fs.writeFileAtomic(file, gateContent(record), { mode: 0o644 });
}
