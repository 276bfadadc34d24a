/**
 * The Auto Scaling API of a running fleet, judged by an independent client: Debian's AWS CLI
 * (/usr/bin/aws) drives every operator action against the fleet's endpoint and the test reads its
 * JSON, and the fleet's own commands agree with it (desired capacity set through the API shows in
 * `muster fleet status --json`, and `muster fleet scale` shows in the API). The CLI signs with the
 * operator's keys the fleet issued, handed to it by `muster fleet env` (eval'd in a shell: keys
 * through the environment only, never on a command line). One fleet for the file.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { BIN, cleanupTmp, muster, tmpDir } from "../../test-support/tmp.ts";
import type { FleetStatus } from "./controller.ts";
import { testFleetYaml, until } from "./fleet-testing.ts";

const AWS = "/usr/bin/aws";
const HAVE_AWS = existsSync(AWS);

interface AwsResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

let stateDir = "";
let awsHome = "";
/** `muster fleet env`'s output, eval'd by the shell that runs each AWS CLI call */
let fleetEnv = "";

/**
 * A shell's run with an empty AWS configuration of its own (no profile, no metadata service), so
 * that only what `script` sets reaches the CLI; `extra` adds variables.
 */
function shell(script: string, args: string[], extra: Record<string, string> = {}): Promise<AwsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", script, "sh", ...args], {
      env: {
        PATH: "/usr/bin:/bin",
        HOME: awsHome,
        AWS_CONFIG_FILE: path.join(awsHome, "config"),
        AWS_SHARED_CREDENTIALS_FILE: path.join(awsHome, "credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_PAGER: "",
        AWS_MAX_ATTEMPTS: "1",
        ...extra,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      let json: any;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {}
      resolve({ code, stdout, stderr, json });
    });
  });
}

/**
 * Run the AWS CLI against the fleet as its operator: the shell evals `muster fleet env`'s lines
 * (passed in its environment) and the CLI reads the keys, region and endpoint from there.
 */
function aws(args: string[], after = ""): Promise<AwsResult> {
  return shell(
    `eval "$FLEET_ENV"; unset FLEET_ENV; ${after}
exec ${AWS} autoscaling "$@" --endpoint-url "$AWS_ENDPOINT_URL_AUTO_SCALING" --output json`,
    args,
    { FLEET_ENV: fleetEnv },
  );
}

async function status(): Promise<FleetStatus> {
  const r = await muster(["fleet", "status", "--json", "--state-dir", stateDir]);
  return JSON.parse(r.stdout) as FleetStatus;
}

async function group(): Promise<any> {
  const r = await aws(["describe-auto-scaling-groups", "--auto-scaling-group-names", "web"]);
  expect(r.stderr).toBe("");
  return r.json.AutoScalingGroups[0];
}

const stableAt = (n: number) => (s: FleetStatus) =>
  s.group.desired === n &&
  s.instances.filter((i) => i.state === "InService" && i.targetState === "healthy").length === n &&
  s.instances.every((i) => i.state === "InService" || i.state === "Terminated");

describe.skipIf(!HAVE_AWS)(
  `the fleet's Auto Scaling API through the AWS CLI${HAVE_AWS ? "" : " (skipped: /usr/bin/aws is not installed)"}`,
  () => {
    beforeAll(async () => {
      const dir = tmpDir("muster-fleet-api-");
      awsHome = tmpDir("muster-aws-home-");
      stateDir = path.join(dir, "state");
      const file = path.join(dir, "fleet.yaml");
      const doc = testFleetYaml(13, {
        group: {
          min: 1,
          max: 4,
          desired: 2,
          availabilityZones: ["us-east-1a", "us-east-1b"],
          instanceType: "t3.small",
          launchTemplate: { name: "web-template", version: "3" },
        },
        role: { tags: { team: "platform" } },
      });
      writeFileSync(file, YAML.stringify({ ...doc, stateDir: "state" }));
      const up = await muster(["fleet", "up", "--config", file, "--wait", "--timeout", "90"], {
        timeoutMs: 120_000,
      });
      expect(up.stderr).toBe("");
      expect(up.code).toBe(0);
      const env = await muster(["fleet", "env", "--state-dir", stateDir]);
      expect([env.code, env.stderr]).toEqual([0, ""]);
      fleetEnv = env.stdout;
    }, 150_000);

    afterAll(async () => {
      if (stateDir) await muster(["fleet", "down", "--state-dir", stateDir]);
      cleanupTmp();
    }, 60_000);

    it("`muster fleet env` hands the CLI the fleet's operator keys, region and endpoint", async () => {
      const st = await status();
      const kept = path.join(stateDir, "operator-keys.json");
      // the keys' file: its owner's only
      expect(statSync(kept).mode & 0o777).toBe(0o600);
      const keys = JSON.parse(readFileSync(kept, "utf8")) as { accessKeyId: string; secretAccessKey: string };
      expect(keys.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
      // shell-quoted exports, one a line, and nothing else
      const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
      expect(fleetEnv.trimEnd().split("\n")).toEqual([
        `export AWS_ACCESS_KEY_ID=${q(keys.accessKeyId)}`,
        `export AWS_SECRET_ACCESS_KEY=${q(keys.secretAccessKey)}`,
        "export AWS_REGION='us-east-1'",
        "export AWS_DEFAULT_REGION='us-east-1'",
        `export AWS_ENDPOINT_URL_AUTO_SCALING=${q(st.autoscalingUrl)}`,
        `export MUSTER_AUTOSCALING_URL=${q(st.autoscalingUrl)}`,
        "unset AWS_SESSION_TOKEN AWS_PROFILE",
      ]);
      expect(st.autoscalingUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      // as docs/fleet.md says: eval "$(muster fleet env)", then the CLI with no key on its line;
      // a session token and a profile already in the shell do not ride along
      const asDocumented = await shell(
        `eval "$("$NODE" "$MUSTER" fleet env --state-dir "$STATE_DIR")"
${AWS} autoscaling describe-auto-scaling-groups --endpoint-url "$AWS_ENDPOINT_URL_AUTO_SCALING" --output json`,
        [],
        {
          NODE: process.execPath,
          MUSTER: BIN,
          STATE_DIR: stateDir,
          AWS_SESSION_TOKEN: "a-token-of-another-account",
          AWS_PROFILE: "another-account",
        },
      );
      expect(asDocumented.stderr).toBe("");
      expect(asDocumented.code).toBe(0);
      expect(asDocumented.json.AutoScalingGroups.map((g: any) => g.AutoScalingGroupName)).toEqual(["web"]);

      // keys the fleet did not issue are refused, and a wrong secret does not pass for the right one
      const stranger = await aws(
        ["describe-auto-scaling-groups"],
        'export AWS_ACCESS_KEY_ID=AKIAMUSTERTESTOPER01 AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"',
      );
      expect(stranger.code).not.toBe(0);
      expect(stranger.stderr).toContain("(InvalidClientTokenId)");
      const forged = await aws(
        ["describe-auto-scaling-groups"],
        "export AWS_SECRET_ACCESS_KEY=not-the-secret",
      );
      expect(forged.code).not.toBe(0);
      expect(forged.stderr).toContain("(SignatureDoesNotMatch)");
    });

    it("describes the group, its instances, hooks, tags and warm pool as AWS shapes them", async () => {
      const g = await group();
      expect(g).toMatchObject({
        AutoScalingGroupName: "web",
        MinSize: 1,
        MaxSize: 4,
        DesiredCapacity: 2,
        DefaultCooldown: 300,
        AvailabilityZones: ["us-east-1a", "us-east-1b"],
        HealthCheckType: "ELB",
        HealthCheckGracePeriod: 30,
        LaunchTemplate: { LaunchTemplateName: "web-template", Version: "3" },
        TerminationPolicies: ["OldestInstance"],
      });
      expect(g.AutoScalingGroupARN).toMatch(
        /^arn:aws:autoscaling:us-east-1:\d{12}:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/web$/,
      );
      expect(g.LaunchTemplate.LaunchTemplateId).toMatch(/^lt-[0-9a-f]{17}$/);
      expect(g.TargetGroupARNs).toHaveLength(1);
      expect(g.TargetGroupARNs[0]).toMatch(
        /^arn:aws:elasticloadbalancing:us-east-1:\d{12}:targetgroup\/web\//,
      );
      expect(g.Tags).toContainEqual({
        ResourceId: "web",
        ResourceType: "auto-scaling-group",
        Key: "team",
        Value: "platform",
        PropagateAtLaunch: true,
      });
      // one instance in each zone, InService, with the group's type and template
      expect(g.Instances.map((i: any) => i.AvailabilityZone).sort()).toEqual(["us-east-1a", "us-east-1b"]);
      for (const i of g.Instances)
        expect(i).toMatchObject({
          LifecycleState: "InService",
          HealthStatus: "Healthy",
          InstanceType: "t3.small",
          LaunchTemplate: { LaunchTemplateName: "web-template", Version: "3" },
          ProtectedFromScaleIn: false,
        });

      // pages of one record: the CLI follows NextToken and gets both
      const inst = await aws(["describe-auto-scaling-instances", "--page-size", "1"]);
      expect(inst.stderr).toBe("");
      expect(inst.json.AutoScalingInstances).toHaveLength(2);
      for (const i of inst.json.AutoScalingInstances)
        expect(i).toMatchObject({
          AutoScalingGroupName: "web",
          InstanceType: "t3.small",
          HealthStatus: "HEALTHY",
          LifecycleState: "InService",
          LaunchTemplate: { LaunchTemplateName: "web-template", Version: "3" },
        });
      const firstPage = await aws(["describe-auto-scaling-instances", "--max-items", "1"]);
      expect(firstPage.json.AutoScalingInstances).toHaveLength(1);
      expect(firstPage.json.NextToken).toBeTruthy();

      const hooks = await aws(["describe-lifecycle-hooks", "--auto-scaling-group-name", "web"]);
      expect(hooks.json).toEqual({
        LifecycleHooks: [
          {
            LifecycleHookName: "launch",
            AutoScalingGroupName: "web",
            LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout: 30,
            GlobalTimeout: 3000,
            DefaultResult: "ABANDON",
          },
        ],
      });
      const noGroup = await aws(["describe-lifecycle-hooks", "--auto-scaling-group-name", "nope"]);
      expect(noGroup.code).not.toBe(0);
      expect(noGroup.stderr).toContain("(ValidationError)");
      expect(noGroup.stderr).toContain("AutoScalingGroup name not found");

      const warm = await aws(["describe-warm-pool", "--auto-scaling-group-name", "web"]);
      expect(warm.stderr).toBe("");
      expect(warm.json).toEqual({ Instances: [] });

      const tags = await aws(["describe-tags", "--filters", "Name=key,Values=team"]);
      expect(tags.json.Tags).toEqual([
        {
          ResourceId: "web",
          ResourceType: "auto-scaling-group",
          Key: "team",
          Value: "platform",
          PropagateAtLaunch: true,
        },
      ]);
      const none = await aws(["describe-tags", "--filters", "Name=value,Values=nobody"]);
      expect(none.json.Tags).toEqual([]);

      const acts = await aws(["describe-scaling-activities", "--auto-scaling-group-name", "web"]);
      const launches = acts.json.Activities.filter((a: any) =>
        a.Description.startsWith("Launching a new EC2 instance"),
      );
      expect(launches).toHaveLength(2);
      for (const a of launches) {
        expect(a).toMatchObject({ AutoScalingGroupName: "web", StatusCode: "Successful", Progress: 100 });
        expect(a.Cause).toMatch(/increasing the capacity from 0 to 2\.$/);
        expect(Date.parse(a.EndTime)).toBeGreaterThanOrEqual(Date.parse(a.StartTime));
      }
    });

    it("SetDesiredCapacity and `muster fleet scale` change the same group", async () => {
      const above = await aws([
        "set-desired-capacity",
        "--auto-scaling-group-name",
        "web",
        "--desired-capacity",
        "5",
      ]);
      expect(above.code).not.toBe(0);
      expect(above.stderr).toMatch(
        /\(ValidationError\) when calling the SetDesiredCapacity operation.*: New SetDesiredCapacity value 5 is above max value 4 for the AutoScalingGroup\.$/m,
      );
      const set = await aws([
        "set-desired-capacity",
        "--auto-scaling-group-name",
        "web",
        "--desired-capacity",
        "3",
      ]);
      expect([set.code, set.stderr]).toEqual([0, ""]);
      expect((await status()).group.desired).toBe(3);

      const scale = await muster(["fleet", "scale", "2", "--state-dir", stateDir]);
      expect(scale.stdout).toContain("desired capacity 3 -> 2");
      expect((await group()).DesiredCapacity).toBe(2);
      await until("two instances InService again", async () => stableAt(2)(await status()), 60_000);
    });

    it("SetInstanceHealth replaces an instance; TerminateInstanceInAutoScalingGroup answers its activity", async () => {
      const [victim] = (await group()).Instances.map((i: any) => i.InstanceId);
      const health = await aws([
        "set-instance-health",
        "--instance-id",
        victim,
        "--health-status",
        "Unhealthy",
        "--no-should-respect-grace-period",
      ]);
      expect([health.code, health.stderr]).toEqual([0, ""]);
      const replaced = await until(
        "the unhealthy instance's termination and its replacement",
        async () => {
          const acts = (await aws(["describe-scaling-activities"])).json.Activities as any[];
          const term = acts.find((a) => a.Description === `Terminating EC2 instance: ${victim}`);
          return term?.StatusCode === "Successful" && stableAt(2)(await status()) && { term, acts };
        },
        60_000,
      );
      expect(replaced.term.Cause).toMatch(
        /an instance was taken out of service in response to a user health-check\.$/,
      );
      // the replacement's launch says why it was started, the termination first
      expect(replaced.acts[0].Description).toMatch(/^Launching a new EC2 instance: i-/);

      const unknown = await aws([
        "set-instance-health",
        "--instance-id",
        "i-0123456789abcdef0",
        "--health-status",
        "Healthy",
      ]);
      expect(unknown.stderr).toContain("(ValidationError)");
      expect(unknown.stderr).toContain("No managed instance found for instance ID: i-0123456789abcdef0");

      const [first, second] = (await group()).Instances.map((i: any) => i.InstanceId);
      const term = await aws([
        "terminate-instance-in-auto-scaling-group",
        "--instance-id",
        first,
        "--should-decrement-desired-capacity",
      ]);
      expect(term.stderr).toBe("");
      expect(term.json.Activity).toMatchObject({
        AutoScalingGroupName: "web",
        Description: `Terminating EC2 instance: ${first}`,
      });
      expect(term.json.Activity.Cause).toMatch(
        new RegExp(
          `instance ${first} was taken out of service in response to a user request, shrinking the capacity from 2 to 1\\.$`,
        ),
      );
      expect((await status()).group.desired).toBe(1);
      // at min: AWS refuses to decrement below it
      const atMin = await aws([
        "terminate-instance-in-auto-scaling-group",
        "--instance-id",
        second,
        "--should-decrement-desired-capacity",
      ]);
      expect(atMin.code).not.toBe(0);
      expect(atMin.stderr).toContain("Currently, desiredSize equals minSize (1).");
      expect((await status()).instances.find((i) => i.id === second)?.state).toBe("InService");
    });
  },
);
