/**
 * The example repositories as git repositories, as the demo and tests use them: the sample app
 * (examples/app) and the config repo (examples/config-repo) each committed into a local bare
 * repository, so nothing needs the network.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { execOk } from "../host/exec.ts";

const GIT_ID = ["-c", "user.name=muster", "-c", "user.email=muster@localhost", "-c", "commit.gpgsign=false"];

export function examplesDir(from: string): string {
  return path.join(from, "examples");
}

/** A bare repository at `bare` holding `srcDir`'s files as one commit on master. */
export async function bareRepoFrom(
  srcDir: string,
  bare: string,
  message = "initial commit",
): Promise<string> {
  mkdirSync(path.dirname(bare), { recursive: true });
  const work = mkdtempSync(`${bare}.work-`);
  try {
    // the working tree as it is: not a repository's own .git (a directory that is a checkout
    // would bring its history and branch, and `git commit` would find nothing new), and not
    // node_modules, judged by the path inside srcDir (a parent named my_node_modules is fine)
    const skipped = new Set([".git", "node_modules"]);
    cpSync(srcDir, work, {
      recursive: true,
      filter: (p) =>
        !path
          .relative(srcDir, p)
          .split(path.sep)
          .some((part) => skipped.has(part)),
    });
    await execOk(["git", "init", "-q", "-b", "master", work]);
    await execOk(["git", "-C", work, "add", "-A"]);
    await execOk(["git", "-C", work, ...GIT_ID, "commit", "-q", "-m", message]);
    mkdirSync(path.dirname(bare), { recursive: true });
    await execOk(["git", "clone", "-q", "--bare", work, bare]);
    return await headOf(bare);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Commit a change (files relative to the repo root) to `branch` of a bare repository. */
export async function commitTo(
  bare: string,
  files: Record<string, string>,
  message: string,
  branch = "master",
): Promise<string> {
  const work = mkdtempSync(`${bare}.work-`);
  try {
    await execOk(["git", "clone", "-q", "-b", branch, bare, work]);
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
      writeFileSync(path.join(work, rel), content);
    }
    await execOk(["git", "-C", work, "add", "-A"]);
    await execOk(["git", "-C", work, ...GIT_ID, "commit", "-q", "-m", message]);
    await execOk(["git", "-C", work, "push", "-q", "origin", branch]);
    return await headOf(bare, branch);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function headOf(bare: string, branch = "master"): Promise<string> {
  return (await execOk(["git", "--git-dir", bare, "rev-parse", branch])).stdout.trim();
}
