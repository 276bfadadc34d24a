/**
 * A muster fleet on AWS: a VPC, an internet-facing load balancer, and the MusterFleet behind it.
 * Environment-agnostic (no account or region), so `npx cdk synth` runs offline; the image id and
 * the config repository come from cdk.json's context (`-c muster:configRef=...` to change one).
 */
import {
  App,
  Aspects,
  aws_ec2 as ec2,
  aws_elasticloadbalancingv2 as elbv2,
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
    const context = (key: string): string => {
      const value = this.node.tryGetContext(key);
      if (typeof value !== "string" || value === "")
        throw new Error(`cdk.json: context "${key}" is missing; set it there or pass -c ${key}=VALUE`);
      return value;
    };

    const vpc = new ec2.Vpc(this, "Vpc", { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
    const scalingKey = new kms.Key(this, "ScalingTopicKey", { enableKeyRotation: true });
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
      // a baked image (docs/aws.md); its id per region, from the context, so synth needs no lookup
      machineImage: ec2.MachineImage.genericLinux({
        [context("muster:imageRegion")]: context("muster:imageId"),
      }),
      notifications: [{ topic: scalingTopic }],
      // muster's release archive for the servers' CPU, where they can fetch it, and its SHA-256
      // (`npm run release` in muster's checkout writes both)
      muster: {
        kind: "release",
        archives: { x64: { url: context("muster:releaseUrl"), sha256: context("muster:releaseSha256") } },
      },
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
