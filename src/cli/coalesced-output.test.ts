import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../test-support/tmp.ts";
import { coalescedOutput } from "./coalesced-output.ts";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe("coalesced output", () => {
  it("a file or pipe gets what one busy stretch printed in one write, once the event loop turns", async () => {
    const { stream, writes } = fakeStream(false);
    const out = coalescedOutput(stream);
    out.write("a\n");
    out.write("b\n");
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(["a\nb\n"]);
    out.write("c\n");
    out.flush();
    expect(writes).toEqual(["a\nb\n", "c\n"]);
  });

  it("a terminal is written at once", () => {
    const { stream, writes } = fakeStream(true);
    const out = coalescedOutput(stream);
    out.write("a\n");
    expect(writes).toEqual(["a\n"]);
    expect(out.isTTY).toBe(true);
  });

  it("what is held when the process exits is written", () => {
    const code = `import { coalescedOutput } from ${JSON.stringify(path.join(REPO_ROOT, "src/cli/coalesced-output.ts"))};
const out = coalescedOutput(process.stdout);
for (let i = 0; i < 3; i++) out.write("line " + i + "\\n");
process.exit(4);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(4);
    expect(r.stdout).toBe("line 0\nline 1\nline 2\n");
  });

  it("the top-level catch writes what is held before its error line (stdout and stderr in one journal)", () => {
    const code = `import { coalescedOutput } from ${JSON.stringify(path.join(REPO_ROOT, "src/cli/coalesced-output.ts"))};
import { handleError } from ${JSON.stringify(path.join(REPO_ROOT, "src/cli/errors.ts"))};
const out = coalescedOutput(process.stdout);
out.write("  file[/etc/a] created\\n");
process.exitCode = handleError(new Error("boom"), false);`;
    // one pipe for both streams, as systemd gives the journal
    const r = spawnSync(
      "sh",
      ["-c", 'exec "$0" --import tsx --input-type=module -e "$1" 2>&1', process.execPath, code],
      {
        cwd: REPO_ROOT,
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n").slice(0, 2)).toEqual(["  file[/etc/a] created", "muster: boom"]);
  });
});
