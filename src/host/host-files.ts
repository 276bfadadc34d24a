/**
 * Files by host path, outside any root: muster's own bookkeeping in places it made or was
 * pointed at (the config repo checkout, its dependency stamp, lock files, the boot config a
 * --config flag names, /proc). A path a resource or a config names inside the root goes through
 * RootFs instead, which keeps it inside the root.
 */
import * as fs from "node:fs";

export function pathExists(hostPath: string): boolean {
  return fs.existsSync(hostPath);
}

export function readText(hostPath: string): string {
  return fs.readFileSync(hostPath, "utf8");
}

export function readBytes(hostPath: string): Buffer {
  return fs.readFileSync(hostPath);
}

export function writeText(hostPath: string, text: string): void {
  fs.writeFileSync(hostPath, text);
}

/** Remove a file (a directory too with `recursive`); nothing there is fine. */
export function removePath(hostPath: string, recursive = false): void {
  fs.rmSync(hostPath, { force: true, recursive });
}

/** The names in a directory; throws when it cannot be read. */
export function listDir(hostPath: string): string[] {
  return fs.readdirSync(hostPath);
}

export interface DirEntry {
  name: string;
  kind: "file" | "directory" | "other";
}

/** The entries of a directory with their kind (links are "other": never followed); throws when it cannot be read. */
export function listDirEntries(hostPath: string): DirEntry[] {
  return fs.readdirSync(hostPath, { withFileTypes: true }).map((e) => ({
    name: e.name,
    kind: e.isFile() ? "file" : e.isDirectory() ? "directory" : "other",
  }));
}

/** When a file was last modified, ms since the epoch (a link is followed, as stat does); throws when it is missing. */
export function modifiedMs(hostPath: string): number {
  return fs.statSync(hostPath).mtimeMs;
}
