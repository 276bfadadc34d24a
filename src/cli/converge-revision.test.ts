/**
 * `converge --json` names the config repo's commit whether --repo is the top of a git working
 * tree or a directory inside one (then with that directory's path in it).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execOk } from "../host/exec.ts";
import type { RunReport } from "../runner/report.ts";
import { cleanupTmp, muster, tmpDir } from "../test-support/tmp.ts";

afterAll(cleanupTmp);

const FILES: Record<string, string> = {
  "roles/web.json": JSON.stringify({ name: "web", run_list: ["recipe[web]"] }),
  "recipes/web.ts": `import { recipe } from "muster";\nexport default recipe("web", ({ directory, file }) => {\n  directory("/etc/app", { recursive: true });\n  file("/etc/app/a.conf", { content: "a\\n" });\n});\n`,
};

/** A git repository with the config repo at `sub` in it, committed; its HEAD. */
async function committedRepo(sub: string): Promise<{ top: string; head: string }> {
  const top = tmpDir("muster-config-git-");
  for (const [rel, content] of Object.entries(FILES)) {
    const file = path.join(top, sub, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  const git = (...args: string[]) =>
    execOk(["git", "-C", top, "-c", "user.name=t", "-c", "user.email=t@example.test", ...args]);
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-q", "-m", "config");
  return { top, head: (await git("rev-parse", "HEAD")).stdout.trim() };
}

async function report(repoDir: string): Promise<RunReport> {
  const root = tmpDir("muster-root-");
  const res = await muster(["converge", "--repo", repoDir, "--role", "web", "--root", root, "--json"]);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as RunReport;
}

describe("converge --json: configRevision", () => {
  it("the top of a working tree: its HEAD", async () => {
    const { top, head } = await committedRepo("");
    const r = await report(top);
    expect(r.configRevision).toBe(head);
    expect(r.configSubdir).toBeUndefined();
  });

  it("a directory inside a working tree: the tree's HEAD and the directory's path in it", async () => {
    const { top, head } = await committedRepo("ops/config");
    const r = await report(path.join(top, "ops/config"));
    expect(r.configRevision).toBe(head);
    expect(r.configSubdir).toBe("ops/config");
  });

  it("no git repository: no revision", async () => {
    const dir = tmpDir("muster-config-plain-");
    for (const [rel, content] of Object.entries(FILES)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), content);
    }
    const r = await report(dir);
    expect(r.configRevision).toBeUndefined();
  });
});
