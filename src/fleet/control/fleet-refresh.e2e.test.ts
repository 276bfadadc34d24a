/**
 * Instance refresh in a running fleet, with steady traffic: a good config ref rolled out with a
 * checkpoint (every instance on it, no failed request, healthy capacity never under
 * MinHealthyPercentage), a bad one rolled back by itself (the fleet ends on the previous ref, the
 * refresh says why), and a refresh driven through Debian's AWS CLI against the emulator.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitTo } from "../../demo/example-repos.ts";
import { BIN, cleanupTmp, tmpDir } from "../../test-support/tmp.ts";
import { startTraffic } from "../balancing/traffic.ts";
import { FleetController, type FleetStatus } from "./controller.ts";
import { inService, shutdownLeftovers, stable, testFleetConfig, until } from "./fleet-testing.ts";
import { readOperatorKeys } from "./operator-keys.ts";

const AWS = "/usr/bin/aws";
let c: FleetController;
let configGit = "";
const status = (): FleetStatus => c.status();

beforeAll(async () => {
  const cfg = testFleetConfig(59, { group: { healthCheckGracePeriod: 2 } });
  c = await FleetController.start(cfg, { musterBin: BIN });
  configGit = path.join(cfg.stateDir, "repos/config.git");
  await until("two instances InService", () => stable(status(), 2), 60_000);
}, 90_000);

afterAll(async () => {
  if (c) {
    const left = await shutdownLeftovers(c);
    expect(left).toEqual({ reported: [], started: [], found: [] });
  }
  cleanupTmp();
}, 60_000);

/** Sample the healthy InService count while `f` runs; the lowest seen. */
async function lowestHealthyDuring(f: () => Promise<void>): Promise<number> {
  let lowest = Number.POSITIVE_INFINITY;
  const timer = setInterval(() => {
    lowest = Math.min(lowest, inService(status()).length);
  }, 50);
  try {
    await f();
  } finally {
    clearInterval(timer);
  }
  return lowest;
}

const refreshDone = (id: string) => () => {
  const r = c.instanceRefreshes().find((x) => x.id === id);
  return r && !["Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"].includes(r.status)
    ? r
    : undefined;
};

describe("instance refresh", () => {
  it("rolls a good config ref out with a checkpoint: every instance on it, 0 failed requests, capacity kept", async () => {
    const good = await commitTo(configGit, { "files/release.txt": "release 2\n" }, "release 2");
    const traffic = startTraffic(c.lb.url, { clients: 2 });
    let id = "";
    const lowest = await lowestHealthyDuring(async () => {
      const r = await c.startRefresh(good, {
        minHealthyPercentage: 50,
        instanceWarmupMs: 500,
        checkpointPercentages: [50, 100],
        checkpointDelayMs: 1000,
      });
      id = r.id;
      expect(r.commit).toBe(good);
      const end = await until("the refresh to end", refreshDone(id), 120_000);
      expect(end.status).toBe("Successful");
      expect(end.percentageComplete).toBe(100);
      await until("two instances stable", () => stable(status(), 2), 30_000);
    });
    const t = await traffic.stop();
    expect(t.failed, t.failures.join("\n")).toBe(0);
    expect(t.requests).toBeGreaterThan(10);
    expect(lowest).toBeGreaterThanOrEqual(1); // 50% of 2
    const st = status();
    expect(st.group.launchTemplate).toMatchObject({ version: 2, commit: good });
    for (const i of inService(st)) {
      expect(i.boot.configRevision).toBe(good);
      expect(i.configMatches).toBe(true);
    }
    // the checkpoint paused it
    expect(c.eventsAfter(0).some((e) => /Checkpoint 1 of 2 reached at 50%/.test(e.message))).toBe(true);
  }, 180_000);

  it("rolls a bad ref back by itself: the fleet ends on the previous ref and the refresh says why", async () => {
    const before = status().group.launchTemplate.commit;
    const bad = await commitTo(
      configGit,
      { "roles/web.json": JSON.stringify({ name: "web", run_list: ["recipe[no-such-recipe]"] }) },
      "a broken role",
    );
    const traffic = startTraffic(c.lb.url, { clients: 2 });
    let end: Awaited<ReturnType<ReturnType<typeof refreshDone>>>;
    const lowest = await lowestHealthyDuring(async () => {
      const { id } = await c.startRefresh(bad, {
        minHealthyPercentage: 50,
        instanceWarmupMs: 500,
        autoRollback: true,
      });
      end = await until("the rollback to end", refreshDone(id), 150_000);
      await until("two instances stable", () => stable(status(), 2), 60_000);
    });
    const t = await traffic.stop();
    expect(t.failed, t.failures.join("\n")).toBe(0);
    expect(lowest).toBeGreaterThanOrEqual(1);
    expect(end!.status).toBe("RollbackSuccessful");
    expect(end!.rollback?.reason).toMatch(
      /^Automatic rollback: the instance refresh failed: instance i-\w+ failed to launch/,
    );
    const st = status();
    expect(st.group.launchTemplate.commit).toBe(before);
    for (const i of inService(st)) expect(i.boot.configRevision).toBe(before);
    // the bad ref never served: no instance on it ever opened its gate
    expect(st.instances.filter((i) => i.boot.configRevision === bad && i.gate.state === "open")).toEqual([]);
    // and only the canary was launched from it: its replacement came from the previous version,
    // in the step that failed the canary, not after the refresh had failed
    const badVersion = Number(end!.desiredConfiguration?.launchTemplate?.version);
    expect(st.instances.filter((i) => i.launchTemplateVersion === badVersion)).toHaveLength(1);
  }, 240_000);

  it.skipIf(!existsSync(AWS))(
    "is driven through the AWS CLI: start, describe with progress, Successful",
    async () => {
      const keys = readOperatorKeys(c.stateDir)!;
      const home = tmpDir("muster-aws-home-");
      const aws = (args: string[]) =>
        new Promise<{ code: number | null; json: any; stderr: string }>((resolve, reject) => {
          const child = spawn(
            AWS,
            ["autoscaling", ...args, "--endpoint-url", status().autoscalingUrl, "--output", "json"],
            {
              env: {
                PATH: "/usr/bin:/bin",
                HOME: home,
                AWS_ACCESS_KEY_ID: keys.accessKeyId,
                AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
                AWS_DEFAULT_REGION: status().region,
                AWS_CONFIG_FILE: path.join(home, "config"),
                AWS_SHARED_CREDENTIALS_FILE: path.join(home, "credentials"),
                AWS_EC2_METADATA_DISABLED: "true",
                AWS_PAGER: "",
                AWS_MAX_ATTEMPTS: "1",
              },
              stdio: ["ignore", "pipe", "pipe"],
            },
          );
          let out = "";
          let err = "";
          child.stdout.on("data", (d) => (out += d));
          child.stderr.on("data", (d) => (err += d));
          child.on("error", reject);
          child.on("close", (code) =>
            resolve({ code, json: out.trim() ? JSON.parse(out) : undefined, stderr: err }),
          );
        });
      const started = await aws([
        "start-instance-refresh",
        "--auto-scaling-group-name",
        "web",
        "--desired-configuration",
        JSON.stringify({ LaunchTemplate: { LaunchTemplateName: "web", Version: "2" } }),
        "--preferences",
        // a warm-up keeps it running while the second call below starts (the AWS CLI takes a
        // second or more to start; without one the refresh could be over by then on a busy machine)
        JSON.stringify({ MinHealthyPercentage: 50, InstanceWarmup: 5, SkipMatching: false }),
      ]);
      expect(started.stderr).toBe("");
      const id = started.json.InstanceRefreshId as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      // a second one while it runs is refused as AWS refuses it
      const again = await aws(["start-instance-refresh", "--auto-scaling-group-name", "web"]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/InstanceRefreshInProgress/);
      await until("the refresh to end", refreshDone(id), 120_000);
      const d = await aws(["describe-instance-refreshes", "--auto-scaling-group-name", "web"]);
      expect(d.stderr).toBe("");
      expect(d.json.InstanceRefreshes[0]).toMatchObject({
        InstanceRefreshId: id,
        AutoScalingGroupName: "web",
        Status: "Successful",
        PercentageComplete: 100,
        InstancesToUpdate: 0,
        Preferences: { MinHealthyPercentage: 50, InstanceWarmup: 5, SkipMatching: false },
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: "web", Version: "2" } },
      });
      expect(d.json.InstanceRefreshes.map((r: any) => r.Status)).toEqual([
        "Successful",
        "RollbackSuccessful",
        "Successful",
      ]);
      const cancel = await aws(["cancel-instance-refresh", "--auto-scaling-group-name", "web"]);
      expect(cancel.stderr).toMatch(/ActiveInstanceRefreshNotFound/);
    },
    180_000,
  );
});
