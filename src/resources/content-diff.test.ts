import { describe, expect, it } from "vitest";
import { contentChange, createdHunk, unifiedHunks } from "./content-diff.ts";

describe("content diffs", () => {
  it("a new file's hunk, made directly, is what the diff library makes", () => {
    const cases = ["a\nb\n", "a\nb", "", "\n", "\n\n", "x\r\ny\r\n", "one", "++ plus\n-- minus\n", " lead\n"];
    // and generated ones: lines of a few characters from an alphabet with the awkward ones in it
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const alphabet = ["a", "+", "-", " ", "\n", "\r", "\\", "@"];
    for (let i = 0; i < 200; i++) {
      let s = "";
      const len = next() % 40;
      for (let j = 0; j < len; j++) s += alphabet[next() % alphabet.length];
      cases.push(s);
    }
    for (const text of cases) expect(createdHunk(text), JSON.stringify(text)).toEqual(unifiedHunks("", text));
  });

  it("a changed line that starts with ++ or -- is shown, not taken for a header", () => {
    const hunks = unifiedHunks("keep\n-- old\n", "keep\n++ new\n");
    expect(hunks).toEqual(["@@ -1,2 +1,2 @@", " keep", "--- old", "+++ new"]);
    expect(contentChange("/etc/x.conf", Buffer.from("a\n"), Buffer.from("++ b\n"), false).detail).toBe(
      "@@ -1,1 +1,1 @@\n-a\n+++ b",
    );
  });

  it("a new file: every line added, and long ones cut to 60 lines", () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const c = contentChange("/srv/f", undefined, Buffer.from(text), false);
    expect(c.key).toBe("create");
    const lines = c.detail!.split("\n");
    expect(lines[0]).toBe("@@ -0,0 +1,100 @@");
    expect(lines[1]).toBe("+line 0");
    expect(lines).toHaveLength(61);
    expect(lines[60]).toBe("... (41 more lines)");
  });

  it("a path holding a newline adds nothing to the diff", () => {
    const c = contentChange(
      "/etc/a\n@@ -9,9 +9,9 @@\n+planted",
      Buffer.from("a\n"),
      Buffer.from("b\n"),
      false,
    );
    expect(c.detail).toBe("@@ -1,1 +1,1 @@\n-a\n+b");
  });
});
