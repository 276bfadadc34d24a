import { lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { appendNoFollow, replaceNoFollow } from "./write-no-follow.ts";

afterEach(() => cleanupTmp());

function victimAndLink(): { victim: string; link: string; dir: string } {
  const outside = tmpDir();
  const dir = tmpDir();
  const victim = path.join(outside, "victim");
  writeFileSync(victim, "root's own\n", { mode: 0o600 });
  const link = path.join(dir, "events.jsonl");
  symlinkSync(victim, link);
  return { victim, link, dir };
}

describe("writing without following a link", () => {
  it("appends to a file, made with the mode given", () => {
    const f = path.join(tmpDir(), "log");
    appendNoFollow(f, "a\n", 0o600);
    appendNoFollow(f, "b\n");
    expect(readFileSync(f, "utf8")).toBe("a\nb\n");
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it("an append to a link put in the file's place fails; the file it points to is unchanged", () => {
    const { victim, link } = victimAndLink();
    expect(() => appendNoFollow(link, "planted\n")).toThrow(/ELOOP/);
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
  });

  it("a replace of a link puts a file of its own in the link's place; the file it pointed to is unchanged", () => {
    const { victim, link, dir } = victimAndLink();
    replaceNoFollow(link, "[]\n", 0o644);
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
    expect(lstatSync(link).isFile()).toBe(true);
    expect(readFileSync(link, "utf8")).toBe("[]\n");
    expect(statSync(link).mode & 0o777).toBe(0o644);
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
    expect(readdirSync(dir)).toEqual(["events.jsonl"]); // no temporary file left
  });
});
