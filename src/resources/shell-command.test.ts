import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exec } from "../host/exec.ts";
import { watchCmdlines } from "../test-support/argv-watch.ts";
import { convergeDecls } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { shellInvocation } from "./shell-command.ts";

describe("shellInvocation", () => {
  it("runs argv directly, a string by sh -c, a sensitive string by sh reading standard input", () => {
    expect(shellInvocation(["make", "install"], true)).toEqual({ argv: ["make", "install"], shell: false });
    expect(shellInvocation("make install")).toEqual({ argv: ["make install"], shell: true });
    const s = shellInvocation("echo $TOKEN", true);
    expect(s.argv).toEqual(["/bin/sh", "-s"]);
    expect(s.argv.join(" ")).not.toContain("TOKEN");
    expect(s.input).toContain("echo $TOKEN");
  });

  it("a command in a sensitive script reading stdin gets end-of-file, never the rest of the script", async () => {
    const s = shellInvocation('read line || echo "eof"; echo "after $line"; exit 3', true);
    const res = await exec(s.argv, { input: s.input });
    expect(res.stdout).toBe("eof\nafter \n");
    expect(res.code).toBe(3);
  });
});

describe("a sensitive command while it runs", () => {
  afterEach(cleanupTmp);

  it("is on no command line (ps, /proc/PID/cmdline); a plain one is, so the watch sees it", async () => {
    const root = tmpDir();
    const out = path.join(tmpDir(), "out.txt");
    const marker = `SECRET${process.pid}x${Date.now()}`;
    const run = (sensitive: boolean, name: string) =>
      convergeDecls(root, [
        {
          kind: "execute",
          name,
          // the shell stays while sleep runs, its text in whatever argv it was given
          props: { command: `sleep 0.4; echo ${marker}-${name} > ${out}`, sensitive },
          // the guard of a sensitive resource too
          common: { sensitive, onlyIf: `sleep 0.3; test ${marker} = ${marker}` },
        },
      ]);
    const watch = watchCmdlines(marker);
    const report = await run(true, "hidden");
    const seen = watch.stop();
    expect(report.outcome, report.error).toBe("converged");
    expect(readFileSync(out, "utf8")).toBe(`${marker}-hidden\n`);
    expect(seen).toEqual([]);

    // the same watch does see a command that is not sensitive: it can fail
    const plainWatch = watchCmdlines(marker);
    expect((await run(false, "shown")).outcome).toBe("converged");
    expect(plainWatch.stop().some((c) => c.includes(`${marker}-shown`))).toBe(true);
  });
});
