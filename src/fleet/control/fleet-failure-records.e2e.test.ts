/**
 * A failed arrival's evidence outlives the instance: with the git server down a boot gives up
 * at fetch, writes its failure record (console, CloudWatch Logs) and ABANDONs; the group
 * terminates the instance and launches a replacement. Afterwards the record is readable with
 * `muster fleet why`, in `fleet status --json`, in the dead instance's console file, through
 * GetLogEvents on the fleet's CloudWatch Logs, and in DescribeScalingActivities' StatusMessage,
 * each with the stage and the cause.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { AutoScalingClient, DescribeScalingActivitiesCommand } from "@aws-sdk/client-auto-scaling";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, describe, expect, it } from "vitest";
import { parseFailureRecord, recordFromConsole } from "../../boot/failure-record.ts";
import { BIN, cleanupTmp } from "../../test-support/tmp.ts";
import { type ControlServer, controlSocketPath, startControlServer } from "./control.ts";
import { FleetController } from "./controller.ts";
import { daemonInfo, writeInfo } from "./daemon.ts";
import { failureLogGroup } from "./fleet-config.ts";
import { shutdownLeftovers, testFleetConfig, until } from "./fleet-testing.ts";
import { readOperatorKeys } from "./operator-keys.ts";

const run = promisify(execFile);
let c: FleetController | undefined;
let control: ControlServer | undefined;

afterAll(async () => {
  try {
    await control?.close();
    if (c) expect(await shutdownLeftovers(c)).toEqual({ reported: [], started: [], found: [] });
  } finally {
    cleanupTmp();
  }
}, 60_000);

/** `muster fleet ARGS --state-dir STATE`, without blocking the fleet this process runs. */
async function fleetCli(
  stateDir: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, "fleet", ...args, "--state-dir", stateDir], {
      timeout: 30_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("a boot that fails: its record outlives the instance", () => {
  it("is readable after termination with fleet why, status, the console, CloudWatch Logs and the activity", async () => {
    const cfg = testFleetConfig(58, { group: { min: 1, desired: 1, max: 2 } });
    c = await FleetController.start(cfg, { musterBin: BIN });
    await c.fault({ kind: "git-down" });
    control = await startControlServer(c, controlSocketPath(cfg.stateDir), () => {});
    writeInfo(cfg.stateDir, daemonInfo(c, control.socket));
    const first = (await until("the first instance", () => c!.status().instances[0]))!.id;
    const dead = await until(
      "the first instance terminated and replaced",
      () => {
        const st = c!.status();
        const i = st.instances.find((x) => x.id === first);
        return i?.state === "Terminated" && st.instances.some((x) => x.id !== first) ? i : undefined;
      },
      120_000,
    );
    await c.fault({ kind: "git-up" });
    expect(dead.boot.failedStage).toBe("fetch");
    const cause = dead.boot.error!;
    expect(cause).toBeTruthy();

    // fleet status --json: the record, per instance
    const statusJson = await fleetCli(cfg.stateDir, ["status", "--json"]);
    expect(statusJson.code).toBe(0);
    const listed = JSON.parse(statusJson.stdout).instances.find((i: { id: string }) => i.id === first);
    expect(listed.failure).toMatchObject({ instanceId: first, stage: "fetch", cause, attempts: 3 });
    expect(listed.failure.log.length).toBeGreaterThan(0);
    expect(listed.failure.log.join("\n")).toContain("stage.failed");
    // the record's lines reach the very failure it records: the last attempt's failure and the
    // giving up (they were still held by the log's buffer when the record was made)
    expect(listed.failure.log.at(-1)).toContain('"event":"gate.closed"');
    expect(listed.failure.log.join("\n")).toContain('"event":"run.gave-up"');
    expect(listed.failure.log.join("\n")).toMatch(/"attempt":3,.*"event":"stage\.failed"/);

    // fleet why: 0 with the record, 1 for an instance that left none, 2 for one that never was
    const why = await fleetCli(cfg.stateDir, ["why", first]);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`${first} (Terminated`);
    expect(why.stdout).toContain("boot failed at stage fetch");
    expect(why.stdout).toContain(`cause:    ${cause}`);
    const replacement = c.status().instances.find((i) => i.id !== first)!;
    const none = await fleetCli(cfg.stateDir, ["why", replacement.id]);
    expect([none.code, none.stdout]).toEqual([1, expect.stringContaining("no boot failure record")]);
    const unknown = await fleetCli(cfg.stateDir, ["why", "99"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no such instance");

    // the console the instance wrote to, read as its console output after it is gone
    const consoleText = readFileSync(path.join(cfg.stateDir, "instances", first, "root/dev/console"), "utf8");
    expect(consoleText).toMatch(/^muster: boot failed: \{/m);
    expect(recordFromConsole(consoleText)).toMatchObject({ instanceId: first, stage: "fetch", cause });

    // CloudWatch Logs, through the official client with the operator's keys
    const keys = readOperatorKeys(cfg.stateDir)!;
    const st = c.status();
    const logs = new CloudWatchLogsClient({ region: st.region, endpoint: st.logsUrl, credentials: keys });
    const got = await logs.send(
      new GetLogEventsCommand({ logGroupName: failureLogGroup(cfg.group.name), logStreamName: first }),
    );
    logs.destroy();
    expect(got.events).toHaveLength(1);
    expect(parseFailureRecord(got.events![0]!.message!)).toMatchObject({ stage: "fetch", cause });

    // the launch's scaling activity names the record
    const asg = new AutoScalingClient({ region: st.region, endpoint: st.autoscalingUrl, credentials: keys });
    const acts = await asg.send(
      new DescribeScalingActivitiesCommand({ AutoScalingGroupName: cfg.group.name }),
    );
    asg.destroy();
    const launch = acts.Activities?.find((a) => a.Description === `Launching a new EC2 instance: ${first}`);
    expect(launch?.StatusCode).toBe("Cancelled");
    expect(launch?.StatusMessage).toContain("boot failed at stage fetch after 3 attempts");
    expect(launch?.StatusMessage).toContain(cause);
  }, 240_000);
});
