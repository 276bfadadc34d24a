/** The built CLI when whoever reads its output goes away (a closed pipe). */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanupTmp, REPO_ROOT, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

/** Run the built muster with its stdout a pipe this side closes before muster writes to it. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("a closed stdout (`muster ... | head`)", () => {
  it("help still exits 0, with no stack trace", async () => {
    const r = await withClosedStdout(["converge", "--help"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("a converge still runs to its end and writes everything", async () => {
    const repo = tmpDir("muster-repo-");
    const files: Record<string, string> = {
      "roles/web.json": JSON.stringify({ name: "web", run_list: ["recipe[web]"] }),
      "recipes/web.ts": `import { recipe } from "muster";
export default recipe("web", ({ directory, file }) => {
  directory("/etc/app", { mode: "0755", recursive: true });
  for (let i = 0; i < 50; i++) file("/etc/app/f" + i + ".conf", { content: "n=" + i + "\\n", mode: "0644" });
});
`,
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
      writeFileSync(path.join(repo, rel), content);
    }
    const root = tmpDir("muster-root-");
    const r = await withClosedStdout(["converge", "--repo", repo, "--role", "web", "--root", root]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(root, "etc/app/f49.conf"), "utf8")).toBe("n=49\n");
  });
});
