/**
 * cdk-nag's AwsSolutions pack on a fleet as the example deploys it: no finding, and the one
 * suppression the construct carries (the group id in the group ARN) covers that ARN only.
 */

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import {
  App,
  Aspects,
  aws_ec2 as ec2,
  aws_iam as iam,
  aws_kms as kms,
  Stack,
  aws_sns as sns,
  aws_ssm as ssm,
} from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { MusterFleet } from "./index.ts";

afterAll(cleanupTmp);

it("passes AwsSolutions with muster as an asset; a wildcard added to its role is still found", () => {
  const archive = path.join(tmpDir("muster-release-"), "muster-fleet-0.1.0-linux-x64.tgz");
  writeFileSync(archive, "archive bytes\n");
  // synthesized under this test's own directory: the default is a new cdk.outXXXX in the
  // machine's temporary directory per synthesis, never removed
  const app = new App({ outdir: tmpDir("cdk-out-") });
  const stack = new Stack(app, "Nag");
  const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, flowLogs: { all: {} } });
  const key = new kms.Key(stack, "TopicKey", { enableKeyRotation: true });
  const topic = new sns.Topic(stack, "Scaling", { masterKey: key, enforceSSL: true });
  const fleet = new MusterFleet(stack, "Web", {
    vpc,
    muster: { kind: "asset", archives: { x64: archive } },
    repository: {
      url: "git@git.example.test:ops/config.git",
      deployKey: {
        parameter: ssm.StringParameter.fromSecureStringParameterAttributes(stack, "Key", {
          parameterName: "/ops/deploy-key",
        }),
      },
      knownHosts: "git.example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
    },
    role: { name: "web" },
    gate: { httpPort: 8099 },
    minCapacity: 1,
    maxCapacity: 2,
    instanceType: new ec2.InstanceType("t3.small"),
    notifications: [{ topic }],
  });
  // what a user adds is the user's to explain: the construct's suppression must not hide it
  fleet.instanceRole.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: ["arn:aws:s3:::artifacts/*"] }),
  );
  Aspects.of(app).add(new AwsSolutionsChecks());
  const annotations = Annotations.fromStack(stack);
  const findings = [
    ...annotations.findError("*", Match.stringLikeRegexp("AwsSolutions-")),
    ...annotations.findWarning("*", Match.stringLikeRegexp("AwsSolutions-")),
  ].map((m) => `${m.id} ${String(m.entry.data).match(/^AwsSolutions-\w+(\[[^\]]*\])?/)?.[0]}`);
  expect(findings).toEqual([
    "/Nag/Web/InstanceRole/DefaultPolicy/Resource AwsSolutions-IAM5[Resource::arn:aws:s3:::artifacts/*]",
  ]);
});
