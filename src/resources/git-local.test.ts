import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execOk } from "../host/exec.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { parseOriginUrl, parsePackedRefs, readHeadFromFiles } from "./git-local.ts";

afterAll(cleanupTmp);
const A = "a".repeat(40);

describe("reading .git without git", () => {
  it("parses packed-refs and the origin url", () => {
    expect(
      parsePackedRefs(
        `# pack-refs with: peeled fully-peeled sorted\n${A} refs/heads/master\n^${"b".repeat(40)}\n`,
      ).get("refs/heads/master"),
    ).toBe(A);
    expect(
      parseOriginUrl(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://h/app.git\n\tfetch = +refs/heads/*\n',
      ),
    ).toBe("https://h/app.git");
    expect(parseOriginUrl('[remote "upstream"]\n\turl = x\n')).toBeUndefined();
  });

  it("agrees with git rev-parse on a real checkout, attached and detached", async () => {
    const dir = tmpDir();
    await execOk(["git", "init", "-q", "-b", "master", dir]);
    writeFileSync(path.join(dir, "f"), "x");
    await execOk(["git", "-C", dir, "add", "f"]);
    await execOk(["git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c"]);
    const head = (await execOk(["git", "-C", dir, "rev-parse", "HEAD"])).stdout.trim();
    expect(readHeadFromFiles(dir)).toBe(head);
    await execOk(["git", "-C", dir, "pack-refs", "--all"]);
    expect(readHeadFromFiles(dir)).toBe(head);
    await execOk(["git", "-C", dir, "checkout", "-q", "--detach"]);
    expect(readHeadFromFiles(dir)).toBe(head);
  });

  it("answers undefined for what it does not read (caller asks git)", () => {
    const dir = tmpDir();
    mkdirSync(path.join(dir, ".git"));
    writeFileSync(path.join(dir, ".git/HEAD"), "ref: refs/heads/none\n");
    expect(readHeadFromFiles(dir)).toBeUndefined();
    expect(readHeadFromFiles(path.join(dir, "missing"))).toBeUndefined();
  });
});
