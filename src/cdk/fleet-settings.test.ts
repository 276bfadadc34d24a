import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { parseBootConfig } from "../boot/boot-config.ts";
import { PINNED_NODE } from "../boot/user-data.ts";
import {
  type BootConfigInput,
  checkGroupName,
  checkReleaseDigest,
  checkRoleSecurityGroupName,
  FleetPropsError,
  fleetBootConfig,
  gateHealthCheck,
  healthCheckGraceSeconds,
  instanceRefreshCommand,
  instanceRefreshPreferences,
  launchHeartbeatTimeout,
  needsMetadataTags,
  platformDefaults,
  roleSourceString,
} from "./fleet-settings.ts";
import { fleetUserData } from "./fleet-user-data.ts";

const input: BootConfigInput = {
  repoUrl: "git@git.example.test:ops/config.git",
  repoRef: "v7",
  deployKey: true,
  knownHosts: true,
  role: { name: "web" },
  gate: { httpPort: 8099 },
  groupName: "Prod-Web-1234",
};

describe("the fleet's boot config", () => {
  it("is one muster's boot accepts, naming the launch hook and the group", () => {
    const cfg = parseBootConfig(fleetBootConfig(input), "test");
    expect(cfg.lifecycle).toMatchObject({
      hook: "muster-launch",
      group: "Prod-Web-1234",
      onFailure: "abandon",
    });
    expect(cfg.repo).toMatchObject({ ref: "v7", sshKey: "/etc/muster/deploy_key" });
    expect(cfg.gate.http).toMatchObject({ port: 8099, path: "/health" });
    expect(cfg.role.source).toEqual({ kind: "security-groups" });
  });

  it("refuses a repository URL with a token, which the user data would show to every process", () => {
    expect(() =>
      fleetBootConfig({ ...input, repoUrl: "https://x-token:s3cret@git.example.test/c.git" }),
    ).toThrow(/repository\.url holds credentials/);
  });

  it("refuses a deploy key without host keys, and what the boot itself would refuse", () => {
    expect(() => fleetBootConfig({ ...input, knownHosts: false })).toThrow(/needs repository.knownHosts/);
    expect(() => fleetBootConfig({ ...input, gate: { httpPort: 70000 } })).toThrow(FleetPropsError);
    expect(() => fleetBootConfig({ ...input, repoUrl: "http://git.example.test/c.git" })).toThrow(
      /repo\.url: plain http/,
    );
  });

  it("reads the role from where the props say", () => {
    expect(roleSourceString({ name: "web", source: "tag" })).toBe("tag:Role");
    expect(roleSourceString({ name: "web", source: "tag", tagKey: "muster-role" })).toBe("tag:muster-role");
    expect(roleSourceString({ name: "web", source: "static" })).toBe("static:web");
    expect(needsMetadataTags({ name: "web", source: "tag" })).toBe(true);
    expect(needsMetadataTags({ name: "web", source: "autoscaling-group" })).toBe(true);
    expect(needsMetadataTags({ name: "web" })).toBe(false);
  });

  it("checks names AWS would refuse at deploy time", () => {
    expect(() => checkGroupName("a b")).toThrow(/groupName "a b"/);
    expect(checkGroupName("Prod-Web_1.x")).toBe("Prod-Web_1.x");
    expect(() => checkRoleSecurityGroupName("sg-web")).toThrow(/not starting with "sg-"/);
    expect(checkRoleSecurityGroupName("web")).toBe("web");
  });
});

describe("the launch hook and the health check", () => {
  it("waits for the whole boot plus the margin, within AWS's 30..7200 s", () => {
    expect(launchHeartbeatTimeout(1800, 600)).toBe(2400);
    expect(launchHeartbeatTimeout(5, 0)).toBe(30);
    expect(launchHeartbeatTimeout(6600, 600)).toBe(7200);
    expect(() => launchHeartbeatTimeout(6601, 600)).toThrow(/longest heartbeat timeout AWS allows/);
  });

  it("checks the gate: muster's port, or the web server's gate file on the traffic port", () => {
    expect(gateHealthCheck({ httpPort: 8099 })).toMatchObject({
      path: "/health",
      port: "8099",
      matcher: "200",
    });
    expect(gateHealthCheck({ file: "/var/www/html/ping.html", path: "/ping.html" })).toMatchObject({
      path: "/ping.html",
      port: "traffic-port",
    });
  });

  it("gives a new instance the grace of the checks that make it healthy", () => {
    const check = gateHealthCheck({ httpPort: 8099 });
    const grace = healthCheckGraceSeconds(check);
    expect(grace).toBeGreaterThanOrEqual(
      check.healthyThreshold * check.intervalSeconds + check.timeoutSeconds,
    );
    expect(grace).toBeLessThan(launchHeartbeatTimeout(1800, 600));
  });
});

describe("the fleet's user data", () => {
  const settings = {
    bootConfig: fleetBootConfig(input),
    muster: { kind: "package" as const, spec: "muster-fleet@1.2.3", sha512: "c".repeat(128) },
    node: PINNED_NODE,
    platform: "debian" as const,
    health: true,
    region: "eu-west-1",
    deployKey: { kind: "secret" as const, secretId: "arn:aws:secretsmanager:eu-west-1:1:secret:key-AbCdEf" },
    knownHosts: "git.example.test ssh-ed25519 AAAAC3",
  };

  it("is muster's cloud-config, fetching the deploy key first, 0600 from birth", () => {
    const text = fleetUserData(settings);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = YAML.parse(text);
    expect(doc.runcmd[0]).toBe("set -e"); // a failed fetch stops every step after it
    const first = doc.runcmd[1].join(" ");
    expect(first).toContain("umask 077");
    expect(first).toContain("aws secretsmanager get-secret-value --region eu-west-1 --secret-id arn:");
    expect(first).toMatch(/> \/etc\/muster\/deploy_key\.new\n.*mv -f \/etc\/muster\/deploy_key\.new/s);
    expect(doc.runcmd.at(-1)).toEqual([
      "systemctl",
      "start",
      "--no-block",
      "muster-boot.service",
      "muster-watch.service",
    ]);
    expect(doc.write_files.map((f: { path: string }) => f.path)).toEqual([
      "/etc/muster/boot.json",
      "/etc/muster/known_hosts",
    ]);
    expect(JSON.parse(doc.write_files[0].content).repo.ref).toBe("v7");
  });

  it("reads an SSM parameter decrypted, and is muster's text alone without a key", () => {
    const ssm = fleetUserData({
      ...settings,
      deployKey: { kind: "parameter", parameterName: "/ops/deploy-key" },
    });
    expect(YAML.parse(ssm).runcmd[1].join(" ")).toContain(
      "aws ssm get-parameter --region eu-west-1 --name /ops/deploy-key --with-decryption",
    );
    const plain = fleetUserData({ ...settings, deployKey: undefined, knownHosts: undefined });
    expect(plain).not.toContain("deploy_key.new");
    expect(YAML.parse(plain).runcmd[1].join(" ")).toContain("nodejs.org");
  });
});

describe("the platform", () => {
  it("Amazon Linux 2023 by default (dnf, /dev/xvda); Ubuntu takes Debian's steps, /dev/sda1 and Canonical's image", () => {
    expect(platformDefaults(undefined)).toEqual({ userData: "al2023", rootDevice: "/dev/xvda" });
    const ubuntu = platformDefaults("ubuntu");
    expect(ubuntu.userData).toBe("debian");
    expect(ubuntu.rootDevice).toBe("/dev/sda1");
    expect(ubuntu.ssmImageParameter?.("arm64")).toBe(
      "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id",
    );
    expect(() => platformDefaults("centos" as never)).toThrow(
      'MusterFleet: platform "centos": use "al2023" or "ubuntu"',
    );
  });
});

describe("a release archive's digest", () => {
  const sum = "d".repeat(64);
  it("is the file's own; its .sha256 beside it must agree", () => {
    expect(checkReleaseDigest("r/m.tgz", sum, undefined)).toBe(sum);
    expect(checkReleaseDigest("r/m.tgz", sum, `${sum}  m.tgz\n`)).toBe(sum);
    expect(() => checkReleaseDigest("r/m.tgz", sum, `${"e".repeat(64)}  m.tgz\n`)).toThrow(
      /muster archive r\/m.tgz: its SHA-256 is d+, but r\/m.tgz.sha256 says e+; the archive was changed/,
    );
    expect(() => checkReleaseDigest("r/m.tgz", sum, "garbage")).toThrow(
      /r\/m.tgz.sha256: not a sha256sum line/,
    );
  });
});

describe("the instance refresh", () => {
  it("defaults to the rehearsed rollout: checkpoints at 50 and 100, auto rollback, warmup = grace", () => {
    expect(instanceRefreshPreferences(undefined, 35)).toEqual({
      MinHealthyPercentage: 90,
      InstanceWarmup: 35,
      CheckpointPercentages: [50, 100],
      CheckpointDelay: 600,
      SkipMatching: true,
      AutoRollback: true,
    });
    expect(
      instanceRefreshPreferences(
        { minHealthyPercentage: 50, checkpointPercentages: [], autoRollback: false },
        35,
      ),
    ).toMatchObject({ MinHealthyPercentage: 50, CheckpointPercentages: [], AutoRollback: false });
  });

  it("refuses what AWS would refuse, and checkpoints that leave part of the fleet behind", () => {
    for (const [bad, message] of [
      [{ minHealthyPercentage: 101 }, /minHealthyPercentage 101: give a whole number from 0 to 100/],
      [{ checkpointPercentages: [50, 20, 100] }, /checkpointPercentages \[50, 20, 100\]: give ascending/],
      [{ checkpointPercentages: [50] }, /ending at 100/],
      [{ checkpointDelay: 200000 }, /checkpointDelay 200000/],
      [{ instanceWarmup: -1 }, /instanceWarmup -1/],
    ] as const)
      expect(() => instanceRefreshPreferences(bad, 35)).toThrow(message);
  });

  it("is started with the new version as the desired configuration, so a rollback is possible", () => {
    const prefs = instanceRefreshPreferences(undefined, 35);
    const command = instanceRefreshCommand("web-prod", "lt-0abc", "7", prefs);
    expect(command).toBe(
      `aws autoscaling start-instance-refresh --auto-scaling-group-name web-prod --desired-configuration '{"LaunchTemplate":{"LaunchTemplateId":"lt-0abc","Version":"7"}}' --preferences '${JSON.stringify(prefs)}'`,
    );
  });
});
