import { describe, expect, it } from "vitest";
import {
  type Decision,
  evaluatePolicies,
  type PolicyDocument,
  policyDocumentSchema,
  wildcardMatch,
} from "./iam-policy.ts";

const GROUP = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1b2c:autoScalingGroupName/web";
const OTHER = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:9f9f:autoScalingGroupName/db";
const WEB_ANY = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web";

const allow = (Action: string | string[], Resource: string | string[] = "*") => ({
  Effect: "Allow" as const,
  Action,
  Resource,
});
const deny = (Action: string | string[], Resource: string | string[] = "*") => ({
  Effect: "Deny" as const,
  Action,
  Resource,
});
const doc = (...Statement: PolicyDocument["Statement"][]): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: Statement.flat() as any,
});

describe("evaluatePolicies (IAM policy evaluation logic)", () => {
  const cases: [string, PolicyDocument[], string, string, Decision][] = [
    ["no policy: implicit deny", [], "autoscaling:CompleteLifecycleAction", GROUP, "implicit-deny"],
    [
      "exact allow",
      [doc(allow("autoscaling:CompleteLifecycleAction", GROUP))],
      "autoscaling:CompleteLifecycleAction",
      GROUP,
      "allow",
    ],
    [
      "actions compare case-insensitively",
      [doc(allow("AutoScaling:completelifecycleaction", GROUP))],
      "autoscaling:CompleteLifecycleAction",
      GROUP,
      "allow",
    ],
    ["action wildcard *", [doc(allow("autoscaling:*"))], "autoscaling:SetDesiredCapacity", GROUP, "allow"],
    [
      "action wildcard ?",
      [doc(allow("autoscaling:Describe?utoScalingInstances"))],
      "autoscaling:DescribeAutoScalingInstances",
      "*",
      "allow",
    ],
    [
      "other service's action does not match",
      [doc(allow("ec2:*"))],
      "autoscaling:SetDesiredCapacity",
      GROUP,
      "implicit-deny",
    ],
    [
      "resource wildcard over the group's UUID",
      [doc(allow("autoscaling:CompleteLifecycleAction", WEB_ANY))],
      "autoscaling:CompleteLifecycleAction",
      GROUP,
      "allow",
    ],
    [
      "another group is not matched",
      [doc(allow("autoscaling:CompleteLifecycleAction", WEB_ANY))],
      "autoscaling:CompleteLifecycleAction",
      OTHER,
      "implicit-deny",
    ],
    [
      "resources compare case-sensitively",
      [doc(allow("autoscaling:*", WEB_ANY.replace("web", "WEB")))],
      "autoscaling:CompleteLifecycleAction",
      GROUP,
      "implicit-deny",
    ],
    [
      "a resource-scoped allow does not cover '*' (Describe*)",
      [doc(allow("autoscaling:*", WEB_ANY))],
      "autoscaling:DescribeAutoScalingInstances",
      "*",
      "implicit-deny",
    ],
    [
      "explicit deny beats allow",
      [doc(allow("autoscaling:*"), deny("autoscaling:SetDesiredCapacity"))],
      "autoscaling:SetDesiredCapacity",
      GROUP,
      "explicit-deny",
    ],
    [
      "explicit deny in another policy beats allow",
      [doc(allow("*")), doc(deny("autoscaling:Set*", GROUP))],
      "autoscaling:SetDesiredCapacity",
      GROUP,
      "explicit-deny",
    ],
    [
      "deny of something else leaves the allow",
      [doc(allow("autoscaling:*"), deny("autoscaling:Delete*"))],
      "autoscaling:SetDesiredCapacity",
      GROUP,
      "allow",
    ],
    [
      "NotAction allows everything else",
      [doc({ Effect: "Allow", NotAction: "autoscaling:Delete*", Resource: "*" })],
      "autoscaling:SetDesiredCapacity",
      GROUP,
      "allow",
    ],
    [
      "NotAction excludes",
      [doc({ Effect: "Allow", NotAction: ["autoscaling:Delete*", "autoscaling:Set*"], Resource: "*" })],
      "autoscaling:SetDesiredCapacity",
      GROUP,
      "implicit-deny",
    ],
    [
      "NotResource",
      [doc({ Effect: "Deny", Action: "*", NotResource: WEB_ANY }), doc(allow("*"))],
      "autoscaling:SetDesiredCapacity",
      OTHER,
      "explicit-deny",
    ],
  ];
  it.each(cases)("%s", (_name, policies, action, resource, decision) => {
    expect(evaluatePolicies(policies, action, resource)).toBe(decision);
  });

  it("wildcards are the only special characters", () => {
    expect(wildcardMatch("a.b", "aXb", false)).toBe(false);
    expect(wildcardMatch("a(b)*", "a(b)c", false)).toBe(true);
  });

  it("in a resource ARN, a wildcard crosses a colon only when it ends its segment, as IAM's", () => {
    const group =
      "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:0f1e-77aa:autoScalingGroupName/web";
    // the usual form: * is the whole segment (it ends it), and may even cover several
    expect(
      evaluatePolicies(
        [doc(allow("autoscaling:*", "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/web"))],
        "autoscaling:CompleteLifecycleAction",
        group,
      ),
    ).toBe("allow");
    expect(
      evaluatePolicies(
        [doc(allow("autoscaling:*", "arn:aws:autoscaling:eu-west-1:*"))],
        "autoscaling:CompleteLifecycleAction",
        group,
      ),
    ).toBe("allow");
    // a * inside a segment stays in it: "autoScaling*Name/web" cannot span ":0f1e-77aa:"
    const inside = "arn:aws:autoscaling:eu-west-1:123456789012:autoScaling*Name/web";
    expect(
      evaluatePolicies([doc(allow("autoscaling:*", inside))], "autoscaling:CompleteLifecycleAction", group),
    ).toBe("implicit-deny");
    expect(wildcardMatch("arn:aws:s3:::b/a?c", "arn:aws:s3:::b/a:c", false, true)).toBe(false);
    expect(wildcardMatch("arn:aws:s3:::b/a?c", "arn:aws:s3:::b/abc", false, true)).toBe(true);
  });
});

describe("policyDocumentSchema", () => {
  it("refuses Condition with a clear line, and statements without Action or Resource", () => {
    const withCondition = policyDocumentSchema.safeParse({
      Statement: [{ ...allow("autoscaling:*"), Condition: { StringEquals: { "aws:RequestTag/x": "y" } } }],
    });
    expect(withCondition.success).toBe(false);
    expect(JSON.stringify(withCondition.error?.issues)).toContain("Condition is not supported");
    expect(policyDocumentSchema.safeParse({ Statement: [{ Effect: "Allow", Resource: "*" }] }).success).toBe(
      false,
    );
    expect(policyDocumentSchema.safeParse({ Statement: [{ Effect: "Allow", Action: "*" }] }).success).toBe(
      false,
    );
    expect(policyDocumentSchema.safeParse({ Statement: allow("*") }).success).toBe(true);
  });
});
