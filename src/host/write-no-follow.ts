/**
 * Writing a file in a directory of muster's own without writing through a link someone put in
 * its place: appends open the name with O_NOFOLLOW (a link there fails with ELOOP), and a whole
 * file is written beside the name and renamed over it, which replaces a link itself and leaves
 * what it points to alone. A reader sees the old file or the new one, never half of one.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** Open `file` to append to it (made with `mode` when missing); fails on a link. */
export function openAppendNoFollow(file: string, mode = 0o644): number {
  return openSync(file, APPEND, mode);
}

/** Append `data` to `file` (made with `mode` when missing); fails on a link. */
export function appendNoFollow(file: string, data: string | Buffer, mode = 0o644): void {
  const fd = openAppendNoFollow(file, mode);
  try {
    writeFileSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** Replace `file` with `data` (temporary file beside it, renamed over it; no fsync). */
export function replaceNoFollow(file: string, data: string | Buffer, mode = 0o644): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.muster-${randomBytes(4).toString("hex")}`,
  );
  // O_EXCL: a name someone made meanwhile (a link too) is not opened
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    try {
      writeFileSync(fd, data);
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
