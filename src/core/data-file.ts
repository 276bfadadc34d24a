/**
 * JSON and YAML files read as data (fleet.yaml, boot.json, role files), with a syntax error as
 * one line: where, and what the parser said, without its excerpt of the file (JSON.parse quotes
 * the text, line breaks and all) and with a line and column where it gave a position.
 */
import YAML from "yaml";
import { NotPlainFile, readSmallFile } from "../host/host-files.ts";
import { errorMessage, InputError } from "./errors.ts";

/** PURE: the parser's message as one clean line. */
export function syntaxErrorLine(message: string, text: string): string {
  let line = message.split("\n")[0]!.trim();
  // JSON: `Unexpected token 'g', "group: [a]` ... `" is not valid JSON`
  line = line.replace(/, ".*$/, "");
  const at = /^(.*) in JSON at position (\d+)/.exec(line);
  if (at) {
    const before = text.slice(0, Number(at[2]));
    const lineNo = before.split("\n").length;
    const column = Number(at[2]) - before.lastIndexOf("\n");
    line = `${at[1]} at line ${lineNo}, column ${column}`;
  }
  // YAML: `... at line 3, column 2:` announces an excerpt that follows on the next lines
  return line.replace(/:$/, "");
}

/**
 * How deep data may nest: far beyond any real config, and well within what the code that walks it
 * recursively (the attribute merge, zod, structuredClone) can take: 2000 levels of attributes
 * overflowed the stack of the merge.
 */
export const MAX_NESTING = 100;

/** PURE: does `value` nest objects or arrays more than `max` deep? Walked without recursion. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Parse `text` as JSON (`json`) or YAML; a syntax error is an InputError naming `where`. */
export function parseDataText(text: string, json: boolean, where: string): unknown {
  // a byte order mark (what some editors write first) is no part of the data
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let data: unknown;
  try {
    data = json ? JSON.parse(body) : yamlData(body);
    if (json) refuseDuplicateKeys(body);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InputError(`${where}: not valid ${json ? "JSON" : "YAML"}: ${syntaxErrorLine(message, body)}`);
  }
  if (nestsDeeperThan(data, MAX_NESTING))
    throw new InputError(`${where}: nested more than ${MAX_NESTING} levels deep; flatten it`);
  return data;
}

/**
 * YAML's data, where a warning is an error too: an unknown tag (`!foo web`) was taken as the
 * plain value, with the parser's multi-line warning printed on stderr. Several documents in one
 * file are one problem, said in this file's words, not the library's advice.
 */
function yamlData(text: string): unknown {
  const doc = YAML.parseDocument(text);
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem?.code === "MULTIPLE_DOCS") throw new Error("several documents (---) in one file; keep one");
  if (problem?.code === "TAG_RESOLVE_FAILED") {
    const at = problem.linePos?.[0];
    const tag = /Unresolved tag: (\S+)/.exec(problem.message)?.[1] ?? "a tag";
    throw new Error(`unknown tag ${tag}${at ? ` at line ${at.line}, column ${at.col}` : ""}; remove it`);
  }
  if (problem) throw problem;
  return doc.toJS();
}

/**
 * JSON.parse keeps the last of two equal keys without a word, so a second "repo" further down a
 * boot config silently replaced the first; YAML files refuse a duplicate already. Valid JSON is
 * YAML too, so the YAML library finds the duplicate, with its line.
 */
function refuseDuplicateKeys(text: string): void {
  const dup = YAML.parseDocument(text).errors.find((e) => e.code === "DUPLICATE_KEY");
  if (!dup) return;
  const at = dup.linePos?.[0];
  throw new Error(
    `a key appears twice in one object${at ? ` (the second at line ${at.line}, column ${at.col})` : ""}; keep one`,
  );
}

/** The most an input file (a boot config, a role, fleet.yaml) may hold: none comes near it. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/**
 * A file's text; a directory, a missing or unreadable file is an InputError naming `where`. So
 * is anything but a regular file: read by path, a FIFO (or a link to one) never answered and a
 * device such as /dev/zero never ended, and the command hung. Opened without blocking, then
 * judged by fstat on what was opened; a file larger than MAX_INPUT_BYTES is refused too.
 * `seen`, when given, gets the owner and mode of the file that was read.
 */
export function readTextFile(file: string, where: string, seen?: { uid: number; mode: number }): string {
  try {
    return readSmallFile(file, MAX_INPUT_BYTES, { followLast: true, seen });
  } catch (err) {
    if (err instanceof NotPlainFile) {
      if (err.kind === "directory") throw new InputError(`${where}: a directory, not a file`);
      if (err.kind === "too large")
        throw new InputError(
          `${where}: ${err.size} bytes, more than an input file may hold (${MAX_INPUT_BYTES / 1024 / 1024} MiB); is it the right file?`,
        );
      throw new InputError(`${where}: not a regular file (a ${err.kind}); give a file`);
    }
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "EISDIR"
        ? "a directory, not a file"
        : code === "EACCES"
          ? "not readable (permission denied)"
          : code === "ENOENT"
            ? "no such file"
            : errorMessage(err).split("\n")[0];
    throw new InputError(`${where}: ${why}`);
  }
}
