/**
 * MusterFleet: an Auto Scaling group of muster servers behind a target group, with what
 * hand-written fleets get wrong set right by default (docs/aws.md): the launch hook created with
 * the group, IMDSv2, ELB health checks on muster's gate, an instance role scoped to this group,
 * and muster's own user data.
 */
import {
  ArnFormat,
  Aws,
  aws_autoscaling as autoscaling,
  CfnOutput,
  type CfnResource,
  Duration,
  aws_ec2 as ec2,
  aws_elasticloadbalancingv2 as elbv2,
  aws_iam as iam,
  type aws_kms as kms,
  Names,
  Stack,
  type aws_secretsmanager as secretsmanager,
  type aws_ssm as ssm,
  Tags,
  Token,
} from "aws-cdk-lib";
import { Construct } from "constructs";
import { type MusterSource, type NodeRelease, PINNED_NODE } from "../boot/user-data.ts";
import {
  bootDeadline,
  checkGroupName,
  checkRoleSecurityGroupName,
  type FleetGate,
  type FleetInstanceRefresh,
  type FleetPlatform,
  FleetPropsError,
  type FleetRetries,
  type FleetRole,
  fleetBootConfig,
  gateHealthCheck,
  healthCheckGraceSeconds,
  type InstanceRefreshPreferences,
  instanceRefreshCommand,
  instanceRefreshPreferences,
  LAUNCH_HOOK_NAME,
  launchHeartbeatTimeout,
  needsMetadataTags,
  platformDefaults,
  TERMINATE_HOOK_NAME,
} from "./fleet-settings.ts";
import { type DeployKeySource, fleetUserData } from "./fleet-user-data.ts";
import { type MusterReleaseFiles, releaseAssets } from "./release-asset.ts";

/** The deploy key of an ssh config repository: where the instance role reads it at launch. */
export type DeployKey =
  | { secret: secretsmanager.ISecret }
  /** a SecureString parameter; give `encryptionKey` when it is encrypted with a key of your own */
  | { parameter: ssm.IParameter; encryptionKey?: kms.IKey };

export interface MusterFleetRepository {
  /** the config repository (an ssh or https URL without credentials) */
  url: string;
  /** branch, tag or commit: changing it changes the launch template @default "master" */
  ref?: string;
  deployKey?: DeployKey;
  /** known_hosts lines of the git server, required with a deploy key */
  knownHosts?: string;
}

export interface MusterFleetProps {
  vpc: ec2.IVpc;
  /** @default the VPC's private subnets with egress */
  vpcSubnets?: ec2.SubnetSelection;
  repository: MusterFleetRepository;
  role: FleetRole;
  gate: FleetGate;
  /** the port the load balancer sends traffic to @default 80 */
  trafficPort?: number;
  minCapacity: number;
  maxCapacity: number;
  /** leave out to let scaling policies own it (a set value resets the group on every deploy) */
  desiredCapacity?: number;
  instanceType: ec2.InstanceType;
  /**
   * the image's platform: how the user data installs Node.js (dnf on Amazon Linux 2023, the
   * checked tarball on Ubuntu), the default image and the root volume's device @default "al2023"
   */
  platform?: FleetPlatform;
  /**
   * an image with Node.js 20 and muster baked in boots fastest (docs/aws.md) @default the latest
   * image of `platform` for the instance type's CPU, read from its SSM public parameter at deploy
   */
  machineImage?: ec2.IMachineImage;
  /** @default a name made from the construct path */
  groupName?: string;
  /** the boot's retries; `deadline` sizes the launch hook */
  retries?: FleetRetries;
  /** time before the boot starts (cloud-init installing Node.js and muster) @default 10 minutes */
  hookMargin?: Duration;
  /** a terminate hook too, waiting this long (e.g. for a drain) @default none */
  terminateHook?: { heartbeatTimeout: Duration; defaultResult?: autoscaling.DefaultResult };
  /**
   * the image's root volume, made encrypted: `/dev/xvda` on Amazon Linux, `/dev/sda1` on Ubuntu
   * and Debian @default { deviceName: the platform's, sizeGiB: 16 }
   */
  rootVolume?: { deviceName?: string; sizeGiB?: number };
  /** IMDSv2 PUT hop limit: 1 keeps containers on the host from the metadata service @default 1 */
  metadataHopLimit?: number;
  /** the boot config's checks, attributes and environment (docs/boot.md) */
  checks?: { url: string; status?: number; timeout?: number }[];
  attributes?: Record<string, unknown>;
  environment?: string;
  /**
   * where servers install muster from, with its digest: release archives on this machine
   * (`{ kind: "asset", archives: { x64: "release/muster-fleet-<v>-linux-x64.tgz" } }`, uploaded as
   * CDK assets, their SHA-256 computed at synth), or as `muster install --print-user-data` takes
   * it: release archives at URLs the servers can reach, or a registry package with its sha512
   * integrity. Required: the user data installs nothing it cannot verify.
   */
  muster: MusterSource | MusterReleaseFiles;
  /** Node.js installed from its tarball on an image without 20 or later @default muster's pinned release */
  node?: NodeRelease;
  /** CloudFormation's update policy @default none: start an instance refresh (docs/aws.md) */
  updatePolicy?: autoscaling.UpdatePolicy;
  /**
   * how a new launch template version (a new config ref) rolls out: the preferences of the
   * instance refresh, given as the stack's outputs with the command that starts it @default
   * 90 % healthy, warmup = the grace period, checkpoints at 50 and 100 % 600 s apart, skip
   * matching, auto rollback
   */
  instanceRefresh?: FleetInstanceRefresh;
  /** scaling notifications */
  notifications?: autoscaling.NotificationConfiguration[];
}

export class MusterFleet extends Construct implements ec2.IConnectable {
  readonly group: autoscaling.AutoScalingGroup;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly instanceRole: iam.Role;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly securityGroup: ec2.SecurityGroup;
  readonly connections: ec2.Connections;
  /** the group's name, fixed at synth (the IAM policy names it) */
  readonly groupName: string;
  /** the launch hook's heartbeat timeout, seconds */
  readonly launchHookTimeout: number;
  /** StartInstanceRefresh's preferences for rolling out a config change (also an output) */
  readonly instanceRefreshPreferences: InstanceRefreshPreferences;
  /** the `aws autoscaling start-instance-refresh` command (also an output; a CDK token) */
  readonly instanceRefreshCommand: string;
  private readonly trafficPort: number;
  private readonly gatePort: string;

  constructor(scope: Construct, id: string, props: MusterFleetProps) {
    super(scope, id);
    for (const [name, value] of [
      ["repository.url", props.repository.url],
      ["repository.ref", props.repository.ref],
      ["role.name", props.role.name],
    ] as const)
      if (value !== undefined && Token.isUnresolved(value))
        throw new FleetPropsError(`${name} must be a plain string at synth (it goes into the boot config)`);
    const stack = Stack.of(this);
    this.groupName = checkGroupName(
      props.groupName ?? Names.uniqueResourceName(this, { maxLength: 255, separator: "-" }),
    );
    const deadline = bootDeadline(props.retries);
    this.launchHookTimeout = launchHeartbeatTimeout(
      deadline,
      (props.hookMargin ?? Duration.minutes(10)).toSeconds(),
    );
    const bootConfig = fleetBootConfig({
      repoUrl: props.repository.url,
      repoRef: props.repository.ref ?? "master",
      deployKey: props.repository.deployKey !== undefined,
      knownHosts: props.repository.knownHosts !== undefined,
      role: props.role,
      gate: props.gate,
      groupName: this.groupName,
      terminateHook: props.terminateHook !== undefined,
      retries: props.retries,
      checks: props.checks,
      attributes: props.attributes,
      environment: props.environment,
    });

    // the role and everything it may do, in one resource: a separate AWS::IAM::Policy could be
    // created after the group, and the first boots would be refused their lifecycle calls
    const groupArn = stack.formatArn({
      service: "autoscaling",
      resource: "autoScalingGroup",
      // the group id is AWS's; the name is ours, so no reference to the group (no cycle)
      resourceName: `*:autoScalingGroupName/${this.groupName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const release = props.muster.kind === "asset" ? releaseAssets(this, props.muster) : undefined;
    const statements = [
      new iam.PolicyStatement({
        sid: "MusterLifecycle",
        actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
        resources: [groupArn],
      }),
      ...deployKeyStatements(props.repository.deployKey),
      ...(release ? [release.statement] : []),
    ];
    this.instanceRole = new iam.Role(this, "InstanceRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      description: `muster servers of ${this.groupName}`,
      inlinePolicies: { muster: new iam.PolicyDocument({ statements }) },
    });
    // cdk-nag's AwsSolutions-IAM5 flags the "*" of the group ARN: it stands for the group id,
    // which AWS assigns at creation and which the role cannot name without depending on the group
    (this.instanceRole.node.defaultChild as CfnResource).addMetadata("cdk_nag", {
      rules_to_suppress: [
        {
          id: "AwsSolutions-IAM5",
          reason:
            "the wildcard is the Auto Scaling group id, assigned by AWS at creation; the ARN names this group by its fixed name, so the lifecycle actions are scoped to this group only",
          applies_to: [
            `Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/${this.groupName}`,
          ],
        },
      ],
    });

    const roleSource = props.role.source ?? "security-groups";
    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description:
        roleSource === "security-groups"
          ? `muster role ${props.role.name} (the boot finds the role by this group name)`
          : `muster servers of ${this.groupName}`,
      // the classic setup: the security group's name is the role (docs/boot.md, role)
      securityGroupName:
        roleSource === "security-groups" ? checkRoleSecurityGroupName(props.role.name) : undefined,
      allowAllOutbound: true,
    });
    this.connections = this.securityGroup.connections;

    const gate = gateHealthCheck(props.gate);
    const platform = platformDefaults(props.platform);
    const userData = fleetUserData({
      bootConfig,
      platform: platform.userData,
      muster: release?.source ?? (props.muster as MusterSource),
      node: props.node ?? PINNED_NODE,
      health: !("file" in props.gate),
      region: Aws.REGION,
      deployKey: deployKeySource(props.repository.deployKey),
      knownHosts: props.repository.knownHosts,
    });
    this.launchTemplate = new ec2.LaunchTemplate(this, "LaunchTemplate", {
      instanceType: props.instanceType,
      machineImage: props.machineImage ?? defaultImage(props.platform, props.instanceType),
      userData: ec2.UserData.custom(userData),
      role: this.instanceRole,
      securityGroup: this.securityGroup,
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpEndpoint: true,
      httpPutResponseHopLimit: props.metadataHopLimit ?? 1,
      instanceMetadataTags: needsMetadataTags(props.role),
      // an encrypted root volume: the checkout, the deploy key and the app's data live on it
      blockDevices: [
        {
          deviceName: props.rootVolume?.deviceName ?? platform.rootDevice,
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolume?.sizeGiB ?? 16, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
          }),
        },
      ],
    });

    this.group = new autoscaling.AutoScalingGroup(this, "Group", {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: this.launchTemplate,
      autoScalingGroupName: this.groupName,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      desiredCapacity: props.desiredCapacity,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.seconds(healthCheckGraceSeconds(gate)),
      }),
      updatePolicy: props.updatePolicy,
      notifications: props.notifications,
    });
    const cfnGroup = this.group.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    // hooks in the group itself: created with it, so the very first instances wait too
    // (a separate AWS::AutoScaling::LifecycleHook is created after the group)
    cfnGroup.lifecycleHookSpecificationList = [
      {
        lifecycleHookName: LAUNCH_HOOK_NAME,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        defaultResult: "ABANDON",
        heartbeatTimeout: this.launchHookTimeout,
      },
      ...(props.terminateHook
        ? [
            {
              lifecycleHookName: TERMINATE_HOOK_NAME,
              lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
              defaultResult: props.terminateHook.defaultResult ?? autoscaling.DefaultResult.CONTINUE,
              heartbeatTimeout: launchHeartbeatTimeout(props.terminateHook.heartbeatTimeout.toSeconds(), 0),
            },
          ]
        : []),
    ];
    // the role as a tag on every instance the group launches, read from instance metadata
    if (roleSource === "tag")
      Tags.of(this.group).add(props.role.tagKey ?? "Role", props.role.name, {
        applyToLaunchedInstances: true,
      });

    // a new ref is a new launch template version: the rollout is an instance refresh to it,
    // started after `cdk deploy` (CloudFormation has no instance refresh of its own)
    this.instanceRefreshPreferences = instanceRefreshPreferences(
      props.instanceRefresh,
      healthCheckGraceSeconds(gate),
    );
    this.instanceRefreshCommand = instanceRefreshCommand(
      this.groupName,
      this.launchTemplate.launchTemplateId!,
      this.launchTemplate.latestVersionNumber,
      this.instanceRefreshPreferences,
    );
    new CfnOutput(this, "InstanceRefreshPreferences", {
      description: `muster: the instance refresh preferences of ${this.groupName}`,
      value: JSON.stringify(this.instanceRefreshPreferences),
    });
    new CfnOutput(this, "InstanceRefreshCommand", {
      description: `muster: roll the launch template's latest version out to ${this.groupName} (docs/aws.md)`,
      value: this.instanceRefreshCommand,
    });

    const trafficPort = props.trafficPort ?? 80;
    this.trafficPort = trafficPort;
    this.gatePort = gate.port;
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, "TargetGroup", {
      vpc: props.vpc,
      port: trafficPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      healthCheck: {
        path: gate.path,
        port: gate.port,
        protocol: elbv2.Protocol.HTTP,
        interval: Duration.seconds(gate.intervalSeconds),
        timeout: Duration.seconds(gate.timeoutSeconds),
        healthyThresholdCount: gate.healthyThreshold,
        unhealthyThresholdCount: gate.unhealthyThreshold,
        healthyHttpCodes: gate.matcher,
      },
    });
    this.group.attachToApplicationTargetGroup(this.targetGroup);
  }

  /** Let a load balancer reach the servers on the traffic port and on the gate's port. */
  allowFrom(loadBalancer: ec2.IConnectable): void {
    const ports = new Set([this.trafficPort]);
    if (this.gatePort !== "traffic-port") ports.add(Number(this.gatePort));
    for (const port of ports)
      this.connections.allowFrom(loadBalancer, ec2.Port.tcp(port), "load balancer to muster servers");
  }
}

/** The platform's latest image for the instance type's CPU, from an SSM public parameter at deploy. */
function defaultImage(
  platform: FleetPlatform | undefined,
  instanceType: ec2.InstanceType,
): ec2.IMachineImage {
  const arm = instanceType.architecture === ec2.InstanceArchitecture.ARM_64;
  const ubuntu = platformDefaults(platform).ssmImageParameter;
  if (ubuntu) return ec2.MachineImage.fromSsmParameter(ubuntu(arm ? "arm64" : "amd64"));
  return ec2.MachineImage.latestAmazonLinux2023({
    cpuType: arm ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
  });
}

function deployKeySource(key: DeployKey | undefined): DeployKeySource | undefined {
  if (!key) return undefined;
  // a secret imported by name has only a partial ARN: its name is what finds it for sure
  // (GetSecretValue's SecretId, Secrets Manager API reference)
  if ("secret" in key) return { kind: "secret", secretId: key.secret.secretFullArn ?? key.secret.secretName };
  return { kind: "parameter", parameterName: key.parameter.parameterName };
}

/** Reading the deploy key, and nothing else of the store. */
function deployKeyStatements(key: DeployKey | undefined): iam.PolicyStatement[] {
  if (!key) return [];
  if ("secret" in key) {
    return [
      new iam.PolicyStatement({
        sid: "MusterDeployKey",
        actions: ["secretsmanager:GetSecretValue"],
        // a secret imported by name has only a partial ARN, without the "-" and six random
        // characters AWS adds to every secret's (CreateSecret's ARN, Secrets Manager API
        // reference): the statement needs -?????? then, or it matches no secret at all. What
        // the secret's own grantRead does; inline here, as everything the role may do
        resources: [key.secret.secretFullArn ?? `${key.secret.secretArn}-??????`],
      }),
      ...(key.secret.encryptionKey ? [decryptStatement(key.secret.encryptionKey)] : []),
    ];
  }
  return [
    new iam.PolicyStatement({
      sid: "MusterDeployKey",
      actions: ["ssm:GetParameter"],
      resources: [key.parameter.parameterArn],
    }),
    ...(key.encryptionKey ? [decryptStatement(key.encryptionKey)] : []),
  ];
}

function decryptStatement(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: "MusterDeployKeyDecrypt",
    actions: ["kms:Decrypt"],
    resources: [key.keyArn],
  });
}
