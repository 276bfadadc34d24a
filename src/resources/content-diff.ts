/** Human-readable content changes for file and template: a unified diff unless sensitive or binary. */
import { createTwoFilesPatch } from "diff";
import type { Change } from "../core/resource.ts";

const MAX_DIFF_LINES = 60;
const MAX_DIFF_BYTES = 256 * 1024;

export function contentChange(
  path: string,
  before: Buffer | undefined,
  after: Buffer,
  sensitive: boolean,
): Change {
  const key = before === undefined ? "create" : "content";
  const what = before === undefined ? `create file ${path}` : `update content of ${path}`;
  if (sensitive) return { key, what: `${what} (sensitive: content hidden)` };
  if (
    isBinary(after) ||
    (before && isBinary(before)) ||
    after.length + (before?.length ?? 0) > MAX_DIFF_BYTES
  )
    return { key, what: `${what} (${after.length} bytes)` };
  const patch = createTwoFilesPatch(
    path,
    path,
    before?.toString("utf8") ?? "",
    after.toString("utf8"),
    "",
    "",
    {
      context: 3,
    },
  );
  const lines = patch.split("\n").slice(2); // drop the ===/---/+++ headers, keep hunks
  const body = lines.filter((l) => !l.startsWith("---") && !l.startsWith("+++") && l !== "");
  const shown = body.slice(0, MAX_DIFF_LINES);
  if (body.length > shown.length) shown.push(`... (${body.length - shown.length} more lines)`);
  return { key, what, detail: shown.join("\n") };
}

function isBinary(b: Buffer): boolean {
  return b.subarray(0, 8000).includes(0);
}
