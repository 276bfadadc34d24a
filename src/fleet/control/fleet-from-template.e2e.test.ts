/**
 * `muster fleet up --from-template`: a stack with the MusterFleet construct synthesized offline
 * into a temporary directory, rehearsed with a fleet.yaml of its own addresses; and the example
 * app's synthesized template (examples/aws/cdk.out, written by CI) read, when it is there.
 */
import { existsSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { App, Duration, aws_ec2 as ec2, Stack } from "aws-cdk-lib";
import { afterEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { MusterFleet } from "../../cdk/index.ts";
import { cleanupTmp, muster, REPO_ROOT, tmpDir } from "../../test-support/tmp.ts";
import type { FleetStatus } from "./controller.ts";
import { loadFleetConfig } from "./fleet-config.ts";
import { testFleetYaml } from "./fleet-testing.ts";
import { notRehearsedLine } from "./from-template.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f().catch(() => {});
  cleanupTmp();
}, 60_000);

/** The construct's template: min 1, max 2, desired 1, the example config repo's `web` role. */
function synthesize(dir: string): string {
  const app = new App({ outdir: path.join(dir, "cdk.out") });
  const stack = new Stack(app, "Tpl");
  const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, natGateways: 1 });
  const fleet = new MusterFleet(stack, "Web", {
    vpc,
    muster: { kind: "package", spec: "muster-fleet@0.1.0", sha512: "c".repeat(128) },
    instanceType: new ec2.InstanceType("t3.small"),
    machineImage: ec2.MachineImage.genericLinux({ "us-east-1": "ami-0123456789abcdef0" }),
    repository: { url: "https://git.example.test/config.git" },
    role: { name: "web" },
    gate: { httpPort: 8081 },
    minCapacity: 1,
    maxCapacity: 2,
    desiredCapacity: 1,
    retries: { attempts: 2, deadline: 60 },
    hookMargin: Duration.seconds(30),
    terminateHook: { heartbeatTimeout: Duration.minutes(2) },
  });
  fleet.targetGroup.setAttribute("deregistration_delay.timeout_seconds", "3");
  const file = path.join(dir, "Tpl.template.json");
  writeFileSync(file, JSON.stringify(app.synth().getStackByName("Tpl").template, null, 1));
  return file;
}

describe("muster fleet up --from-template", () => {
  it("runs the synthesized group's capacity, hooks and health checks, lists the rest, reaches InService", async () => {
    const dir = tmpDir("muster-fleet-template-");
    const template = synthesize(dir);
    const file = path.join(dir, "fleet.yaml");
    const stateDir = path.join(dir, "state");
    writeFileSync(file, YAML.stringify({ ...testFleetYaml(71), stateDir: "state" }));
    cleanups.push(() => muster(["fleet", "down", "--state-dir", stateDir]));

    const up = await muster(
      ["fleet", "up", "--from-template", template, "--config", file, "--wait", "--timeout", "150"],
      {
        timeoutMs: 200_000,
      },
    );
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/rehearsing WebGroupASG\w+ of /);
    expect(up.stdout).toMatch(
      /the template's values replace fleet.yaml's .*group\.launchHook\.heartbeatTimeout, group\.max/,
    );
    expect(up.stdout).toMatch(/not rehearsed: WebGroupASG\w+\.VPCZoneIdentifier: subnets/);
    expect(up.stdout).toMatch(/not rehearsed: WebGroupASG\w+\.UpdatePolicy: /);
    expect(up.stdout).toMatch(/not rehearsed: WebLaunchTemplate\w+\.LaunchTemplateData\.ImageId: /);
    expect(up.stdout).toContain("1 instance InService");

    const status = await muster(["fleet", "status", "--json", "--state-dir", stateDir]);
    expect(status.code).toBe(0);
    const st = JSON.parse(status.stdout) as FleetStatus;
    expect(st.group).toMatchObject({
      name: expect.stringMatching(/^Tpl-Web-/),
      min: 1,
      max: 2,
      desired: 1,
      healthCheckType: "ELB",
      healthCheckGracePeriodMs: 35_000,
      launchHook: { name: "muster-launch", heartbeatTimeoutMs: 90_000, defaultResult: "ABANDON" },
      terminateHook: { name: "muster-terminate", heartbeatTimeoutMs: 120_000, defaultResult: "CONTINUE" },
    });
    expect(st.targetGroup).toMatchObject({
      healthCheck: {
        path: "/health",
        port: 8081,
        intervalMs: 10_000,
        timeoutMs: 5_000,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
        successCodes: "200",
      },
      deregistrationDelayMs: 3_000,
    });
    expect(st.template?.file).toBe(template);
    const listed = st.template!.notRehearsed.map(notRehearsedLine);
    expect(listed.some((l) => /^not rehearsed: Vpc\w+: AWS::EC2::VPC: networking/.test(l))).toBe(true);
    expect(st.instances.filter((i) => i.state === "InService" && i.targetState === "healthy")).toHaveLength(
      1,
    );

    const down = await muster(["fleet", "down", "--state-dir", stateDir], { timeoutMs: 120_000 });
    expect(down.code).toBe(0);
  }, 300_000);

  it("bad input: a --group the template does not have is one line naming its groups, exit 2", async () => {
    const dir = tmpDir("muster-fleet-template-");
    const template = synthesize(dir);
    const r = await muster([
      "fleet",
      "up",
      "--from-template",
      template,
      "--group",
      "Nope",
      "--state-dir",
      path.join(dir, "s"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /--group Nope: no such Auto Scaling group; the template's groups: WebGroupASG\w+/,
    );
  }, 120_000);

  const example = path.join(REPO_ROOT, "examples/aws/cdk.out/MusterWebFleet.template.json");
  it.runIf(existsSync(example))("reads the example app's synthesized template (examples/aws/cdk.out)", () => {
    const cfg = loadFleetConfig(undefined, REPO_ROOT, tmpDir("muster-fleet-template-"), {
      template: { file: example },
    });
    expect(cfg.group).toMatchObject({
      min: 2,
      max: 6,
      instanceType: "t3.small",
      launchHook: { name: "muster-launch" },
    });
    expect(cfg.instances.healthPort).toBe(8099);
    expect(cfg.loadBalancer.settings.healthCheck).toMatchObject({
      port: 8099,
      path: "/health",
      successCodes: "200",
    });
    expect(cfg.template!.notRehearsed.map(notRehearsedLine).join("\n")).toMatch(
      /NotificationConfigurations: scaling notifications/,
    );
  });
});
