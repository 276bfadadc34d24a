import { describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import { notRehearsedLine, overlayTemplate, rehearseTemplate } from "./from-template.ts";

const CTX = { region: "eu-west-1", account: "123456789012" };

/** A small template: one group with a launch template, profile, role and target group. */
function template(
  over: {
    group?: object;
    groupAttrs?: object;
    lt?: object;
    tg?: object;
    role?: object;
    extra?: object;
    boot?: object;
  } = {},
) {
  const bootConfig = JSON.stringify({
    repo: { url: "https://git.example.test/c.git", ref: "master" },
    role: "static:web",
    gate: { http: { port: 8099, path: "/health" } },
    lifecycle: { hook: "muster-launch", group: "web-fleet", terminateHook: "muster-terminate" },
    retries: { attempts: 2, deadline: 60 },
    ...over.boot,
  });
  const userData = `#cloud-config\nwrite_files:\n  - path: /etc/muster/boot.json\n    content: ${JSON.stringify(bootConfig)}\n`;
  return {
    Parameters: { Size: { Type: "String", Default: "3" }, NoDefault: { Type: "String" } },
    Resources: {
      Group: {
        Type: "AWS::AutoScaling::AutoScalingGroup",
        Properties: {
          AutoScalingGroupName: "web-fleet",
          MinSize: "1",
          MaxSize: { Ref: "Size" },
          DesiredCapacity: "1",
          HealthCheckType: "ELB",
          HealthCheckGracePeriod: 35,
          LaunchTemplate: {
            LaunchTemplateId: { Ref: "LT" },
            Version: { "Fn::GetAtt": ["LT", "LatestVersionNumber"] },
          },
          LifecycleHookSpecificationList: [
            {
              LifecycleHookName: "muster-launch",
              LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
              HeartbeatTimeout: 90,
              DefaultResult: "ABANDON",
            },
            {
              LifecycleHookName: "muster-terminate",
              LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
              HeartbeatTimeout: 300,
              DefaultResult: "CONTINUE",
            },
          ],
          TargetGroupARNs: [{ Ref: "TG" }],
          VPCZoneIdentifier: [{ Ref: "Subnet" }],
          ...over.group,
        },
        ...over.groupAttrs,
      },
      LT: {
        Type: "AWS::EC2::LaunchTemplate",
        Properties: {
          LaunchTemplateData: {
            InstanceType: "t3.small",
            IamInstanceProfile: { Arn: { "Fn::GetAtt": ["Profile", "Arn"] } },
            MetadataOptions: { HttpTokens: "required", InstanceMetadataTags: "enabled" },
            SecurityGroupIds: [{ "Fn::GetAtt": ["SG", "GroupId"] }],
            UserData: { "Fn::Base64": userData },
            ...over.lt,
          },
        },
      },
      Profile: { Type: "AWS::IAM::InstanceProfile", Properties: { Roles: [{ Ref: "Role" }] } },
      Role: {
        Type: "AWS::IAM::Role",
        Properties: {
          AssumeRolePolicyDocument: {},
          Policies: [
            {
              PolicyName: "muster",
              PolicyDocument: {
                Statement: [
                  {
                    Effect: "Allow",
                    Action: "autoscaling:CompleteLifecycleAction",
                    Resource: {
                      "Fn::Join": [
                        "",
                        [
                          "arn:",
                          { Ref: "AWS::Partition" },
                          ":autoscaling:",
                          { Ref: "AWS::Region" },
                          ":",
                          { Ref: "AWS::AccountId" },
                          ":autoScalingGroup:*:autoScalingGroupName/web-fleet",
                        ],
                      ],
                    },
                  },
                ],
              },
            },
          ],
          ...over.role,
        },
      },
      Extra: {
        Type: "AWS::IAM::Policy",
        Properties: {
          PolicyName: "more",
          Roles: [{ Ref: "Role" }],
          PolicyDocument: {
            Statement: [
              {
                Effect: "Allow",
                Action: "s3:GetObject",
                // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
                Resource: { "Fn::Sub": "arn:${AWS::Partition}:s3:::b-${AWS::Region}/*" },
              },
            ],
          },
        },
      },
      SG: { Type: "AWS::EC2::SecurityGroup", Properties: { GroupDescription: "d", GroupName: "web" } },
      TG: {
        Type: "AWS::ElasticLoadBalancingV2::TargetGroup",
        Properties: {
          HealthCheckPath: "/health",
          HealthCheckPort: "8099",
          HealthCheckIntervalSeconds: 10,
          HealthCheckTimeoutSeconds: 5,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 3,
          Matcher: { HttpCode: "200" },
          TargetGroupAttributes: [{ Key: "deregistration_delay.timeout_seconds", Value: "20" }],
          ...over.tg,
        },
      },
      Subnet: { Type: "AWS::EC2::Subnet", Properties: {} },
      ...over.extra,
    },
  };
}

const lines = (t: unknown, group?: string) =>
  rehearseTemplate(t, "t.json", { ...CTX, group }).notRehearsed.map(notRehearsedLine);

describe("rehearseTemplate: what it maps", () => {
  const { fleet, group } = rehearseTemplate(template(), "t.json", CTX);
  it.each([
    ["group.name", "web-fleet"],
    ["group.min", 1],
    ["group.max", 3], // Ref to a parameter with a Default
    ["group.desired", 1],
    ["group.healthCheckType", "ELB"],
    ["group.healthCheckGracePeriod", 35],
    ["group.launchHook", { name: "muster-launch", heartbeatTimeout: 90, defaultResult: "ABANDON" }],
    ["group.terminateHook", { name: "muster-terminate", heartbeatTimeout: 300, defaultResult: "CONTINUE" }],
    ["group.instanceType", "t3.small"],
    ["instances.metadataTags", true],
    ["instances.healthPort", 8099],
    ["instances.boot", { attempts: 2, deadline: 60 }],
    ["role.source", "static:web"],
    ["role.securityGroups", ["web"]],
    ["loadBalancer.preset", "aws"],
    [
      "loadBalancer.healthCheck",
      {
        path: "/health",
        port: 8099,
        interval: 10,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
        matcher: "200",
      },
    ],
    ["loadBalancer.deregistrationDelay", 20],
  ])("%s", (field, value) => {
    expect(field.split(".").reduce((o: any, k) => o?.[k], fleet)).toEqual(value);
    expect(group).toBe("Group");
  });

  it("the instance role's policy: inline Policies and AWS::IAM::Policy, pseudo parameters resolved", () => {
    expect(fleet.instances.iamRole.policy.Statement).toEqual([
      expect.objectContaining({
        Resource:
          "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web-fleet",
      }),
      expect.objectContaining({ Action: "s3:GetObject", Resource: "arn:aws:s3:::b-eu-west-1/*" }),
    ]);
  });

  it("literal zones set the region the pseudo parameters resolve to", () => {
    const t = template({ group: { AvailabilityZones: ["us-west-2a", "us-west-2b"] } });
    const r = rehearseTemplate(t, "t.json", CTX);
    expect(r.fleet.group.availabilityZones).toEqual(["us-west-2a", "us-west-2b"]);
    expect(r.fleet.instances.iamRole.policy.Statement[0].Resource).toContain(":us-west-2:");
  });

  it("no hooks in the template: none in the rehearsal; no instance profile: an empty policy", () => {
    const t = template({
      group: { LifecycleHookSpecificationList: undefined },
      lt: { IamInstanceProfile: undefined },
    });
    delete (t.Resources.Group.Properties as any).LifecycleHookSpecificationList;
    delete (t.Resources.LT.Properties.LaunchTemplateData as any).IamInstanceProfile;
    const r = rehearseTemplate(t, "t.json", CTX);
    expect(r.fleet.group.launchHook).toBe(false);
    expect(r.fleet.group.terminateHook).toBe(false);
    expect(r.fleet.instances.iamRole.policy.Statement).toEqual([]);
  });

  it("a spot market and IMDSv1 (listed: the rehearsal always wants a token)", () => {
    const t = template({
      lt: { InstanceMarketOptions: { MarketType: "spot" }, MetadataOptions: { HttpTokens: "optional" } },
    });
    expect(rehearseTemplate(t, "t.json", CTX).fleet.instances.marketType).toBe("spot");
    expect(lines(t)).toContain(
      "not rehearsed: LT.LaunchTemplateData.MetadataOptions.HttpTokens: optional: the rehearsal's metadata service always requires a token (IMDSv2)",
    );
  });
});

describe("rehearseTemplate: what it lists", () => {
  it.each([
    [
      "a Fn::GetAtt of a resource",
      template(),
      "Group.LaunchTemplate.Version: Fn::GetAtt LT.LatestVersionNumber is known only once deployed",
    ],
    ["subnets", template(), "Group.VPCZoneIdentifier: subnets"],
    ["a resource it does not read", template(), "Subnet: AWS::EC2::Subnet: networking"],
    [
      "an update policy",
      template({ groupAttrs: { UpdatePolicy: { AutoScalingRollingUpdate: {} } } }),
      "Group.UpdatePolicy: rolling",
    ],
    [
      "a Ref to a parameter without a default",
      template({ group: { DesiredCapacity: { Ref: "NoDefault" } } }),
      "Group.DesiredCapacity: Ref NoDefault: a parameter without a Default",
    ],
    [
      "an unsupported property",
      template({ group: { Cooldown: "300" } }),
      "Group.Cooldown: a group property the rehearsal does not follow",
    ],
    [
      "a scaling policy",
      template({ extra: { Scale: { Type: "AWS::AutoScaling::ScalingPolicy", Properties: {} } } }),
      "Scale: AWS::AutoScaling::ScalingPolicy: scaling policies are not rehearsed",
    ],
    [
      "a managed policy ARN",
      template({ role: { ManagedPolicyArns: ["arn:aws:iam::aws:policy/X"] } }),
      "Role.ManagedPolicyArns: managed policies",
    ],
    [
      "a policy statement it cannot resolve",
      template({
        role: {
          Policies: [
            {
              PolicyName: "p",
              PolicyDocument: {
                Statement: [
                  { Effect: "Allow", Action: "s3:*", Resource: { "Fn::GetAtt": ["Bucket", "Arn"] } },
                ],
              },
            },
          ],
        },
      }),
      "Role.Policies[0].PolicyDocument.Statement[0]: Fn::GetAtt Bucket.Arn",
    ],
    [
      "the repositories of the boot config",
      template(),
      "LT.LaunchTemplateData.UserData(boot config).repo: the repositories come from fleet.yaml",
    ],
    [
      "an image",
      template({ lt: { ImageId: "ami-1" } }),
      "LT.LaunchTemplateData.ImageId: instances start from image.dir",
    ],
    [
      "user data without a boot config",
      template({ lt: { UserData: { "Fn::Base64": "#!/bin/sh\necho hi\n" } } }),
      "LT.LaunchTemplateData.UserData: no muster boot config found",
    ],
    [
      "another target group attribute",
      template({ tg: { TargetGroupAttributes: [{ Key: "slow_start.duration_seconds", Value: "30" }] } }),
      "TG.TargetGroupAttributes[0]: slow_start.duration_seconds",
    ],
    [
      "a boot config naming another hook",
      template({
        group: {
          LifecycleHookSpecificationList: [
            { LifecycleHookName: "other", LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING" },
          ],
        },
      }),
      'lifecycle.hook: "muster-launch" is not the group\'s launch hook "other"',
    ],
    [
      "ALB's failing open when every target is unhealthy",
      template(),
      "TG: with every target unhealthy an ALB fails open",
    ],
    [
      "a group's terminate hook the boot config does not name (on AWS nothing would complete it)",
      template({ boot: { lifecycle: { hook: "muster-launch", group: "web-fleet" } } }),
      'lifecycle.terminateHook: not set, though the group has the terminate hook "muster-terminate": on AWS nothing completes it',
    ],
    [
      "a deploy key the user data fetches",
      template({
        boot: { repo: { url: "git@git.example.test:c.git", sshKey: "/etc/muster/deploy_key" } },
      }),
      "the user data's fetch of the deploy key is not run, so the role's permission to read it is not tried",
    ],
  ])("%s", (_what, t, expected) => {
    const found = lines(t);
    expect(
      found.some((l) => l.startsWith(`not rehearsed: ${expected}`) || l.includes(expected)),
      found.join("\n"),
    ).toBe(true);
  });

  it("the default template lists exactly what it cannot follow, nothing it maps", () => {
    const found = lines(template());
    expect(
      found.some((l) => /MinSize|MaxSize|HealthCheckPath|InstanceType|Policies|MetadataOptions/.test(l)),
    ).toBe(false);
  });
});

describe("rehearseTemplate: which group", () => {
  const two = template({ extra: { Other: { Type: "AWS::AutoScaling::AutoScalingGroup", Properties: {} } } });
  it.each([
    [
      "several groups and no --group",
      two,
      undefined,
      "t.json: 2 Auto Scaling groups (Group, Other); choose one with --group",
    ],
    [
      "a --group that is not one",
      two,
      "Nope",
      "t.json: --group Nope: no such Auto Scaling group; the template's groups: Group, Other",
    ],
    [
      "no group at all",
      { Resources: { S: { Type: "AWS::EC2::Subnet" } } },
      undefined,
      "t.json: no AWS::AutoScaling::AutoScalingGroup in its Resources",
    ],
    ["not a template", [1, 2], undefined, "t.json: not a CloudFormation template"],
  ])("%s", (_what, t, group, message) => {
    expect(() => rehearseTemplate(t, "t.json", { ...CTX, group })).toThrow(InputError);
    expect(() => rehearseTemplate(t, "t.json", { ...CTX, group })).toThrow(message);
  });

  it("--group picks one of several, and the other is listed", () => {
    const r = rehearseTemplate(two, "t.json", { ...CTX, group: "Other" });
    expect(r.group).toBe("Other");
    expect(r.notRehearsed.map(notRehearsedLine)).toContain(
      "not rehearsed: Group: AWS::AutoScaling::AutoScalingGroup: another group (rehearse it with --group Group)",
    );
  });
});

describe("overlayTemplate", () => {
  it("the template's fields win and the replaced ones are named", () => {
    const base = {
      group: { name: "web", min: 1, launchHook: { name: "launch" } },
      repositories: { ref: "main" },
    };
    const r = overlayTemplate(base, { group: { min: 2, launchHook: false, max: 4 } });
    expect(r.data).toEqual({
      group: { name: "web", min: 2, max: 4, launchHook: false },
      repositories: { ref: "main" },
    });
    expect(r.overridden).toEqual(["group.min", "group.launchHook"]);
  });
});
