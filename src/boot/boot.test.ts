/**
 * `muster boot` end to end, through the built CLI, under temporary roots, against the metadata
 * and Auto Scaling emulators on loopback: the success path, then every stage failing on purpose.
 * Each failure must leave the gate closed, exit 1, name the stage in the log and in
 * `muster status`, and complete the lifecycle action with ABANDON exactly once.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer as createHttp, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitTo, headOf } from "../demo/example-repos.ts";
import { execOk } from "../host/exec.ts";
import { type CliResult, cleanupTmp, muster } from "../test-support/tmp.ts";
import { recordFromConsole } from "./failure-record.ts";
import type { BootRecord } from "./state.ts";
import {
  BOOT_ID,
  type BootFixture,
  bootFixture,
  bootLog,
  cloudInitInstanceId,
  duplicatedKeys,
  exampleBareRepos,
  freePort,
  GATE_FILE,
  INSTANCE_ID,
  rawTopLevelKeys,
} from "./testing/fixture.ts";
import { localDependencyFiles } from "./testing/repos.ts";
import { allowedSigners, commitSigned, makeSigningKey } from "./testing/signing.ts";

let repos: { configBare: string; appBare: string };
let trustedKey: string;

beforeAll(async () => {
  repos = await exampleBareRepos();
  await commitTo(repos.configBare, localDependencyFiles("ok"), "recipe deps", "master");
  const keys = mkdtempSync(path.join(path.dirname(repos.configBare), "keys-"));
  trustedKey = await makeSigningKey(keys, "trusted");
  // branches of the config repo for the dependency and signature cases
  await branchWith(repos.configBare, "deps-no-lock", async (work) => {
    rmSync(path.join(work, "package-lock.json"));
  });
  await branchWith(repos.configBare, "deps-out-of-sync", async (work) => {
    writeFileSync(path.join(work, "package.json"), localDependencyFiles("out-of-sync")["package.json"]!);
  });
  await branchWith(repos.configBare, "signed", async () => {}, trustedKey);
  // the old way: a recipe that writes the load balancer's ping.html itself
  await branchWith(repos.configBare, "legacy-gate", async (work) => {
    writeFileSync(
      path.join(work, "recipes/legacy.ts"),
      `import { recipe } from "muster";\nexport default recipe("legacy", ({ file }) => {\n  file("${GATE_FILE}", { content: "OK\\n" });\n});\n`,
    );
    const role = JSON.parse(readFileSync(path.join(work, "roles/web.json"), "utf8"));
    role.run_list.push("recipe[legacy]");
    writeFileSync(path.join(work, "roles/web.json"), JSON.stringify(role));
  });
});

afterAll(cleanupTmp);

/** A branch of `bare` off master with one more commit (signed with `key` when given). */
async function branchWith(
  bare: string,
  branch: string,
  change: (work: string) => Promise<void>,
  key?: string,
) {
  const work = mkdtempSync(`${bare}.work-`);
  try {
    await execOk(["git", "clone", "-q", bare, work]);
    await execOk(["git", "-C", work, "checkout", "-q", "-b", branch]);
    await change(work);
    writeFileSync(path.join(work, `${branch}.txt`), `${branch}\n`);
    await commitSigned(work, branch, key);
    await execOk(["git", "-C", work, "push", "-q", "origin", branch]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const env = { MUSTER_BOOT_ID: BOOT_ID };
const boot = (fx: BootFixture, args: string[] = []) => muster(["boot", "--root", fx.root, ...args], { env });
const gateHost = (fx: BootFixture) => path.join(fx.root, GATE_FILE);

type OnFinished = (fn: () => void | Promise<void>) => void;

/** A fixture of its own for each test (they run concurrently), closed when the test ends. */
async function setup(
  onTestFinished: OnFinished,
  change: (config: Record<string, any>) => void = () => {},
  opts: { region?: string } = {},
): Promise<BootFixture> {
  const fx = await bootFixture(repos, opts);
  onTestFinished(() => fx.close());
  const config = fx.baseConfig();
  change(config);
  fx.writeConfig(config);
  return fx;
}

/** A host that takes connections and never answers (a git host gone silent), closed with the test. */
async function silentHost(onTestFinished: OnFinished): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const hang: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    hang.close();
  });
  return { port: (hang.address() as { port: number }).port, sockets };
}

/** A gate left open by an earlier boot: every boot must remove it first. */
function leftoverGate(fx: BootFixture): void {
  mkdirSync(path.dirname(gateHost(fx)), { recursive: true });
  writeFileSync(
    gateHost(fx),
    JSON.stringify({
      gate: "open",
      bootId: "an-earlier-boot",
      role: "web",
      runId: "x",
      openedAt: "2020-01-01T00:00:00Z",
    }),
  );
}

async function expectFailedAt(
  fx: BootFixture,
  res: CliResult,
  stage: string,
  error: RegExp | string,
  /** "unsigned": no keys to sign ABANDON with (they come from the metadata service, as on AWS) */
  abandon: "sent" | "unsigned" = "sent",
): Promise<BootRecord> {
  expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(1);
  // the gate stays closed: no file, and `muster gate status` says so
  expect(existsSync(gateHost(fx))).toBe(false);
  const gate = await muster(["gate", "status", "--root", fx.root], { env });
  expect(gate.code).toBe(3);
  expect(gate.stdout).toMatch(/^gate closed: /);
  // the log names the stage
  const log = bootLog(fx.root);
  const end = log.filter((e) => e.event === "run.end").at(-1);
  expect(end).toMatchObject({ outcome: "failed", failedStage: stage });
  expect(log.some((e) => e.event === "stage.failed" && e.stage === stage)).toBe(true);
  // so does `muster status`
  const status = await muster(["status", "--root", fx.root], { env });
  expect(status.code).toBe(1);
  expect(status.stdout).toContain(`FAILED at stage ${stage}`);
  expect(status.stdout).toContain(`failed stage:    ${stage}`);
  const record = JSON.parse(
    readFileSync(path.join(fx.root, "var/lib/muster/last-run.json"), "utf8"),
  ) as BootRecord;
  expect(record.failedStage).toBe(stage);
  if (typeof error === "string") expect(record.error).toContain(error);
  else expect(record.error).toMatch(error);
  expect(status.stdout).toContain(record.error!);
  expect(existsSync(path.join(fx.root, "var/lib/muster/last-failure.json"))).toBe(true);
  if (abandon === "unsigned") {
    // the hook's heartbeat timeout decides; the record says why the boot could not
    expect(fx.asg.calls).toEqual([]);
    expect(record.lifecycle).toMatchObject({ result: "ABANDON", ok: false });
    expect(record.lifecycle?.error).toMatch(/no AWS credentials for CompleteLifecycleAction/);
    return record;
  }
  // the autoscaler hears ABANDON exactly once, and never CONTINUE
  expect(fx.completions("ABANDON")).toHaveLength(1);
  expect(fx.completions("ABANDON")[0]!.params).toMatchObject({
    AutoScalingGroupName: "web-asg",
    LifecycleHookName: "launch-hook",
    InstanceId: INSTANCE_ID,
  });
  expect(fx.completions("CONTINUE")).toHaveLength(0);
  expect(record.lifecycle).toEqual({ result: "ABANDON", ok: true });
  return record;
}

describe.concurrent("muster boot: the success path", () => {
  it("converges, opens the gate last, completes the hook with CONTINUE once", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished);
    leftoverGate(fx);
    const res = await boot(fx, ["--json"]);
    expect(res.code, res.stderr).toBe(0);
    const record = JSON.parse(res.stdout) as BootRecord;
    const configHead = await headOf(repos.configBare);
    const appHead = await headOf(repos.appBare);
    expect(record).toMatchObject({
      outcome: "open",
      role: "web",
      configRevision: configHead,
      appRevision: appHead,
      instanceId: INSTANCE_ID,
      bootId: BOOT_ID,
      attempts: 1,
      lifecycle: { result: "CONTINUE", ok: true },
    });
    expect(record.stages.map((s) => s.stage)).toEqual([
      "close-gate",
      "lock",
      "identify",
      "fetch",
      "deps",
      "role",
      "converge",
      "checks",
      "departure-check",
      "open-gate",
      "lifecycle",
    ]);
    // the gate: mode 0644, the role, revisions, boot id and time
    expect(statSync(gateHost(fx)).mode & 0o777).toBe(0o644);
    const gate = JSON.parse(readFileSync(gateHost(fx), "utf8"));
    expect(gate).toMatchObject({
      gate: "open",
      role: "web",
      configRevision: configHead,
      appRevision: appHead,
      bootId: BOOT_ID,
      instanceId: INSTANCE_ID,
    });
    expect(Date.now() - Date.parse(gate.openedAt)).toBeLessThan(60_000);
    const gateStatus = await muster(["gate", "status", "--root", fx.root], { env });
    expect(gateStatus.code).toBe(0);
    expect(gateStatus.stdout).toContain("gate open: /srv/www/ping.html: role web");
    // the app was really converged; the recipe dependencies were installed
    expect(existsSync(path.join(fx.root, "srv/app/current/server.js"))).toBe(true);
    expect(existsSync(path.join(fx.root, "var/lib/muster/config/node_modules/helper"))).toBe(true);
    expect(fx.completions("CONTINUE")).toHaveLength(1);
    expect(fx.completions("ABANDON")).toHaveLength(0);
    const status = await muster(["status", "--root", fx.root], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("last boot run: open");
    expect(status.stdout).toContain(`config revision: ${configHead}`);
    expect(status.stdout).toContain(`app revision:    ${appHead}`);
    expect(status.stdout).toContain("gate:            open");
    const log = bootLog(fx.root);
    expect(log.find((e) => e.event === "gate.opened")).toBeDefined();
    expect(log.at(-1)).toMatchObject({ event: "run.end", outcome: "open" });

    // the next boot (a reboot of the same server) reuses the checkout and succeeds again
    fx.startAction();
    const again = await boot(fx);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("muster boot: gate open (role web");
    // the header names the boot id whole: a prefix cannot be matched against boot records
    expect(again.stdout + again.stderr).toContain(`(boot ${BOOT_ID}, run `);
    expect(fx.completions("CONTINUE")).toHaveLength(2);
  });

  it("verifies the commit's signature when configured", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "signed";
      c.repo.verify = { allowedSigners: "/etc/muster/allowed_signers" };
    });
    allowedSigners(path.join(fx.root, "etc/muster/allowed_signers"), [trustedKey]);
    const res = await boot(fx, ["--json"]);
    expect(res.code, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as BootRecord).stages.map((s) => s.stage)).toContain("verify");
  });

  it("a gate directory every user may write: the boot says so, once, and still opens the gate", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished);
    // what any local user could then do: put ping.html in place while the boot converges
    const gateDir = path.dirname(gateHost(fx));
    mkdirSync(gateDir, { recursive: true });
    chmodSync(gateDir, 0o777);
    const res = await boot(fx);
    expect(res.code, res.stderr).toBe(0);
    const warning =
      "muster boot: warning: /srv/www is writable by every user: a process of theirs can write the gate /srv/www/ping.html before the boot opens it";
    expect(res.stdout.split(warning)).toHaveLength(2);
    const warns = bootLog(fx.root).filter((e) => e.event === "warn");
    expect(warns).toEqual([expect.objectContaining({ gate: "/srv/www/ping.html", dir: "/srv/www" })]);
    expect(existsSync(gateHost(fx))).toBe(true);
    // as the fixture leaves it (root's, 0755), the gate's directory gets no word
    chmodSync(gateDir, 0o755);
    fx.startAction();
    const quiet = await boot(fx);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).not.toContain("warning");
  });

  it("warm pools: an instance being warmed converges, keeps its gate closed and the hook waiting", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished);
    fx.meta.updateInstance(INSTANCE_ID, { targetLifecycleState: "Warmed:Stopped" });
    const res = await boot(fx);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("converged for a warm pool");
    expect(existsSync(gateHost(fx))).toBe(false);
    expect(existsSync(path.join(fx.root, "srv/app/current/server.js"))).toBe(true);
    expect(fx.asg.calls.filter((c) => c.action === "CompleteLifecycleAction")).toHaveLength(0);
    expect((await muster(["status", "--root", fx.root], { env })).stdout).toContain("last boot run: warmed");
  });
});

describe.concurrent("muster boot: told to leave while it boots", () => {
  /** An app check that, when the boot reaches it, makes the metadata service say the instance is leaving. */
  async function leaveDuringChecks(
    onTestFinished: OnFinished,
    leave: (fx: BootFixture) => void,
    change: (config: Record<string, any>) => void = () => {},
  ): Promise<BootFixture> {
    let fx: BootFixture | undefined;
    const app: HttpServer = createHttp((_req, res) => {
      if (fx) leave(fx);
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    onTestFinished(() => {
      app.close();
    });
    const url = `http://127.0.0.1:${(app.address() as { port: number }).port}/health`;
    fx = await setup(onTestFinished, (c) => {
      c.checks = [{ url, timeout: 5 }];
      change(c);
    });
    return fx;
  }

  async function expectKeptClosed(fx: BootFixture, why: string, lifecycle: string): Promise<void> {
    const res = await boot(fx, ["--json"]);
    expect(res.code, res.stderr).toBe(0);
    const record = JSON.parse(res.stdout) as BootRecord;
    expect(record).toMatchObject({
      outcome: "leaving",
      departure: why,
      lifecycle: { result: "ABANDON", ok: true },
    });
    expect(record.stages.map((s) => s.stage).slice(-3)).toEqual(["checks", "departure-check", "lifecycle"]);
    // converged, but never in service: no gate, and the group never hears CONTINUE
    expect(existsSync(path.join(fx.root, "srv/app/current/server.js"))).toBe(true);
    expect(existsSync(gateHost(fx))).toBe(false);
    expect(fx.completions("CONTINUE")).toHaveLength(0);
    expect(res.stderr).toContain(`this instance is leaving (${why}): gate kept closed`);
    const status = await muster(["status", "--root", fx.root], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("last boot run: leaving");
    expect(status.stdout).toContain(`leaving:         ${why}`);
    expect(status.stdout).toContain(`lifecycle:       ${lifecycle}`);
    expect(bootLog(fx.root).find((e) => e.event === "boot.leaving")).toMatchObject({ why });
  }

  it("scaled in while it booted: the group ended the launch action as it began terminating it", async ({
    onTestFinished,
  }) => {
    const fx = await leaveDuringChecks(onTestFinished, (f) => {
      // what Auto Scaling does to a Pending:Wait instance it terminates (the fleet's model too)
      f.asg.cancelLifecycleActions(INSTANCE_ID);
      f.meta.updateInstance(INSTANCE_ID, { targetLifecycleState: "Terminated" });
    });
    await expectKeptClosed(
      fx,
      "the target lifecycle state is Terminated",
      "ABANDON not taken: no action was waiting (the group ended it as it began terminating the instance, or its heartbeat timeout passed)",
    );
  });

  it("a metadata service that fails for a moment at the departure check: read again, then the gate opens", async ({
    onTestFinished,
  }) => {
    const fx = await leaveDuringChecks(
      onTestFinished,
      (f) => {
        void f.meta.setFault({ kind: "error", status: 500, path: "/latest/meta-data/spot/instance-action" });
        setTimeout(() => void f.meta.setFault(undefined), 1500).unref();
      },
      (c) => {
        c.retries = { attempts: 6, backoffBase: 0.5, backoffCap: 0.5, jitter: 0, deadline: 60 };
      },
    );
    const res = await boot(fx, ["--json"]);
    expect(res.code, res.stderr).toBe(0);
    const record = JSON.parse(res.stdout) as BootRecord;
    expect(record.outcome).toBe("open");
    const checks = record.stages.filter((s) => s.stage === "departure-check");
    expect(checks.length).toBeGreaterThanOrEqual(2);
    expect(checks[0]).toMatchObject({ ok: false });
    expect(checks.at(-1)).toMatchObject({ ok: true });
    expect(record.stages.filter((s) => s.stage === "converge")).toHaveLength(1);
    expect(fx.completions("CONTINUE")).toHaveLength(1);
  });

  it("a spot interruption notice came while it booted: ABANDON, so the group replaces it now", async ({
    onTestFinished,
  }) => {
    const time = new Date(Date.now() + 120_000).toISOString().replace(/\.\d+Z$/, "Z");
    const fx = await leaveDuringChecks(onTestFinished, (f) =>
      f.meta.updateInstance(INSTANCE_ID, { spotInstanceAction: { action: "terminate", time } }),
    );
    await expectKeptClosed(
      fx,
      `a spot interruption notice (terminate at ${time.replace("Z", ".000Z")})`,
      "ABANDON sent",
    );
    expect(fx.completions("ABANDON")).toHaveLength(1);
  });
});

describe.concurrent("muster boot: the config repo is fetched while identify runs", () => {
  const checkoutOf = (fx: BootFixture) => path.join(fx.root, "var/lib/muster/config/roles/web.json");
  const logHas = (fx: BootFixture, event: string, stage: string) =>
    bootLog(fx.root).some((e) => e.event === event && e.stage === stage);
  async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it("the checkout is there before the metadata service has answered identify", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.timeouts.metadata = 10;
    });
    await fx.meta.setFault({ kind: "slow", delayMs: 4000 });
    const running = boot(fx, ["--json"]);
    await until("the checkout", () => existsSync(checkoutOf(fx)));
    // fetched while identify still waits: the metadata service has not answered anything yet
    // (its record holds answers sent), so a fetch that waited for identify could not be here
    expect(fx.meta.requests.map((r) => r.path)).toEqual([]);
    await fx.meta.setFault(undefined);
    const res = await running;
    expect(res.code, res.stderr).toBe(0);
    const record = JSON.parse(res.stdout) as BootRecord;
    expect(record).toMatchObject({
      outcome: "open",
      attempts: 1,
      configRevision: await headOf(repos.configBare),
    });
  });

  it("an attempt after a failed identify fetches again: a commit pushed meanwhile is the one converged", async ({
    onTestFinished,
  }) => {
    await branchWith(repos.configBare, "early-fetch", async () => {});
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "early-fetch";
      c.timeouts.metadata = 3;
      c.retries = { attempts: 2, backoffBase: 3, backoffCap: 3, jitter: 0, deadline: 90 };
    });
    // identify fails only after the early fetch has long ended: its checkout is there, and the
    // second attempt must not take it for its own
    await fx.meta.setFault({ kind: "slow", delayMs: 60_000 });
    const running = boot(fx, ["--json"]);
    await until(
      "the first attempt's fetch and failed identify",
      () => existsSync(checkoutOf(fx)) && logHas(fx, "stage.failed", "identify"),
    );
    const pushed = await commitTo(
      repos.configBare,
      { "pushed.txt": "meanwhile\n" },
      "meanwhile",
      "early-fetch",
    );
    await fx.meta.setFault(undefined);
    const res = await running;
    expect(res.code, res.stderr).toBe(0);
    const record = JSON.parse(res.stdout) as BootRecord;
    expect(record).toMatchObject({ outcome: "open", attempts: 2, configRevision: pushed });
  });
});

describe.concurrent("muster boot: an early fetch that no attempt will use is called off", () => {
  it("identify fails for good while the git host never answers: the boot ends without waiting out timeouts.git", async ({
    onTestFinished,
  }) => {
    const { port, sockets } = await silentHost(onTestFinished);
    const fx = await setup(onTestFinished, (c) => {
      c.repo.url = `http://127.0.0.1:${port}/config.git`;
      c.timeouts.git = 90;
      c.timeouts.metadata = 3;
      c.lifecycle.group = "web-asg";
      c.retries = { attempts: 1, backoffBase: 1, backoffCap: 1, jitter: 0, deadline: 120 };
    });
    cloudInitInstanceId(fx.root); // the instance id for ABANDON, without metadata
    await fx.meta.setFault({ kind: "slow", delayMs: 60_000 });
    const started = Date.now();
    const res = await boot(fx);
    await expectFailedAt(fx, res, "identify", /did not answer|took longer/, "unsigned");
    expect(sockets.length).toBe(1); // the early fetch did start, and got no answer
    // waiting for git would have taken the 90 s of timeouts.git
    expect(Date.now() - started).toBeLessThan(45_000);
  }, 120_000);
});

describe.concurrent("muster boot: every stage fails on purpose", () => {
  it("identify: the metadata service is down", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.lifecycle.group = "web-asg"; // no tags without metadata
    });
    // cloud-init's record of the instance id names the instance, but the role's keys come from
    // the metadata service too: as on AWS, ABANDON cannot be signed and the hook's timeout decides
    cloudInitInstanceId(fx.root);
    await fx.meta.setFault({ kind: "down", mode: "refuse" });
    leftoverGate(fx);
    await expectFailedAt(
      fx,
      await boot(fx),
      "identify",
      /metadata service at http:\/\/127\.0\.0\.1:\d+/,
      "unsigned",
    );
  });

  it("identify: metadata never answers and no endpoints.region: AWS_REGION still lets the boot abandon", async ({
    onTestFinished,
  }) => {
    // the group's API is in eu-west-1 and refuses signatures scoped to another region: only
    // AWS_REGION names it
    const fx = await setup(
      onTestFinished,
      (c) => {
        c.lifecycle.group = "web-asg";
        delete c.endpoints.region;
      },
      { region: "eu-west-1" },
    );
    cloudInitInstanceId(fx.root);
    await fx.meta.setFault({ kind: "down", mode: "refuse" });
    // without metadata there are no instance-profile keys: the host's own keys, in its
    // environment, come first in the SDK's chain (an IAM user's, issued by the same account)
    const host = fx.asg.issuer.operatorKeys(undefined, "web-host");
    const res = await muster(["boot", "--root", fx.root], {
      env: {
        ...env,
        AWS_REGION: "eu-west-1",
        AWS_DEFAULT_REGION: "",
        AWS_ACCESS_KEY_ID: host.accessKeyId,
        AWS_SECRET_ACCESS_KEY: host.secretAccessKey,
        AWS_SESSION_TOKEN: "",
      },
    });
    await expectFailedAt(fx, res, "identify", /metadata service at http:\/\/127\.0\.0\.1:\d+/);
    expect(fx.completions("ABANDON")[0]).toMatchObject({
      region: "eu-west-1",
      accessKeyId: host.accessKeyId,
      principal: "arn:aws:iam::123456789012:user/web-host",
    });
  });

  it("identify: the metadata service is slow", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.timeouts.metadata = 0.2;
      c.lifecycle.group = "web-asg";
    });
    cloudInitInstanceId(fx.root);
    await fx.meta.setFault({ kind: "slow", delayMs: 1500 });
    const record = await expectFailedAt(
      fx,
      await boot(fx),
      "identify",
      /did not answer|took longer/,
      "unsigned",
    );
    expect(record.attempts).toBe(2);
  });

  it("fetch: the git host is down (and its credentials never reach a log)", async ({ onTestFinished }) => {
    const port = await freePort();
    const fx = await setup(onTestFinished, (c) => {
      c.repo.url = `https://deploy:s3cret@127.0.0.1:${port}/config.git`;
    });
    // the console the failure record goes to (on a host a device; here a file, as the fleet makes it)
    mkdirSync(path.join(fx.root, "dev"));
    writeFileSync(path.join(fx.root, "dev/console"), "");
    const res = await boot(fx);
    const record = await expectFailedAt(
      fx,
      res,
      "fetch",
      `config repo https://***@127.0.0.1:${port}/config.git: fetching master failed`,
    );
    const consoleText = readFileSync(path.join(fx.root, "dev/console"), "utf8");
    expect(consoleText.split("\n").filter(Boolean)).toHaveLength(1);
    expect(recordFromConsole(consoleText)).toMatchObject({
      instanceId: INSTANCE_ID,
      bootId: BOOT_ID,
      stage: "fetch",
      cause: record.error,
      attempts: 2,
    });
    // the console line went out before the ABANDON
    const events = bootLog(fx.root).map((e) => e.event);
    expect(events.indexOf("failure-record.console")).toBeGreaterThan(-1);
    expect(events.indexOf("failure-record.console")).toBeLessThan(events.lastIndexOf("lifecycle.complete"));
    const everything = [
      res.stdout,
      res.stderr,
      consoleText,
      readFileSync(path.join(fx.root, "var/log/muster/boot.log"), "utf8"),
      readFileSync(path.join(fx.root, "var/lib/muster/last-run.json"), "utf8"),
    ].join("\n");
    expect(everything).not.toContain("s3cret");
  });

  it("the failure record is never written through a link at the console's name, nor to one it would make", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "no-such-branch";
      c.console = "/dev/ttyS9";
    });
    const outside = path.join(path.dirname(fx.root), `${path.basename(fx.root)}-victim`);
    writeFileSync(outside, "");
    onTestFinished(() => rmSync(outside, { force: true }));
    mkdirSync(path.join(fx.root, "dev"));
    symlinkSync(outside, path.join(fx.root, "dev/ttyS9"));
    await expectFailedAt(fx, await boot(fx), "fetch", /no-such-branch/);
    expect(readFileSync(outside, "utf8")).toBe("");
    expect(bootLog(fx.root).find((e) => e.event === "failure-record.no-console")).toMatchObject({
      why: [expect.stringContaining("is a symbolic link")],
    });
    // a console is only opened, never made: nothing new beside the link
    expect(readdirSync(path.join(fx.root, "dev"))).toEqual(["ttyS9"]);
  });

  it("fetch: a git host that never answers runs into the timeout", async ({ onTestFinished }) => {
    const { port } = await silentHost(onTestFinished);
    const fx = await setup(onTestFinished, (c) => {
      c.repo.url = `ssh://git@127.0.0.1:${port}/config.git`;
      c.timeouts.git = 0.4;
    });
    await expectFailedAt(fx, await boot(fx), "fetch", "fetching master did not finish within 0.4 s");
  });

  it("fetch: the ref does not exist", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "no-such-branch";
    });
    await expectFailedAt(fx, await boot(fx), "fetch", 'has no branch or tag "no-such-branch"');
  });

  it("fetch: a deploy key readable by group or others is refused, clearly and without retrying", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.sshKey = "/etc/muster/deploy_key";
    });
    writeFileSync(path.join(fx.root, "etc/muster/deploy_key"), "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    chmodSync(path.join(fx.root, "etc/muster/deploy_key"), 0o644);
    const res = await boot(fx);
    const record = await expectFailedAt(
      fx,
      res,
      "fetch",
      "repo.sshKey /etc/muster/deploy_key: the deploy key is readable or writable by group or others (mode 0644); run chmod 600 /etc/muster/deploy_key",
    );
    expect(record.attempts).toBe(1);
    expect(res.stderr).toContain("run chmod 600 /etc/muster/deploy_key");
  });

  it("verify: the commit is not signed by an allowed key", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.verify = { allowedSigners: "/etc/muster/allowed_signers" };
    });
    allowedSigners(path.join(fx.root, "etc/muster/allowed_signers"), [trustedKey]);
    await expectFailedAt(
      fx,
      await boot(fx),
      "verify",
      /is not signed by a key in \/etc\/muster\/allowed_signers/,
    );
  });

  it("deps: npm ci fails", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "deps-out-of-sync";
    });
    await expectFailedAt(fx, await boot(fx), "deps", /^npm ci in the config repo failed: .*in sync/);
  });

  it("deps: dependencies without a lock file", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "deps-no-lock";
    });
    const record = await expectFailedAt(
      fx,
      await boot(fx),
      "deps",
      "has dependencies but no package-lock.json",
    );
    expect(record.attempts).toBe(1); // retrying cannot help
  });

  it("role: none of the security groups has a role", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished);
    fx.meta.updateInstance(INSTANCE_ID, { securityGroups: ["default", "db"] });
    await expectFailedAt(
      fx,
      await boot(fx),
      "role",
      /none of the security groups .*\("default", "db"\) has a role file/,
    );
  });

  it("role: two security groups have roles", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished);
    fx.meta.updateInstance(INSTANCE_ID, { securityGroups: ["web", "base"] });
    const record = await expectFailedAt(
      fx,
      await boot(fx),
      "role",
      /several security groups .* have role files/,
    );
    expect(record.attempts).toBe(1); // the groups will not change: no retry
  });

  it("converge: a resource fails", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.attributes.app.repo = "/nonexistent/app.git";
    });
    await expectFailedAt(fx, await boot(fx), "converge", /^git\[\/srv\/app\/current\] failed: /);
    expect(existsSync(path.join(fx.root, "var/lib/muster/last-converge.json"))).toBe(true);
  });

  it("converge: a recipe that writes the gate file itself is refused before anything is written", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "legacy-gate";
    });
    const record = await expectFailedAt(
      fx,
      await boot(fx),
      "converge",
      `recipes/legacy.ts:3: file[${GATE_FILE}]: is the gate file (gate.file in /etc/muster/boot.json), which only the boot writes, last, once everything has succeeded: remove this resource`,
    );
    expect(record.attempts).toBe(1); // bad input: trying again cannot help
    expect(existsSync(path.join(fx.root, "srv/app"))).toBe(false); // no resource ran
  });

  it("checks: the app's check fails (heartbeats keep the hook alive meanwhile)", async ({
    onTestFinished,
  }) => {
    const app: HttpServer = createHttp((_req, res) => res.writeHead(500).end());
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    onTestFinished(() => {
      app.close();
    });
    const url = `http://127.0.0.1:${(app.address() as { port: number }).port}/health`;
    const fx = await setup(onTestFinished, (c) => {
      c.checks = [{ url, timeout: 1 }];
      c.retries.backoffBase = 0.3;
      c.retries.backoffCap = 0.3;
      c.retries.jitter = 0;
    });
    await expectFailedAt(fx, await boot(fx), "checks", `check ${url} answered 500, expected 200`);
    expect(fx.heartbeats().length).toBeGreaterThanOrEqual(1);
  });
});

describe.concurrent("muster boot: around the pipeline", () => {
  it("a broken boot config exits 2 and still closes the gate it names", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished);
    leftoverGate(fx);
    writeFileSync(
      path.join(fx.root, "etc/muster/boot.json"),
      JSON.stringify({ gate: { file: GATE_FILE }, repo: 1 }),
    );
    const res = await boot(fx);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("muster: /etc/muster/boot.json: repo: ");
    expect(existsSync(gateHost(fx))).toBe(false);
  });

  it("gate close with a config broken elsewhere still closes every gate it could name, then exits 2", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished);
    leftoverGate(fx);
    const ownStateGate = path.join(fx.root, "opt/state/gate.json");
    mkdirSync(path.dirname(ownStateGate), { recursive: true });
    writeFileSync(ownStateGate, "{}");
    writeFileSync(
      path.join(fx.root, "etc/muster/boot.json"),
      JSON.stringify({
        gate: { file: GATE_FILE },
        stateDir: "/opt/state",
        repo: { url: "/x" },
        retries: { attempts: 1.5 },
      }),
    );
    const res = await muster(["gate", "close", "--root", fx.root], { env });
    expect([res.code, res.stderr]).toEqual([
      2,
      "muster: /etc/muster/boot.json: retries.attempts: must be a whole number (got 1.5)\n",
    ]);
    expect(res.stdout).toBe(`removed ${GATE_FILE}\nremoved /opt/state/gate.json\n`);
    expect(existsSync(gateHost(fx))).toBe(false);
    expect(existsSync(ownStateGate)).toBe(false);
  });

  it("a broken config whose gate.file is the config itself: gate close and boot never remove it", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished);
    const config = path.join(fx.root, "etc/muster/boot.json");
    const text = JSON.stringify({ repo: { url: "/x" }, gate: { file: "/etc/muster/boot.json" } });
    writeFileSync(config, text);
    const close = await muster(["gate", "close", "--root", fx.root], { env });
    expect(close.code).toBe(2);
    expect(close.stderr).toContain("gate.file: is the boot config itself");
    expect(readFileSync(config, "utf8")).toBe(text);
    expect((await boot(fx)).code).toBe(2);
    expect(readFileSync(config, "utf8")).toBe(text);
  });

  it("a 10 MB repo.url in a --config file: exit 2 with one line, nothing written, the gate closed", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished);
    leftoverGate(fx);
    const configDir = mkdtempSync(path.join(path.dirname(fx.root), "config-"));
    onTestFinished(() => rmSync(configDir, { recursive: true, force: true }));
    const config = path.join(configDir, "boot.json");
    writeFileSync(
      config,
      JSON.stringify({
        gate: { file: GATE_FILE },
        repo: { url: `https://example.com/${"a".repeat(10 * 2 ** 20)}` },
      }),
    );
    const res = await boot(fx, ["--config", config]);
    expect([res.code, res.stderr]).toEqual([
      2,
      `muster: ${config}: repo.url: must be at most 2048 characters long\n`,
    ]);
    expect(existsSync(gateHost(fx))).toBe(false);
    expect(existsSync(path.join(fx.root, "var/log/muster/boot.log"))).toBe(false);
    expect(existsSync(path.join(fx.root, "var/lib/muster/last-run.json"))).toBe(false);
  });

  it("boot.log has each key once on every line (run.start's mode too)", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished);
    expect((await boot(fx)).code).toBe(0);
    const text = readFileSync(path.join(fx.root, "var/log/muster/boot.log"), "utf8");
    const start = text.split("\n").find((l) => l.includes('"event":"run.start"'));
    expect(rawTopLevelKeys(start!)).toContain("mode");
    expect(duplicatedKeys(text)).toEqual([]);
  });

  it("a boot config that cannot be read (a directory) is bad input, and the gate is closed", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished);
    const defaultGate = path.join(fx.root, "var/lib/muster/gate.json");
    mkdirSync(path.dirname(defaultGate), { recursive: true });
    writeFileSync(defaultGate, "{}");
    rmSync(path.join(fx.root, "etc/muster/boot.json"));
    mkdirSync(path.join(fx.root, "etc/muster/boot.json"));
    const res = await boot(fx);
    expect([res.code, res.stderr]).toEqual([2, "muster: /etc/muster/boot.json: a directory, not a file\n"]);
    expect(existsSync(defaultGate)).toBe(false);
  });

  it("a stale gate from another boot reads closed: gate status 3, HTTP 503", async ({ onTestFinished }) => {
    const fx = await setup(onTestFinished);
    expect((await boot(fx)).code).toBe(0);
    const other = { MUSTER_BOOT_ID: "a-later-boot" };
    const status = await muster(["gate", "status", "--root", fx.root, "--json"], { env: other });
    expect(status.code).toBe(3);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: "stale", record: { bootId: BOOT_ID } });
    for (const [bootId, want] of [
      ["a-later-boot", 503],
      [BOOT_ID, 200],
    ] as const) {
      const { url, stop } = await healthServe(fx.root, bootId);
      try {
        const res = await fetch(url);
        expect(res.status).toBe(want);
      } finally {
        await stop();
      }
    }
  });

  it("periodic re-converge: a failure keeps serving, no lifecycle call, status names the stage", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished);
    expect((await boot(fx)).code).toBe(0);
    const calls = fx.asg.calls.length;
    const config = fx.baseConfig();
    config.attributes.app.repo = "/nonexistent/app.git";
    fx.writeConfig(config);
    const res = await boot(fx, ["--periodic"]);
    expect(res.code).toBe(1);
    expect(existsSync(gateHost(fx))).toBe(true);
    expect((await muster(["gate", "status", "--root", fx.root], { env })).code).toBe(0);
    expect(fx.asg.calls.length).toBe(calls);
    expect((await muster(["status", "--root", fx.root], { env })).stdout).toContain(
      "FAILED at stage converge",
    );
    // configured to close the gate on failure, it does
    config.periodic = { closeGateOnFailure: true };
    fx.writeConfig(config);
    expect((await boot(fx, ["--periodic"])).code).toBe(1);
    expect(existsSync(gateHost(fx))).toBe(false);
  });

  it("attack: a gate record forged in the web root names another config commit: the periodic run re-applies the commit the boot opened on", async ({
    onTestFinished,
  }) => {
    await branchWith(repos.configBare, "pin-attack", async () => {});
    const fx = await setup(onTestFinished, (c) => {
      c.repo.ref = "pin-attack";
    });
    expect((await boot(fx)).code).toBe(0);
    const openedOn = (JSON.parse(readFileSync(gateHost(fx), "utf8")) as { configRevision: string })
      .configRevision;
    // the branch moves on (a periodic run must not follow it), and the web root's owner, who can
    // read the boot id, rewrites the gate to name another commit of the repository
    await commitTo(repos.configBare, { "later.txt": "later\n" }, "later", "pin-attack");
    const other = await headOf(repos.configBare);
    expect(other).not.toBe(openedOn);
    const forged = { ...JSON.parse(readFileSync(gateHost(fx), "utf8")), configRevision: other };
    writeFileSync(gateHost(fx), JSON.stringify(forged));
    const res = await boot(fx, ["--periodic", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as BootRecord).configRevision).toBe(openedOn);
  });

  it("image prepare removes the gate, the state, the logs and the configured paths, printing each", async ({
    onTestFinished,
  }) => {
    const fx = await setup(onTestFinished, (c) => {
      c.image = { clean: ["/srv/app"] };
    });
    expect((await boot(fx)).code).toBe(0);
    const dry = await muster(["image", "prepare", "--root", fx.root, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would remove ${GATE_FILE}`);
    expect(existsSync(gateHost(fx))).toBe(true);
    const res = await muster(["image", "prepare", "--root", fx.root]);
    expect(res.code, res.stderr).toBe(0);
    for (const p of [
      GATE_FILE,
      "/var/lib/muster/config",
      "/var/lib/muster/last-run.json",
      "/var/lib/muster/last-converge.json",
      "/var/log/muster/boot.log",
      "/var/log/muster/converge.log",
      "/srv/app",
    ]) {
      expect(res.stdout).toContain(`removed ${p}\n`);
      expect(existsSync(path.join(fx.root, p)), p).toBe(false);
    }
    expect((await muster(["status", "--root", fx.root])).stdout).toContain("no run recorded");
    // a damaged record is said so, not taken for no run at all
    mkdirSync(path.join(fx.root, "var/lib/muster"), { recursive: true });
    writeFileSync(path.join(fx.root, "var/lib/muster/last-run.json"), '{"runId": "x"}');
    const partial = await muster(["status", "--root", fx.root]);
    expect([partial.code, partial.stdout]).toEqual([
      1,
      `muster status: the last run's record is damaged: /var/lib/muster/last-run.json has no outcome, mode, startedAt, stages (under ${fx.root}); the next boot writes it anew\n`,
    ]);
    writeFileSync(path.join(fx.root, "var/lib/muster/last-run.json"), '{"runId": ');
    expect((await muster(["status", "--root", fx.root])).stdout).toContain(
      "/var/lib/muster/last-run.json is not valid JSON",
    );
  });
});

/** `muster health serve` on a free loopback port; its URL once it listens, and a stop function. */
async function healthServe(root: string, bootId: string): Promise<{ url: string; stop(): Promise<void> }> {
  const { spawn } = await import("node:child_process");
  const { BIN } = await import("../test-support/tmp.ts");
  const child = spawn(
    process.execPath,
    [BIN, "health", "serve", "--root", root, "--port", "0", "--host", "127.0.0.1"],
    {
      env: { ...process.env, MUSTER_BOOT_ID: bootId },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /serving (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`health serve exited ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((r) => {
        child.once("exit", () => r());
        child.kill("SIGTERM");
      }),
  };
}
