/**
 * End to end: `muster converge` of examples/config-repo into a temporary root, then a new commit
 * on the app's repository, and a re-run moves /srv/app/current to it, reporting exactly that.
 */
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bareRepoFrom, commitTo } from "../demo/example-repos.ts";
import { execOk } from "../host/exec.ts";
import type { RunReport } from "../runner/report.ts";
import { cleanupTmp, EXAMPLES, muster, tmpDir, treeHash } from "../test-support/tmp.ts";

let appRepo: string;
let root: string;
const configRepo = path.join(EXAMPLES, "config-repo");
// the example's app service listens here (a per-test loopback address and a free port)
const appHost = "127.0.0.71";
let appPort = 0;
const converge = (extra: string[] = []) =>
  muster([
    ...["converge", "--repo", configRepo, "--role", "web", "--root", root],
    ...["--attr", `app.repo=${appRepo}`, "--attr", `app.host=${appHost}`, "--attr", `app.port=${appPort}`],
    ...extra,
  ]);

beforeAll(async () => {
  appRepo = path.join(tmpDir(), "app.git");
  await bareRepoFrom(path.join(EXAMPLES, "app"), appRepo);
  root = tmpDir("muster-example-root-");
  appPort = await freePort(appHost);
});
afterAll(async () => {
  await muster(["supervise", "stop", "--root", root]); // the app service and its supervisor
  cleanupTmp();
});

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function revisionServed(): Promise<string | null> {
  const res = await fetch(`http://${appHost}:${appPort}/`);
  return res.headers.get("x-app-revision");
}

async function head(dir: string): Promise<string> {
  return (await execOk(["git", "-C", dir, "rev-parse", "HEAD"])).stdout.trim();
}

describe("converging the example config repo", () => {
  it("dry run first: reports what it would do and changes nothing", async () => {
    const before = treeHash(root);
    const res = await converge(["--dry-run"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("would create directory /srv/app");
    expect(res.stdout).toMatch(/\d+\/\d+ resources would be updated/);
    expect(treeHash(root)).toBe(before);
  });

  it("converges the web role: app checked out, live link, site config rendered", async () => {
    const res = await converge();
    expect(res.code, res.stderr).toBe(0);
    expect(await head(path.join(root, "srv/app/current"))).toBe(await head(appRepo));
    expect(readlinkSync(path.join(root, "srv/app/live"))).toBe("/srv/app/current");
    const site = readFileSync(path.join(root, "etc/nginx/sites-enabled/app.conf"), "utf8");
    expect(site).toContain("listen 80;");
    expect(site).toContain("server_name app.example.test;");
    expect(res.stdout).toMatch(/^\d+\/\d+ resources updated in [\d.]+ s$/m);
    // the JSON-lines log under the root
    const log = readFileSync(path.join(root, "var/log/muster/converge.log"), "utf8").trim().split("\n");
    expect(JSON.parse(log[log.length - 1]).event).toBe("run.end");
  });

  it("a second run changes nothing", async () => {
    const res = await converge(["--json"]);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as RunReport;
    expect(report.totals.updated).toBe(0);
    expect(report.appRevision).toBe(await head(appRepo));
    expect(await revisionServed()).toBe((await head(appRepo)).slice(0, 7));
  });

  it("after a new app commit, a re-run moves current to it, reports exactly that change, and restarts the app once", async () => {
    const before = await head(appRepo);
    const after = await commitTo(appRepo, { "public/index.html": "<p>v2 {{revision}}</p>\n" }, "v2");
    const res = await converge(["--json"]);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as RunReport;
    const changed = report.resources.filter((r) => r.status !== "up-to-date");
    // the one change, and the restart it notified (delayed, at the end of the run)
    expect(changed.map((r) => r.id)).toEqual(["git[/srv/app/current]", "service[app]"]);
    expect(changed[0].changes.map((c) => c.what)).toEqual([
      `move ${before.slice(0, 7)} -> ${after.slice(0, 7)} (master)`,
    ]);
    expect(changed[1].note).toBe("notified by git[/srv/app/current]");
    expect(await revisionServed()).toBe(after.slice(0, 7));
    expect(report.appRevision).toBe(after);
    expect(await head(path.join(root, "srv/app/current"))).toBe(after);
    expect(existsSync(path.join(root, "srv/app/current/public/index.html"))).toBe(true);
  });

  it("a second run on the same root waits for the lock, then fails clearly", async () => {
    const lockFile = path.join(root, "var/lib/muster/converge.lock");
    const { writeFileSync, rmSync } = await import("node:fs");
    writeFileSync(lockFile, `${process.pid}\n`); // this test process is alive: the lock is held
    try {
      const res = await converge(["--lock-wait", "0.3"]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`another muster run (pid ${process.pid}) holds`);
    } finally {
      rmSync(lockFile, { force: true });
    }
  });
});
