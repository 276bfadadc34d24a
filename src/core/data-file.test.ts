import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import {
  MAX_INPUT_BYTES,
  MAX_NESTING,
  nestsDeeperThan,
  parseDataText,
  readTextFile,
  syntaxErrorLine,
} from "./data-file.ts";

afterAll(cleanupTmp);

describe("YAML's warnings are errors, a byte order mark is nothing", () => {
  it("refuses an unknown tag (it was taken as the plain value, with a warning on stderr)", () => {
    expect(() => parseDataText("group:\n  name: !foo web\n", false, "fleet.yaml")).toThrow(
      /^fleet\.yaml: not valid YAML: unknown tag !foo at line 2, column 9; remove it$/,
    );
  });

  it("says several documents in its own words", () => {
    expect(() => parseDataText("a: 1\n---\nb: 2\n", false, "roles/web.yaml")).toThrow(
      /^roles\/web\.yaml: not valid YAML: several documents \(---\) in one file; keep one$/,
    );
  });

  it("refuses a key twice in one JSON object (JSON.parse kept the last without a word), as YAML does", () => {
    expect(() =>
      parseDataText('{"repo": {"url": "/x"},\n "repo": {"url": "/y"}}', true, "boot.json"),
    ).toThrow(
      /^boot\.json: not valid JSON: a key appears twice in one object \(the second at line 2, column 2\); keep one$/,
    );
    expect(parseDataText('{"a": {"x": 1}, "b": {"x": 2}}', true, "ok.json")).toEqual({
      a: { x: 1 },
      b: { x: 2 },
    });
  });

  it("reads a file that starts with a byte order mark, JSON or YAML", () => {
    expect(parseDataText('\uFEFF{"name": "web"}', true, "roles/web.json")).toEqual({ name: "web" });
    expect(parseDataText("\uFEFFname: web\n", false, "roles/web.yaml")).toEqual({ name: "web" });
  });
});

describe("data nested too deep", () => {
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

  it("is one line naming the file, however deep (2000 levels overflowed the attribute merge)", () => {
    expect(() => parseDataText(nested(5000), true, "roles/base.json")).toThrow(
      /^roles\/base\.json: nested more than 100 levels deep; flatten it$/,
    );
    expect(parseDataText(nested(MAX_NESTING), true, "ok.json")).toBeTypeOf("object");
  });

  it("counts objects and arrays alike, without recursion", () => {
    expect(nestsDeeperThan([[[1]]], 3)).toBe(false);
    expect(nestsDeeperThan([[[[1]]]], 3)).toBe(true);
    expect(nestsDeeperThan("x", 0)).toBe(false);
    expect(nestsDeeperThan(JSON.parse(nested(100_000)), MAX_NESTING)).toBe(true);
  });
});

describe("input files are regular files", () => {
  it("refuses a FIFO, a device and a link to one at once, instead of hanging on them", () => {
    const dir = tmpDir();
    const fifo = path.join(dir, "boot.json");
    execFileSync("mkfifo", [fifo]);
    expect(() => readTextFile(fifo, "boot.json")).toThrow(
      /^boot\.json: not a regular file \(a FIFO\); give a file$/,
    );
    symlinkSync("/dev/zero", path.join(dir, "web.json"));
    expect(() => readTextFile(path.join(dir, "web.json"), "attributes/web.json")).toThrow(
      /^attributes\/web\.json: not a regular file \(a character device\); give a file$/,
    );
  });

  it("refuses a file larger than an input file may be, and still reads a plain one", () => {
    const dir = tmpDir();
    const big = path.join(dir, "fleet.yaml");
    writeFileSync(big, "");
    truncateSync(big, MAX_INPUT_BYTES + 1); // sparse: nothing is written
    expect(() => readTextFile(big, "fleet.yaml")).toThrow(/^fleet\.yaml: 16777217 bytes, more than/);
    writeFileSync(path.join(dir, "ok.json"), "{}\n");
    expect(readTextFile(path.join(dir, "ok.json"), "ok.json")).toBe("{}\n");
    mkdirSync(path.join(dir, "d"));
    expect(() => readTextFile(path.join(dir, "d"), "roles/d.json")).toThrow(
      /^roles\/d\.json: a directory, not a file$/,
    );
  });
});

describe("data files: a syntax error is one line", () => {
  it("JSON: without the parser's excerpt, with a line and column for a position", () => {
    expect(() => parseDataText("group:\n  min: 1\n", true, "fleet.json")).toThrow(
      /^fleet\.json: not valid JSON: Unexpected token 'g'$/,
    );
    expect(() => parseDataText('{"a": 1,\n "b" 2}', true, "b.json")).toThrow(
      /^b\.json: not valid JSON: Unexpected number at line 2, column 6$/,
    );
    expect(() => parseDataText("", true, "e.json")).toThrow(
      /^e\.json: not valid JSON: Unexpected end of JSON input$/,
    );
  });

  it("YAML: the first line, without the colon that announces an excerpt", () => {
    expect(() => parseDataText("group:\n  a: [\n b", false, "f.yaml")).toThrow(
      /^f\.yaml: not valid YAML: .* at line 3, column 2$/,
    );
    expect(parseDataText("a: 1\n", false, "ok.yaml")).toEqual({ a: 1 });
  });

  it("never more than one line", () => {
    expect(syntaxErrorLine('Unexpected token \'x\', "{"a": 1,\n "b": x}" is not valid JSON', "")).toBe(
      "Unexpected token 'x'",
    );
  });
});
