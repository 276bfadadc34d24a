/** Human-readable content changes for file and template: a unified diff unless sensitive or binary. */
import { createTwoFilesPatch } from "diff";
import type { Change } from "../core/resource.ts";

const MAX_DIFF_LINES = 60;
const MAX_DIFF_BYTES = 256 * 1024;

/**
 * `hidden`: true (or "sensitive") for a sensitive resource; "private" for a file not every user
 * may read (its mode now or the one asked for): its lines must not reach the console, the
 * journal and the run log, which others may read.
 */
export function contentChange(
  path: string,
  before: Buffer | undefined,
  after: Buffer,
  hidden: boolean | "sensitive" | "private",
): Change {
  const key = before === undefined ? "create" : "content";
  const what = before === undefined ? `create file ${path}` : `update content of ${path}`;
  if (hidden === "private") return { key, what: `${what} (not readable by all: content hidden)` };
  if (hidden) return { key, what: `${what} (sensitive: content hidden)` };
  if (
    isBinary(after) ||
    (before && isBinary(before)) ||
    after.length + (before?.length ?? 0) > MAX_DIFF_BYTES
  )
    return { key, what: `${what} (${after.length} bytes)` };
  const body =
    before === undefined
      ? createdHunk(after.toString("utf8"))
      : unifiedHunks(before.toString("utf8"), after.toString("utf8"));
  const shown = body.slice(0, MAX_DIFF_LINES);
  if (body.length > shown.length) shown.push(`... (${body.length - shown.length} more lines)`);
  return { key, what, detail: shown.join("\n") };
}

/** PURE: the hunks of the unified diff from `before` to `after`, without the file headers. */
export function unifiedHunks(before: string, after: string): string[] {
  // the header's four lines (Index:, ===, ---, +++) dropped: named "f", so a path holding a
  // newline cannot add lines to it (and a content line "++ x" is "+++ x" in a hunk)
  const patch = createTwoFilesPatch("f", "f", before, after, "", "", { context: 3 });
  return patch
    .split("\n")
    .slice(4)
    .filter((l) => l !== "");
}

/**
 * PURE: what unifiedHunks gives for a new file, made directly: every line added. A cold converge
 * creates hundreds of files, and the diff library's general algorithm costs more there than the
 * write itself.
 */
export function createdHunk(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  const newlineAtEnd = lines[lines.length - 1] === "";
  if (newlineAtEnd) lines.pop();
  const hunk = [`@@ -0,0 +1,${lines.length} @@`];
  for (const l of lines) hunk.push(`+${l}`);
  if (!newlineAtEnd) hunk.push("\\ No newline at end of file");
  return hunk;
}

function isBinary(b: Buffer): boolean {
  return b.subarray(0, 8000).includes(0);
}
