/** The built CLI when whoever reads its output goes away (a closed pipe). */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanupTmp, REPO_ROOT, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

/** Run the built muster with its stdout a pipe this side closes before muster writes to it. */
function withClosedStdout(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    // one that never ends is killed: its exit code is then null
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
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

describe("`muster fleet events --follow` with a closed stdout", () => {
  it("ends instead of following a running fleet for nobody", async () => {
    const state = tmpDir("muster-fleet-state-");
    // a fleet that "runs": its daemon's pid is this test's own process
    writeFileSync(
      path.join(state, "fleet.json"),
      JSON.stringify({
        pid: process.pid,
        startedAt: new Date().toISOString(),
        stateDir: state,
        source: "test",
        socket: path.join(state, "control.sock"),
        loadBalancer: "http://127.0.0.1:1",
      }),
    );
    const event = { seq: 1, time: Date.now(), kind: "fleet", message: "fleet up" };
    writeFileSync(path.join(state, "events.jsonl"), `${JSON.stringify(event)}\n`.repeat(3));
    const r = await withClosedStdout(["fleet", "events", "--follow", "--state-dir", state], 20_000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  }, 30_000);
});
