/**
 * The AWS example app's synthesized template (examples/aws/cdk.out, which CI synthesizes with
 * cdk-nag before the tests; a checkout without it skips these): what a deployment of it needs
 * that the construct's own tests cannot see.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../test-support/tmp.ts";

const example = path.join(REPO_ROOT, "examples/aws/cdk.out/MusterWebFleet.template.json");

describe.runIf(existsSync(example))("the AWS example app", () => {
  it("lets Auto Scaling's service-linked role use the key of the encrypted topic its notifications go to", () => {
    const t = JSON.parse(readFileSync(example, "utf8")) as { Resources: Record<string, any> };
    const resources = Object.entries(t.Resources);
    const [topicId, topic] = resources.find(([, r]) => r.Type === "AWS::SNS::Topic")!;
    const keyId = topic.Properties.KmsMasterKeyId["Fn::GetAtt"][0] as string;
    const statement = t.Resources[keyId].Properties.KeyPolicy.Statement.find(
      (s: any) => s.Sid === "AutoScalingPublishesNotifications",
    );
    expect(statement).toMatchObject({ Effect: "Allow", Action: ["kms:GenerateDataKey*", "kms:Decrypt"] });
    expect(JSON.stringify(statement.Condition.ArnEquals["aws:PrincipalArn"])).toContain(
      ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
    );
    // and it is that topic the group notifies
    const group = resources.find(([, r]) => r.Type === "AWS::AutoScaling::AutoScalingGroup")![1];
    expect(group.Properties.NotificationConfigurations[0].TopicARN).toEqual({ Ref: topicId });
  });
});
