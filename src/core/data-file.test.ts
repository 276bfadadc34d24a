import { describe, expect, it } from "vitest";
import { parseDataText, syntaxErrorLine } from "./data-file.ts";

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
