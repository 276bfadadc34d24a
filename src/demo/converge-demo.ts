/**
 * The converge demo: the example config repo converged into a temporary root, a no-op re-run,
 * then a new commit on the example app and a re-run that moves the app to it.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { resourceLines, style, summaryLine, useColour } from "../cli/human-report.ts";
import { musterPackageRoot } from "../cli/package-root.ts";
import { convergeSession } from "../runner/session.ts";
import { bareRepoFrom, commitTo } from "./example-repos.ts";

export async function runDemo(opts: { keep: boolean }): Promise<number> {
  const s = style(useColour(process.stdout));
  const out = (line = "") => process.stdout.write(`${line}\n`);
  const pkg = musterPackageRoot();
  const work = mkdtempSync(path.join(tmpdir(), "muster-demo-"));
  try {
    const appRepo = path.join(work, "git/app.git");
    const root = path.join(work, "instance");
    mkdirSync(root);
    await bareRepoFrom(path.join(pkg, "examples/app"), appRepo, "first release");
    const converge = async (title: string) => {
      out(s.green(`== ${title}`));
      const report = await convergeSession({
        repoDir: path.join(pkg, "examples/config-repo"),
        role: "web",
        root,
        attrFlags: [{ app: { repo: appRepo } }],
        onResult: (r) => {
          for (const l of resourceLines(r, s)) out(l);
        },
        onProgress: (m) => out(`  ${s.dim(m)}`),
      });
      out(summaryLine(report, s));
      out();
      return report;
    };
    out(`muster demo: the example config repo (examples/config-repo, role web) converged into ${root}`);
    out(`the example app (examples/app) is served from a local git repository: ${appRepo}`);
    out();
    const first = await converge("1. first converge of a fresh server");
    const second = await converge("2. converge again: nothing to change");
    await commitTo(
      appRepo,
      { "public/index.html": "<!doctype html>\n<p>release 2: {{revision}}</p>\n" },
      "release 2",
    );
    const third = await converge("3. a new commit on the app's master: the server follows it");
    const ok = [first, second, third].every((r) => r.outcome === "converged") && second.totals.updated === 0;
    out(ok ? "demo finished: converged, idempotent, and in step with the app's master" : "demo FAILED");
    if (opts.keep) out(`kept: ${work}`);
    return ok ? 0 : 1;
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
}
