/**
 * End to end through the real CLI: converging the example config repo into a temporary root
 * leaves the example app running under the root's supervisor and answering HTTP on the address
 * the attributes give; a changed attribute restarts it exactly once; an unchanged run restarts
 * nothing.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bareRepoFrom } from "../demo/example-repos.ts";
import type { RunReport } from "../runner/report.ts";
import { cleanupTmp, EXAMPLES, muster, tmpDir } from "../test-support/tmp.ts";

const HOST = "127.0.0.61";
let appRepo: string;
let root: string;

/** A port nobody listens on at HOST right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function get(port: number, urlPath = "/health"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path: urlPath, agent: false, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** The app needs a moment after its process starts before it listens. */
async function answers(port: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await get(port);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const converge = (port: number, extra: string[] = []) =>
  muster([
    "converge",
    ...["--repo", path.join(EXAMPLES, "config-repo"), "--role", "web", "--root", root],
    ...["--attr", `app.repo=${appRepo}`, "--attr", `app.host=${HOST}`, "--attr", `app.port=${port}`],
    "--json",
    ...extra,
  ]);

async function appStatus() {
  const res = await muster(["supervise", "status", "--root", root, "--json"]);
  return JSON.parse(res.stdout).services.app as { state: string; pid: number; pids: number[] };
}

beforeAll(async () => {
  appRepo = path.join(tmpDir(), "app.git");
  await bareRepoFrom(path.join(EXAMPLES, "app"), appRepo);
  root = tmpDir("muster-example-app-");
});
afterAll(async () => {
  const res = await muster(["supervise", "stop", "--root", root]);
  expect(res.code, res.stderr).toBe(0);
  cleanupTmp();
});

describe("the example app, converged into a sandbox root", () => {
  let port: number;
  let firstPids: number[];

  it("is running and answers HTTP on the attributes' address", async () => {
    port = await freePort();
    const res = await converge(port);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as RunReport;
    expect(report.outcome).toBe("converged");
    expect(report.resources.find((r) => r.id === "package[git]")?.status).toBe("up-to-date");
    const health = await answers(port);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true, revision: report.appRevision?.slice(0, 7) });
    const st = await appStatus();
    expect(st.state).toBe("running");
    firstPids = st.pids;
    // the unit the supervisor runs, and where it keeps the app's pid and log
    const def = JSON.parse(readFileSync(path.join(root, "etc/muster/services/app.json"), "utf8"));
    expect(def).toMatchObject({ command: ["node", "server.js"], workingDirectory: "/srv/app/live" });
    expect(readFileSync(path.join(root, "run/muster/services/app.pid"), "utf8")).toBe(`${st.pid}\n`);
  });

  it("an unchanged run changes nothing and restarts nothing", async () => {
    const res = await converge(port);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as RunReport;
    expect(report.totals.updated).toBe(0);
    expect((await appStatus()).pids).toEqual(firstPids);
  });

  it("a changed attribute re-renders the env file and restarts the app once, on the new port", async () => {
    const newPort = await freePort();
    const res = await converge(newPort);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as RunReport;
    const changed = report.resources.filter((r) => r.status !== "up-to-date").map((r) => r.id);
    expect(changed).toEqual([
      "template[/etc/nginx/sites-enabled/app.conf]",
      "file[/etc/app/app.env]",
      "service[app]",
    ]);
    const st = await appStatus();
    expect(st.pids).toHaveLength(firstPids.length + 1);
    expect((await answers(newPort)).status).toBe(200);
    await expect(get(port)).rejects.toThrow(); // nobody on the old port
  });
});
