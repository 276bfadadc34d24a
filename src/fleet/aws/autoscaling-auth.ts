/**
 * What the Auto Scaling emulator checks before it carries out an action, as AWS does: the
 * request's SigV4 signature against the keys the fleet issued (sigv4-verify.ts,
 * credentials-issuer.ts), then the signer's identity-based policy for the action on its
 * resource (iam-policy.ts).
 *
 * Resources after "Actions, resources, and condition keys for Amazon EC2 Auto Scaling"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html):
 * an action on a group (CompleteLifecycleAction, RecordLifecycleActionHeartbeat, SetDesiredCapacity,
 * ...) is authorized on the group's ARN
 * `arn:aws:autoscaling:REGION:ACCOUNT:autoScalingGroup:UUID:autoScalingGroupName/NAME`; the
 * Describe* actions support no resource-level permissions and are authorized on "*".
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { CredentialsIssuer, Principal } from "./credentials-issuer.ts";
import { accessDeniedMessage, evaluatePolicies } from "./iam-policy.ts";
import { verifySigV4 } from "./sigv4-verify.ts";

export interface AuthRefusal {
  status: number;
  code: string;
  message: string;
}

export type AuthResult =
  | { ok: true; principal: Principal; accessKeyId: string }
  | ({ ok: false } & AuthRefusal);

export class AutoScalingAuth {
  private readonly groupIds = new Map<string, string>();

  constructor(
    readonly issuer: CredentialsIssuer,
    readonly region: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The group's ARN; its UUID is made on first use and kept, as a group keeps its own. */
  groupArn(group: string): string {
    let id = this.groupIds.get(group);
    if (!id) {
      id = randomUUID();
      this.groupIds.set(group, id);
    }
    return `arn:aws:autoscaling:${this.region}:${this.issuer.account}:autoScalingGroup:${id}:autoScalingGroupName/${group}`;
  }

  /** The resource an action is authorized on. */
  resourceFor(action: string, params: Record<string, string>): string {
    if (action.startsWith("Describe")) return "*";
    const group = params.AutoScalingGroupName;
    return group ? this.groupArn(group) : "*";
  }

  /** Who signed the request (the signature checked), or AWS's refusal. */
  async authenticate(req: {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    body: string;
  }): Promise<AuthResult> {
    const sig = await verifySigV4(req, {
      service: "autoscaling",
      region: this.region,
      now: this.now(),
      findKey: (id) => this.issuer.find(id),
    });
    if (!sig.ok) return { ok: false, status: 403, code: sig.code, message: sig.message };
    const key = this.issuer.find(sig.accessKeyId)!;
    return { ok: true, principal: key.principal, accessKeyId: sig.accessKeyId };
  }

  /** AccessDenied as AWS words it when the principal's policy does not allow the action, else undefined. */
  authorize(principal: Principal, action: string, params: Record<string, string>): AuthRefusal | undefined {
    const iamAction = `autoscaling:${action}`;
    const resource = this.resourceFor(action, params);
    const decision = evaluatePolicies([principal.policy], iamAction, resource);
    if (decision === "allow") return undefined;
    return {
      status: 403,
      code: "AccessDenied",
      message: accessDeniedMessage(principal.arn, iamAction, resource, decision),
    };
  }
}

/**
 * What an instance's role needs for muster's boot and nothing more: complete the launch
 * lifecycle action and send heartbeats, on its own group only.
 */
export function defaultInstancePolicy(groupArnPattern: string) {
  return {
    Version: "2012-10-17" as const,
    Statement: [
      {
        Sid: "MusterLifecycleHook",
        Effect: "Allow" as const,
        Action: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
        Resource: groupArnPattern,
      },
    ],
  };
}

/** The ARN pattern of a group by name, whatever its UUID: what a policy names. */
export function groupArnPattern(region: string, account: string, group: string): string {
  return `arn:aws:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/${group}`;
}
