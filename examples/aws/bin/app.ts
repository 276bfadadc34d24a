/**
 * A muster fleet on AWS: a VPC, an internet-facing load balancer, and the MusterFleet behind it.
 * Environment-agnostic (no account or region), so `npx cdk synth` runs offline; the platform, the
 * config repository and muster's release come from cdk.json's context (`-c muster:configRef=...`
 * to change one).
 */
import {
  App,
  Aspects,
  aws_ec2 as ec2,
  aws_elasticloadbalancingv2 as elbv2,
  aws_iam as iam,
  aws_kms as kms,
  Stack,
  type StackProps,
  aws_sns as sns,
  aws_ssm as ssm,
} from "aws-cdk-lib";
import { AwsSolutionsChecks, NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import { MusterFleet } from "muster-fleet/cdk";

class WebFleetStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const optional = (key: string): string | undefined => {
      const value = this.node.tryGetContext(key);
      return typeof value === "string" && value !== "" ? value : undefined;
    };
    const context = (key: string): string => {
      const value = optional(key);
      if (value === undefined)
        throw new Error(`cdk.json: context "${key}" is missing; set it there or pass -c ${key}=VALUE`);
      return value;
    };
    const platform = context("muster:platform");
    if (platform !== "al2023" && platform !== "ubuntu")
      throw new Error(`cdk.json: context "muster:platform" is "${platform}"; use al2023 or ubuntu`);
    const imageId = optional("muster:imageId");
    const releaseArchive = optional("muster:releaseArchive");

    const vpc = new ec2.Vpc(this, "Vpc", { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
    const scalingKey = new kms.Key(this, "ScalingTopicKey", { enableKeyRotation: true });
    // Auto Scaling publishes the group's notifications as its service-linked role, whose own
    // policy covers AWS managed keys only: a customer managed key must let it encrypt, or every
    // notification is refused ("Required AWS KMS key policy for use with encrypted volumes",
    // Amazon EC2 Auto Scaling user guide, says the same of EBS keys). Named by a condition, not
    // as the principal: a key policy naming a role that does not exist yet (no group has been
    // made in the account) is refused.
    scalingKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AutoScalingPublishesNotifications",
        principals: [new iam.AnyPrincipal()],
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        resources: ["*"],
        conditions: {
          StringEquals: { "aws:PrincipalAccount": this.account },
          ArnEquals: {
            "aws:PrincipalArn": this.formatArn({
              service: "iam",
              region: "",
              resource: "role",
              resourceName: "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            }),
          },
        },
      }),
    );
    const scalingTopic = new sns.Topic(this, "ScalingEvents", { masterKey: scalingKey, enforceSSL: true });

    const fleet = new MusterFleet(this, "Web", {
      vpc,
      repository: {
        url: context("muster:configRepo"),
        ref: context("muster:configRef"),
        // a SecureString made by hand: `aws ssm put-parameter --type SecureString --name /muster/deploy-key ...`
        deployKey: {
          parameter: ssm.StringParameter.fromSecureStringParameterAttributes(this, "DeployKey", {
            parameterName: "/muster/deploy-key",
          }),
        },
        knownHosts: context("muster:knownHosts"),
      },
      // the classic setup: the servers' security group is named "web", the config repo has roles/web.json
      role: { name: "web" },
      gate: { httpPort: 8099 },
      minCapacity: 2,
      maxCapacity: 6,
      instanceType: new ec2.InstanceType("t3.small"),
      // Amazon Linux 2023 or Ubuntu 24.04: without an image id, the platform's latest image (read
      // from SSM at deploy); with one, a baked image (docs/aws.md), its id per region, no lookup
      platform,
      machineImage: imageId
        ? ec2.MachineImage.genericLinux({ [context("muster:imageRegion")]: imageId })
        : undefined,
      notifications: [{ topic: scalingTopic }],
      // muster's release archive for the servers' CPU (`npm run release` in muster's checkout
      // writes it and its .sha256): with -c muster:releaseArchive=PATH uploaded as a CDK asset,
      // else fetched from a URL of your own and checked against its SHA-256
      muster: releaseArchive
        ? { kind: "asset", archives: { x64: releaseArchive } }
        : {
            kind: "release",
            archives: { x64: { url: context("muster:releaseUrl"), sha256: context("muster:releaseSha256") } },
          },
      // a config change rolls out in two halves, with a pause to look, and rolls back by itself
      // when a new server fails its boot or its health check (the stack's outputs: the command)
      instanceRefresh: { checkpointPercentages: [50, 100], checkpointDelay: 600, autoRollback: true },
    });

    const lb = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", { vpc, internetFacing: true });
    lb.addListener("Http", { port: 80, defaultTargetGroups: [fleet.targetGroup] });
    fleet.allowFrom(lb);

    NagSuppressions.addResourceSuppressions(
      lb,
      [
        {
          id: "AwsSolutions-EC23",
          reason:
            "a public web site's load balancer takes HTTP from anywhere; TLS is left out of the example (no certificate offline)",
        },
        {
          id: "AwsSolutions-ELB2",
          reason:
            "access logs need the stack's region at synth (logAccessLogs), which this environment-agnostic example leaves out; a deployment with env set adds them",
        },
      ],
      true,
    );
  }
}

const app = new App();
new WebFleetStack(app, "MusterWebFleet");
Aspects.of(app).add(new AwsSolutionsChecks());
