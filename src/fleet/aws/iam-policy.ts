/**
 * IAM identity-based policies, PURE: their shape, and the decision AWS makes for one request of
 * one principal, after "Policy evaluation logic"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny in any statement wins; otherwise an Allow that matches allows; otherwise the
 * request is implicitly denied.
 *
 * Matching follows "IAM JSON policy elements": Action and NotAction compare case-insensitively
 * with `*` and `?` wildcards ("Action" element); Resource and NotResource compare ARNs
 * case-sensitively with the same wildcards ("Resource" element). Condition is not evaluated: a
 * policy with one is refused when loaded (`policyProblems`), so nothing is silently allowed.
 */
import { z } from "../../core/zod.ts";

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const policyStatementSchema = z
  .strictObject({
    Sid: z.string().optional(),
    Effect: z.enum(["Allow", "Deny"]),
    Action: oneOrMany.optional(),
    NotAction: oneOrMany.optional(),
    Resource: oneOrMany.optional(),
    NotResource: oneOrMany.optional(),
    /** accepted by the shape only to be refused with a clear line below */
    Condition: z.unknown().optional(),
  })
  .superRefine((s, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: "custom", message });
    if ((s.Action === undefined) === (s.NotAction === undefined))
      issue("a statement needs exactly one of Action and NotAction");
    if ((s.Resource === undefined) === (s.NotResource === undefined))
      issue("a statement needs exactly one of Resource and NotResource");
    if (s.Condition !== undefined)
      issue(
        "Condition is not supported by the local fleet's policy evaluation; scope the statement by Action and Resource instead",
      );
  });

export const policyDocumentSchema = z.strictObject({
  Version: z.enum(["2012-10-17", "2008-10-17"]).default("2012-10-17"),
  Id: z.string().optional(),
  Statement: z.union([policyStatementSchema, z.array(policyStatementSchema)]),
});

export type PolicyStatement = z.output<typeof policyStatementSchema>;
export type PolicyDocument = z.input<typeof policyDocumentSchema>;

export type Decision = "allow" | "explicit-deny" | "implicit-deny";

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * `*` any run of characters, `?` one character; everything else literal. In a resource ARN
 * (`arn`), wildcards stay within the segment they are in (the parts between colons), except a
 * `*` that ends its segment, which may match across colons: "If the * wildcard is the last
 * character of a resource ARN segment, it can expand to match beyond the colon boundaries" (IAM
 * JSON policy elements: Resource, "Using wildcards in resource ARNs").
 */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean, arn = false): boolean {
  const chars = pattern.split("");
  const re = chars
    .map((c, i) => {
      if (c === "*") return !arn || i === chars.length - 1 || chars[i + 1] === ":" ? ".*" : "[^:]*";
      if (c === "?") return arn ? "[^:]" : ".";
      return c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${re}$`, ignoreCase ? "is" : "s").test(value);
}

function statementApplies(s: PolicyStatement, action: string, resource: string): boolean {
  const actionHit = (patterns: string[]) => patterns.some((p) => wildcardMatch(p, action, true));
  const resourceHit = (patterns: string[]) => patterns.some((p) => wildcardMatch(p, resource, false, true));
  const actionOk = s.Action !== undefined ? actionHit(list(s.Action)) : !actionHit(list(s.NotAction));
  const resourceOk =
    s.Resource !== undefined ? resourceHit(list(s.Resource)) : !resourceHit(list(s.NotResource));
  return actionOk && resourceOk;
}

/** The decision for `action` ("autoscaling:CompleteLifecycleAction") on `resource` (an ARN or "*"). */
export function evaluatePolicies(policies: PolicyDocument[], action: string, resource: string): Decision {
  let allowed = false;
  for (const p of policies) {
    for (const s of list<PolicyStatement>(p.Statement)) {
      if (!statementApplies(s, action, resource)) continue;
      if (s.Effect === "Deny") return "explicit-deny";
      allowed = true;
    }
  }
  return allowed ? "allow" : "implicit-deny";
}

/**
 * AWS's AccessDenied message for an identity-based refusal ("Access denied error messages",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access-denied-error-messages.html).
 */
export function accessDeniedMessage(
  principalArn: string,
  action: string,
  resource: string,
  decision: Exclude<Decision, "allow">,
): string {
  const why =
    decision === "explicit-deny"
      ? "with an explicit deny in an identity-based policy"
      : `because no identity-based policy allows the ${action} action`;
  return `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
}
