/**
 * Shared by the crash test and `npm run trials`: seeded kill moments, and a new commit in the
 * fixture's config and app repositories before each boot, so a killed boot has real work in
 * every stage (fetch, npm ci stamp, converge with a git checkout) for the kill to land in.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { execOk } from "../../host/exec.ts";

/** mulberry32: a small, well-known 32-bit generator; numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const GIT_ID = ["-c", "user.name=muster", "-c", "user.email=muster@localhost", "-c", "commit.gpgsign=false"];

/**
 * A function that pushes a new revision to both repositories. Work clones are made on its first
 * call and kept, so each later revision is two git commands per repository.
 */
export function revisionPusher(repos: { configBare: string; appBare: string }): () => Promise<void> {
  const work: { dir: string; file: string }[] = [];
  let commits = 0;
  return async () => {
    commits++;
    if (work.length === 0)
      for (const [bare, file] of [
        [repos.configBare, "README.md"],
        [repos.appBare, "public/index.html"],
      ] as const) {
        const dir = mkdtempSync(`${bare}.work-`);
        await execOk(["git", "clone", "-q", bare, dir]);
        work.push({ dir, file });
      }
    await Promise.all(
      work.map(async ({ dir, file }) => {
        writeFileSync(path.join(dir, file), `revision ${commits}\n`);
        await execOk(["git", "-C", dir, ...GIT_ID, "commit", "-qam", `revision ${commits}`]);
        await execOk(["git", "-C", dir, "push", "-q", "origin", "master"]);
      }),
    );
  };
}
