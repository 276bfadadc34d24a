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
import type { CredentialsIssuer, Principal } from "./credentials-issuer.ts";
import { accessDeniedMessage, evaluatePolicies } from "./iam-policy.ts";
import { type SignedRequest, verifySigV4 } from "./sigv4-verify.ts";

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

  /**
   * The resource an action is authorized on. An action that names only an instance
   * (SetInstanceHealth, TerminateInstanceInAutoScalingGroup) acts on that instance's group and is
   * authorized on the group's ARN, as on AWS: on "*" a Deny scoped to the group would not apply.
   */
  resourceFor(
    action: string,
    params: Record<string, string>,
    groupOfInstance: (instanceId: string) => string | undefined = () => undefined,
  ): string {
    if (action.startsWith("Describe")) return "*";
    const group =
      params.AutoScalingGroupName ?? (params.InstanceId ? groupOfInstance(params.InstanceId) : undefined);
    return group ? this.groupArn(group) : "*";
  }

  /** Who signed the request (the signature checked), or AWS's refusal. */
  authenticate(req: SignedRequest): Promise<AuthResult> {
    return authenticateRequest(req, this.issuer, "autoscaling", this.region, this.now());
  }

  /** AccessDenied as AWS words it when the principal's policy does not allow the action, else undefined. */
  authorize(
    principal: Principal,
    action: string,
    params: Record<string, string>,
    groupOfInstance?: (instanceId: string) => string | undefined,
  ): AuthRefusal | undefined {
    return authorizeAction(
      principal,
      `autoscaling:${action}`,
      this.resourceFor(action, params, groupOfInstance),
    );
  }
}

/**
 * Who signed a request to `service` (its SigV4 signature checked against the issued keys), or
 * AWS's refusal: shared by the fleet's emulators (Auto Scaling, CloudWatch Logs).
 */
export async function authenticateRequest(
  req: SignedRequest,
  issuer: CredentialsIssuer,
  service: string,
  region: string,
  now: number,
): Promise<AuthResult> {
  const sig = await verifySigV4(req, { service, region, now, findKey: (id) => issuer.find(id) });
  if (!sig.ok) return { ok: false, status: 403, code: sig.code, message: sig.message };
  const key = issuer.find(sig.accessKeyId)!;
  return { ok: true, principal: key.principal, accessKeyId: sig.accessKeyId };
}

/** AccessDenied as AWS words it when the principal's policy does not allow `iamAction` on `resource`. */
export function authorizeAction(
  principal: Principal,
  iamAction: string,
  resource: string,
): AuthRefusal | undefined {
  const decision = evaluatePolicies([principal.policy], iamAction, resource);
  if (decision === "allow") return undefined;
  return {
    status: 403,
    code: "AccessDenied",
    message: accessDeniedMessage(principal.arn, iamAction, resource, decision),
  };
}

/**
 * What an instance's role needs for muster's boot and nothing more: complete the launch
 * lifecycle action and send heartbeats, on its own group only; and, with a failure log group,
 * make its stream and put the failure record in it, in that log group only (CreateLogStream is
 * authorized on the log group's ARN, PutLogEvents on the stream's: "Actions, resources, and
 * condition keys for Amazon CloudWatch Logs").
 */
export function defaultInstancePolicy(groupArnPattern: string, logGroupArn?: string) {
  return {
    Version: "2012-10-17" as const,
    Statement: [
      {
        Sid: "MusterLifecycleHook",
        Effect: "Allow" as const,
        Action: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
        Resource: groupArnPattern,
      },
      ...(logGroupArn
        ? [
            {
              Sid: "MusterBootFailureRecord",
              Effect: "Allow" as const,
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: [logGroupArn, `${logGroupArn}:log-stream:*`],
            },
          ]
        : []),
    ],
  };
}

/** A CloudWatch Logs log group's ARN (the log-group resource type). */
export function logGroupArn(region: string, account: string, logGroup: string): string {
  return `arn:aws:logs:${region}:${account}:log-group:${logGroup}`;
}

/** The ARN pattern of a group by name, whatever its UUID: what a policy names. */
export function groupArnPattern(region: string, account: string, group: string): string {
  return `arn:aws:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/${group}`;
}
