/**
 * The construct's template, synthesized offline (an environment-agnostic stack): two stacks, the
 * classic security-group setup and a tag-role one, synthesized once for every check below.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { App, Duration, aws_ec2 as ec2, Stack, aws_secretsmanager as sm, aws_ssm as ssm } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { MusterFleet, type MusterFleetProps } from "./index.ts";

afterAll(cleanupTmp);

interface Synth {
  template: Template;
  fleet: MusterFleet;
  app: App;
}

/** a release archive the servers install muster from, with its digest */
const MUSTER_SOURCE = {
  kind: "release" as const,
  archives: {
    x64: { url: "https://downloads.example.test/muster-fleet-0.1.0-linux-x64.tgz", sha256: "a".repeat(64) },
  },
};

function synth(
  props: (
    stack: Stack,
  ) => Omit<MusterFleetProps, "vpc" | "instanceType" | "machineImage" | "muster"> &
    Partial<Pick<MusterFleetProps, "instanceType" | "machineImage" | "muster">>,
): Synth {
  // synthesized under this test's own directory: the default is a new cdk.outXXXX in the
  // machine's temporary directory per synthesis, never removed
  const app = new App({ outdir: tmpDir("cdk-out-") });
  const stack = new Stack(app, "Prod");
  const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2 });
  const fleet = new MusterFleet(stack, "Web", {
    vpc,
    instanceType: new ec2.InstanceType("t3.small"),
    machineImage: ec2.MachineImage.genericLinux({ "eu-west-1": "ami-0123456789abcdef0" }),
    muster: MUSTER_SOURCE,
    ...props(stack),
  });
  return { template: Template.fromStack(stack), fleet, app };
}

function userDataText(template: Template): string {
  const lt = Object.values(template.findResources("AWS::EC2::LaunchTemplate"))[0]!;
  const data = lt.Properties.LaunchTemplateData.UserData["Fn::Base64"];
  // a plain string when nothing in it is known only at deploy
  const parts = (typeof data === "string" ? [data] : data["Fn::Join"][1]) as unknown[];
  return parts.map((p) => (typeof p === "string" ? p : `<${JSON.stringify(p)}>`)).join("");
}

function inlineStatements(template: Template): any[] {
  const role = Object.values(template.findResources("AWS::IAM::Role"))[0]!;
  return role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
}

let classic: Synth;
let tagged: Synth;
beforeAll(() => {
  classic = synth((stack) => ({
    repository: {
      url: "git@git.example.test:ops/config.git",
      ref: "release-1",
      deployKey: { secret: new sm.Secret(stack, "DeployKey") },
      knownHosts: "git.example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
    },
    role: { name: "web" },
    gate: { httpPort: 8099 },
    minCapacity: 2,
    maxCapacity: 6,
    retries: { deadline: 1200 },
    terminateHook: { heartbeatTimeout: Duration.minutes(5) },
  }));
  tagged = synth((stack) => ({
    repository: {
      url: "git@git.example.test:ops/config.git",
      ref: "release-2",
      deployKey: {
        parameter: ssm.StringParameter.fromSecureStringParameterAttributes(stack, "Key", {
          parameterName: "/ops/deploy-key",
        }),
      },
      knownHosts: "git.example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
    },
    role: { name: "api", source: "tag", tagKey: "muster-role" },
    gate: { file: "/var/www/html/ping.html", path: "/ping.html" },
    trafficPort: 8080,
    minCapacity: 1,
    maxCapacity: 2,
    metadataHopLimit: 2,
  }));
});

describe("the launch hook", () => {
  it("is in the group's own hook list, ABANDON by default, outlasting the boot's deadline", () => {
    classic.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    classic.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      LifecycleHookSpecificationList: [
        {
          LifecycleHookName: "muster-launch",
          LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          DefaultResult: "ABANDON",
          HeartbeatTimeout: 1200 + 600,
        },
        {
          LifecycleHookName: "muster-terminate",
          LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
          DefaultResult: "CONTINUE",
          HeartbeatTimeout: 300,
        },
      ],
    });
    expect(classic.fleet.launchHookTimeout).toBe(1800);
    // the default deadline (1800 s) with the default margin; no terminate hook unless asked
    tagged.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      LifecycleHookSpecificationList: [
        Match.objectLike({ HeartbeatTimeout: 2400, DefaultResult: "ABANDON" }),
      ],
    });
  });

  it("is the hook the boot config names, with the group's fixed name", () => {
    const group = Object.values(classic.template.findResources("AWS::AutoScaling::AutoScalingGroup"))[0]!;
    expect(group.Properties.AutoScalingGroupName).toBe(classic.fleet.groupName);
    expect(classic.fleet.groupName).toMatch(/^Prod-Web-[0-9A-F]{8}$/);
    const text = userDataText(classic.template);
    expect(text).toContain('"hook": "muster-launch"');
    expect(text).toContain(`"group": "${classic.fleet.groupName}"`);
    expect(text).toContain('"deadline": 1200');
  });
});

describe("the launch template", () => {
  it("requires IMDSv2 with hop limit 1, and keeps tags out of metadata when the role needs none", () => {
    classic.template.resourceCountIs("AWS::AutoScaling::LaunchConfiguration", 0);
    classic.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: {
          HttpEndpoint: "enabled",
          HttpTokens: "required",
          HttpPutResponseHopLimit: 1,
          InstanceMetadataTags: "disabled",
        },
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
      }),
    });
  });

  it("enables metadata tags for a tag role, tags launched instances with it, takes the hop limit asked for", () => {
    tagged.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({
          HttpTokens: "required",
          HttpPutResponseHopLimit: 2,
          InstanceMetadataTags: "enabled",
        }),
      }),
    });
    tagged.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      Tags: Match.arrayWith([{ Key: "muster-role", Value: "api", PropagateAtLaunch: true }]),
    });
    expect(userDataText(tagged.template)).toContain('"role": "tag:muster-role"');
  });

  it("carries muster's user data; the ref is in it, so a new ref is a new template version the group uses", () => {
    const one = userDataText(classic.template);
    const two = userDataText(tagged.template);
    expect(one.startsWith("#cloud-config\n")).toBe(true);
    expect(one).toContain('"ref": "release-1"');
    expect(two).toContain('"ref": "release-2"');
    // muster from the release archive it was given, checked against its SHA-256 before npm sees it
    expect(one).toContain(MUSTER_SOURCE.archives.x64.url);
    expect(one).toContain("sha256sum -c");
    expect(one).toMatch(/npm install --global --offline/);
    expect(one).toContain("muster-health.service"); // gate.http: muster serves the gate
    expect(two).not.toContain("muster-health.service");
    classic.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      LaunchTemplate: { Version: { "Fn::GetAtt": [Match.anyValue(), "LatestVersionNumber"] } },
    });
    // no update policy unless asked: an instance refresh replaces the servers (docs/aws.md)
    const group = Object.values(classic.template.findResources("AWS::AutoScaling::AutoScalingGroup"))[0]!;
    expect(group.UpdatePolicy?.AutoScalingRollingUpdate).toBeUndefined();
    expect(group.UpdatePolicy?.AutoScalingReplacingUpdate).toBeUndefined();
  });

  it("fetches the deploy key at launch and never holds it", () => {
    const text = userDataText(classic.template);
    expect(text).toMatch(
      /aws secretsmanager get-secret-value --region <\{"Ref":"AWS::Region"\}> --secret-id <\{"Ref":"DeployKey\w+"\}>/,
    );
    expect(userDataText(tagged.template)).toContain("aws ssm get-parameter --region");
    expect(text).toContain('"sshKey": "/etc/muster/deploy_key"');
  });
});

describe("health checks", () => {
  it("are ELB checks with a grace period that starts after the hook", () => {
    classic.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      HealthCheckType: "ELB",
      HealthCheckGracePeriod: 35,
      MinSize: "2",
      MaxSize: "6",
      DesiredCapacity: Match.absent(),
      TargetGroupARNs: [{ Ref: Match.stringLikeRegexp("WebTargetGroup") }],
    });
  });

  it("check the gate: muster's port and path, or the gate file on the traffic port; 200 only", () => {
    classic.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 80,
      HealthCheckPath: "/health",
      HealthCheckPort: "8099",
      HealthCheckProtocol: "HTTP",
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: "200" },
    });
    tagged.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 8080,
      HealthCheckPath: "/ping.html",
      HealthCheckPort: "traffic-port",
      Matcher: { HttpCode: "200" },
    });
  });
});

describe("the instance role", () => {
  it("may complete and heartbeat this group's lifecycle actions and read its deploy key, nothing else", () => {
    classic.template.resourceCountIs("AWS::IAM::Policy", 0); // all inline: no policy created after the group
    const statements = inlineStatements(classic.template);
    expect(statements).toHaveLength(2);
    const [lifecycle, key] = statements;
    expect(lifecycle.Action).toEqual([
      "autoscaling:CompleteLifecycleAction",
      "autoscaling:RecordLifecycleActionHeartbeat",
    ]);
    expect(lifecycle.Resource).toEqual({
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          ":autoscaling:",
          { Ref: "AWS::Region" },
          ":",
          { Ref: "AWS::AccountId" },
          `:autoScalingGroup:*:autoScalingGroupName/${classic.fleet.groupName}`,
        ],
      ],
    });
    expect(key).toMatchObject({
      Action: "secretsmanager:GetSecretValue",
      Resource: { Ref: expect.stringMatching(/^DeployKey/) },
    });
    for (const s of [...statements, ...inlineStatements(tagged.template)]) expect(s.Resource).not.toBe("*");
    const [, parameter] = inlineStatements(tagged.template);
    expect(parameter.Action).toBe("ssm:GetParameter");
    expect(JSON.stringify(parameter.Resource)).toContain(":parameter/ops/deploy-key");
  });

  it("may read a deploy key secret imported by name: its ARN in the policy matches the secret's real one", () => {
    const byName = synth((stack) => ({
      ...plainProps,
      repository: {
        url: "git@git.example.test:ops/config.git",
        deployKey: { secret: sm.Secret.fromSecretNameV2(stack, "Key", "ops/deploy-key") },
        knownHosts: "git.example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
      },
    }));
    const key = inlineStatements(byName.template).find((st) => st.Sid === "MusterDeployKey");
    // AWS names every secret NAME-xxxxxx: without the wildcard the statement matches no secret
    expect(JSON.stringify(key.Resource)).toMatch(/:secret:ops\/deploy-key-\?\?\?\?\?\?"/);
    // and the user data asks for it by its name, which finds it whatever its suffix
    expect(userDataText(byName.template)).toContain("--secret-id ops/deploy-key --query SecretString");
  });
});

describe("the terminate hook", () => {
  it("is named in the servers' boot config, so muster watch completes it once the server has departed", () => {
    expect(userDataText(classic.template)).toContain('"terminateHook": "muster-terminate"');
    classic.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      LifecycleHookSpecificationList: Match.arrayWith([
        Match.objectLike({ LifecycleHookName: "muster-terminate" }),
      ]),
    });
    // a group without one: nothing to complete
    expect(userDataText(tagged.template)).not.toContain("terminateHook");
  });
});

describe("security groups", () => {
  it("are named for the role when the role comes from security groups, and only then", () => {
    classic.template.hasResourceProperties("AWS::EC2::SecurityGroup", { GroupName: "web" });
    const sg = Object.values(tagged.template.findResources("AWS::EC2::SecurityGroup"))[0]!;
    expect(sg.Properties.GroupName).toBeUndefined();
  });
});

describe("props the construct refuses", () => {
  const plain = {
    repository: { url: "https://git.example.test/config.git" },
    role: { name: "web" },
    gate: { httpPort: 8099 },
    minCapacity: 1,
    maxCapacity: 1,
  };

  it("a token in the repository URL, and a deadline no hook can wait for", () => {
    const withToken = { url: "https://x-token:s3cret@git.example.test/config.git" };
    expect(() => synth(() => ({ ...plain, repository: withToken }))).toThrow(
      /MusterFleet: repository.url holds credentials/,
    );
    expect(() => synth(() => ({ ...plain, retries: { deadline: 7000 } }))).toThrow(
      /longest heartbeat timeout AWS allows/,
    );
    expect(() => synth(() => plain)).not.toThrow();
  });
});

const plainProps = {
  repository: { url: "https://git.example.test/config.git" },
  role: { name: "web" },
  gate: { httpPort: 8099 },
  minCapacity: 1,
  maxCapacity: 2,
};

describe("muster's release archive as a CDK asset", () => {
  /** a release archive and its .sha256, as `npm run release` writes them */
  function release(sha256File?: (sum: string) => string) {
    const dir = tmpDir("muster-release-");
    const file = path.join(dir, "muster-fleet-0.1.0-linux-x64.tgz");
    const bytes = Buffer.from("not really a tarball, but bytes with a digest\n");
    writeFileSync(file, bytes);
    const sum = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(
      `${file}.sha256`,
      sha256File ? sha256File(sum) : `${sum}  muster-fleet-0.1.0-linux-x64.tgz\n`,
    );
    return { file, sum, bytes };
  }

  it("is uploaded as a file asset, readable by the instance role (that object only), fetched and checked by the user data", () => {
    const { file, sum, bytes } = release();
    const { template, app } = synth(() => ({
      ...plainProps,
      muster: { kind: "asset", archives: { x64: file } },
    }));

    // in the cloud assembly: the file itself, uploaded as is
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(path.join(assembly.directory, "Prod.assets.json"), "utf8"));
    const [hash, entry] = Object.entries<any>(manifest.files).find(([, f]) =>
      f.source.path.endsWith(".tgz"),
    )!;
    expect(entry.source.packaging).toBe("file");
    expect(readFileSync(path.join(assembly.directory, entry.source.path))).toEqual(bytes);
    const key = `${hash}.tgz`;
    expect((Object.values(entry.destinations)[0] as any).objectKey).toBe(key);

    // the role: s3:GetObject on that object's ARN, nothing wider
    const statement = inlineStatements(template).find((st) => st.Sid === "MusterRelease");
    expect(statement.Action).toBe("s3:GetObject");
    const arn = JSON.stringify(statement.Resource);
    expect(arn).toContain(":s3:::");
    expect(arn).toContain(`/${key}`);
    expect(arn).not.toContain("*");
    for (const st of inlineStatements(template))
      expect(JSON.stringify(st.Resource)).not.toMatch(/\/\*"|"\*"/);

    // the user data: the bucket and key, the digest computed at synth, the AWS CLI's copy, the check
    const text = userDataText(template);
    expect(text).toMatch(
      /x86_64\) bucket='?<\{"Fn::Sub":"cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}"\}>'? /,
    );
    expect(text).toContain(`key=${key} sum=${sum} ;;`);
    expect(text).toContain("aws s3 cp --only-show-errors --region");
    expect(text).toContain("sha256sum -c");
    expect(text).not.toContain("curl"); // Amazon Linux: Node.js from dnf, muster from S3
  });

  it("refuses an archive its .sha256 disagrees with, and a file that is not there", () => {
    const { file } = release(() => `${"0".repeat(64)}  muster-fleet-0.1.0-linux-x64.tgz\n`);
    expect(() =>
      synth(() => ({ ...plainProps, muster: { kind: "asset", archives: { x64: file } } })),
    ).toThrow(
      /MusterFleet: muster archive .*muster-fleet-0.1.0-linux-x64.tgz: its SHA-256 is [0-9a-f]{64}, but .*\.sha256 says 0{64}/,
    );
    expect(() =>
      synth(() => ({ ...plainProps, muster: { kind: "asset", archives: { x64: `${file}.missing` } } })),
    ).toThrow(/MusterFleet: muster.archives.x64 .*\.missing: no such file; run npm run release/);
  });
});

describe("the platform", () => {
  function imageParameter(template: Template): string {
    const params = Object.values(template.toJSON().Parameters ?? {}) as any[];
    const image = params.find((p) => p.Type === "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>");
    return image?.Default;
  }

  it("Amazon Linux 2023 by default: its latest image from SSM at deploy (offline synth), Node.js from dnf, /dev/xvda", () => {
    const { template } = synth(() => ({ ...plainProps, machineImage: undefined }));
    expect(imageParameter(template)).toBe(
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
    );
    const text = userDataText(template);
    expect(text).toContain("dnf install -y nodejs20 nodejs20-npm git");
    expect(text).not.toContain("nodejs.org");
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [Match.objectLike({ DeviceName: "/dev/xvda" })],
      }),
    });
  });

  it("Ubuntu 24.04 LTS: Canonical's image for the CPU, Node.js from its checked tarball, /dev/sda1", () => {
    const { template } = synth(() => ({
      ...plainProps,
      platform: "ubuntu",
      machineImage: undefined,
      instanceType: new ec2.InstanceType("t4g.small"),
    }));
    expect(imageParameter(template)).toBe(
      "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id",
    );
    const text = userDataText(template);
    expect(text).toContain("nodejs.org/dist/");
    expect(text).not.toContain("dnf install");
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [Match.objectLike({ DeviceName: "/dev/sda1" })],
      }),
    });
  });
});

describe("rolling out a config change", () => {
  function output(template: Template, name: string): any {
    const outputs = template.toJSON().Outputs as Record<string, any>;
    const id = Object.keys(outputs).find((k) => k.startsWith(`Web${name}`));
    expect(id, `output ${name}`).toBeDefined();
    return outputs[id!].Value;
  }

  it("gives the instance refresh's preferences and the command that starts it as outputs", () => {
    const prefs = JSON.parse(output(classic.template, "InstanceRefreshPreferences"));
    expect(prefs).toEqual({
      MinHealthyPercentage: 90,
      InstanceWarmup: 35,
      CheckpointPercentages: [50, 100],
      CheckpointDelay: 600,
      SkipMatching: true,
      AutoRollback: true,
    });
    expect(classic.fleet.instanceRefreshPreferences).toEqual(prefs);
    const [, parts] = output(classic.template, "InstanceRefreshCommand")["Fn::Join"];
    const text = parts.map((p: unknown) => (typeof p === "string" ? p : JSON.stringify(p))).join("");
    expect(text).toMatch(
      new RegExp(
        `^aws autoscaling start-instance-refresh --auto-scaling-group-name ${classic.fleet.groupName} --desired-configuration '\\{"LaunchTemplate":\\{"LaunchTemplateId":"\\{"Ref":"WebLaunchTemplate\\w+"\\}","Version":"\\{"Fn::GetAtt":\\["WebLaunchTemplate\\w+","LatestVersionNumber"\\]\\}"\\}\\}' --preferences '`,
      ),
    );
    expect(text.endsWith(`--preferences '${JSON.stringify(prefs)}'`)).toBe(true);
  });

  it("takes the team's own preferences", () => {
    const { template } = synth(() => ({
      ...plainProps,
      instanceRefresh: { minHealthyPercentage: 50, checkpointPercentages: [25, 100], checkpointDelay: 300 },
    }));
    expect(JSON.parse(output(template, "InstanceRefreshPreferences"))).toMatchObject({
      MinHealthyPercentage: 50,
      CheckpointPercentages: [25, 100],
      CheckpointDelay: 300,
    });
    expect(() => synth(() => ({ ...plainProps, instanceRefresh: { checkpointPercentages: [50] } }))).toThrow(
      /MusterFleet: instanceRefresh.checkpointPercentages \[50\]/,
    );
  });
});
