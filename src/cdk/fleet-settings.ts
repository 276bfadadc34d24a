/**
 * What the MusterFleet construct decides from its props, without CDK: the boot config the
 * servers get, the lifecycle hook's heartbeat timeout, the health check grace period and the
 * target group's health check. PURE: plain values in, plain values out, so each rule is tested
 * without a synth.
 */
import { parseBootConfig } from "../boot/boot-config.ts";
import { errorMessage } from "../core/errors.ts";
import { LIFECYCLE_HOOK } from "../core/schema-parts.ts";
import { holdsCredentials } from "../resources/git-credentials.ts";

/** Where the deploy key and known_hosts land on the server (the boot config names them). */
export const DEPLOY_KEY_PATH = "/etc/muster/deploy_key";
export const KNOWN_HOSTS_PATH = "/etc/muster/known_hosts";
/** The launch hook's name, as the boot config and the group's hook list both say it. */
export const LAUNCH_HOOK_NAME = "muster-launch";
export const TERMINATE_HOOK_NAME = "muster-terminate";

/**
 * Where a server's role comes from (docs/boot.md, `role`):
 * - `security-groups`: the instance's security group is named for the role (the classic setup);
 * - `tag`: the instance tag `tagKey` holds the role (tags are allowed in instance metadata);
 * - `autoscaling-group`: the group's name is the role;
 * - `static`: every server has this role.
 */
export type RoleSourceKind = "security-groups" | "tag" | "autoscaling-group" | "static";

export interface FleetRole {
  /** the role: a `roles/<name>.json` of the config repository */
  name: string;
  /** @default "security-groups" */
  source?: RoleSourceKind;
  /** the tag key for `source: "tag"` @default "Role" */
  tagKey?: string;
}

/** The health gate the load balancer checks (docs/boot.md, "The health gate"). */
export type FleetGate =
  /** a file the server's own web server serves on the traffic port, e.g. /var/www/html/ping.html at /ping.html */
  | { file: string; path: string }
  /** muster's own health endpoint (`muster health serve`) on its own port */
  | { httpPort: number; path?: string; appCheck?: string };

export interface FleetRetries {
  attempts?: number;
  backoffBase?: number;
  backoffCap?: number;
  /** seconds: the longest a boot may take, all attempts included @default 1800 */
  deadline?: number;
}

export interface BootConfigInput {
  repoUrl: string;
  repoRef: string;
  deployKey: boolean;
  knownHosts: boolean;
  role: FleetRole;
  gate: FleetGate;
  groupName: string;
  /** the group has muster-terminate: muster watch completes it once the server has departed */
  terminateHook?: boolean;
  retries?: FleetRetries;
  checks?: { url: string; status?: number; timeout?: number }[];
  attributes?: Record<string, unknown>;
  environment?: string;
}

/** Thrown for props that cannot make a working fleet: one line naming the prop and what to do. */
export class FleetPropsError extends Error {
  constructor(message: string) {
    super(`MusterFleet: ${message}`);
    this.name = "FleetPropsError";
  }
}

export function roleSourceString(role: FleetRole): string {
  switch (role.source ?? "security-groups") {
    case "security-groups":
      return "security-groups";
    case "tag":
      return `tag:${role.tagKey ?? "Role"}`;
    case "autoscaling-group":
      return "autoscaling-group";
    case "static":
      return `static:${role.name}`;
  }
}

/** The role is read from instance tags (the group's name is one), which IMDS shows only when enabled. */
export function needsMetadataTags(role: FleetRole): boolean {
  const source = role.source ?? "security-groups";
  return source === "tag" || source === "autoscaling-group";
}

/**
 * The boot config the servers get, as an object (written to /etc/muster/boot.json). The group
 * is named in `lifecycle.group`, so the lifecycle calls work whether or not tags are in the
 * instance metadata. Validated with muster's own schema, so a prop the boot would refuse fails
 * the synth instead of every boot.
 */
export function fleetBootConfig(input: BootConfigInput): Record<string, unknown> {
  if (holdsCredentials(input.repoUrl))
    throw new FleetPropsError(
      "repository.url holds credentials, which would be in the user data every process on the server can read; use an ssh URL with repository.deployKey",
    );
  if (input.deployKey && !input.knownHosts)
    throw new FleetPropsError(
      "repository.deployKey needs repository.knownHosts (the git server's host key lines): muster always checks host keys",
    );
  const gate =
    "file" in input.gate
      ? { file: input.gate.file }
      : {
          http: {
            port: input.gate.httpPort,
            path: input.gate.path ?? "/health",
            ...(input.gate.appCheck ? { appCheck: input.gate.appCheck } : {}),
          },
        };
  const config: Record<string, unknown> = {
    repo: {
      url: input.repoUrl,
      ref: input.repoRef,
      ...(input.deployKey ? { sshKey: DEPLOY_KEY_PATH } : {}),
      ...(input.knownHosts ? { knownHosts: KNOWN_HOSTS_PATH } : {}),
    },
    role: roleSourceString(input.role),
    gate,
    lifecycle: {
      hook: LAUNCH_HOOK_NAME,
      group: input.groupName,
      // without it nothing completes the hook, and every scale-in and replacement waits out its
      // heartbeat timeout (the rehearsal gives its instances the hook the group has, as here)
      ...(input.terminateHook ? { terminateHook: TERMINATE_HOOK_NAME } : {}),
    },
    ...(input.retries ? { retries: input.retries } : {}),
    ...(input.checks ? { checks: input.checks } : {}),
    ...(input.attributes ? { attributes: input.attributes } : {}),
    ...(input.environment ? { environment: input.environment } : {}),
  };
  try {
    parseBootConfig(config, "MusterFleet boot config");
  } catch (err) {
    throw new FleetPropsError(errorMessage(err).replaceAll("\n", "; "));
  }
  return config;
}

/** The boot's retries.deadline in seconds, as the boot config's default gives it. */
export function bootDeadline(retries: FleetRetries | undefined): number {
  return retries?.deadline ?? 1800;
}

/**
 * The launch hook's heartbeat timeout: the whole boot (its deadline) plus `marginSeconds` for
 * what runs before it (cloud-init installing Node.js and muster on a plain image), so a boot that
 * dies without a word is still given all of its time before the hook's default result (ABANDON)
 * decides. Within AWS's 30..7200 s; a deadline that does not fit is refused rather than cut,
 * since a cut timeout would abandon healthy slow boots whose heartbeats stopped.
 */
export function launchHeartbeatTimeout(deadlineSeconds: number, marginSeconds: number): number {
  const timeout = Math.ceil(deadlineSeconds + marginSeconds);
  if (timeout > LIFECYCLE_HOOK.heartbeatTimeoutMax)
    throw new FleetPropsError(
      `retries.deadline (${deadlineSeconds} s) + hookMargin (${marginSeconds} s) is more than ${LIFECYCLE_HOOK.heartbeatTimeoutMax} s, the longest heartbeat timeout AWS allows; lower retries.deadline or hookMargin`,
    );
  return Math.max(LIFECYCLE_HOOK.heartbeatTimeoutMin, timeout);
}

export interface GateHealthCheck {
  path: string;
  /** "traffic-port" or a port number as text, as the target group takes it */
  port: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  matcher: "200";
}

/**
 * The target group's health check on the gate: 200 only (the gate answers 503 while closed; a
 * redirect or a 404 from a web server that lost the gate file must not count as healthy).
 */
export function gateHealthCheck(gate: FleetGate): GateHealthCheck {
  const common = {
    intervalSeconds: 10,
    timeoutSeconds: 5,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    matcher: "200" as const,
  };
  if ("file" in gate) return { path: gate.path, port: "traffic-port", ...common };
  return { path: gate.path ?? "/health", port: String(gate.httpPort), ...common };
}

/**
 * The health check grace period. It starts when the instance goes InService, which with a
 * launch hook is after the boot opened the gate and completed the hook; the target is
 * registered then, and needs `healthyThreshold` passing checks to be healthy. So the grace
 * covers those checks and one more interval, not the boot (AWS: "Set the health check grace
 * period for an Auto Scaling group").
 */
export function healthCheckGraceSeconds(check: GateHealthCheck): number {
  return (check.healthyThreshold + 1) * check.intervalSeconds + check.timeoutSeconds;
}

/** An Auto Scaling group name: 1..255 characters; muster's boot config takes the same. */
export function checkGroupName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(name))
    throw new FleetPropsError(
      `groupName "${name}": use 1 to 255 letters, digits, dots, dashes or underscores (it is part of the IAM policy's group ARN)`,
    );
  return name;
}

/** A security group named for the role: AWS refuses names starting with "sg-" and longer than 255. */
export function checkRoleSecurityGroupName(name: string): string {
  if (name.startsWith("sg-") || !/^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]{1,255}$/.test(name))
    throw new FleetPropsError(
      `role.name "${name}" cannot name a security group (role source security-groups): AWS allows 1 to 255 characters, not starting with "sg-"`,
    );
  return name;
}

/** The image's platform: what the default image is, and how the user data installs Node.js. */
export type FleetPlatform = "al2023" | "ubuntu";

export interface PlatformDefaults {
  /** the user data's platform (src/boot/user-data.ts): Ubuntu takes Debian's steps */
  userData: "al2023" | "debian";
  /** the root volume's device name on that platform's images */
  rootDevice: string;
  /** the SSM public parameter of the latest image for a CPU, for Ubuntu (AL2023 has CDK's own) */
  ssmImageParameter?: (cpu: "amd64" | "arm64") => string;
}

/**
 * Per platform: Amazon Linux 2023 (the default: Node.js 20 from dnf, the AWS CLI in the image)
 * or Ubuntu 24.04 LTS (Node.js from its checked tarball, the AWS CLI from its snap). Both default
 * images are read from SSM public parameters at deploy time, so a synth needs no AWS account.
 */
export function platformDefaults(platform: FleetPlatform | undefined): PlatformDefaults {
  switch (platform ?? "al2023") {
    case "al2023":
      return { userData: "al2023", rootDevice: "/dev/xvda" };
    case "ubuntu":
      return {
        userData: "debian",
        rootDevice: "/dev/sda1",
        ssmImageParameter: (cpu) =>
          `/aws/service/canonical/ubuntu/server/24.04/stable/current/${cpu}/hvm/ebs-gp3/ami-id`,
      };
    default:
      throw new FleetPropsError(`platform "${platform}": use "al2023" or "ubuntu"`);
  }
}

/**
 * The SHA-256 of a release archive, as computed from its bytes, checked against the
 * `<archive>.sha256` line `npm run release` wrote beside it (sha256sum's format) when there is one:
 * an archive that does not match its own .sha256 was changed or mixed up after the release.
 */
export function checkReleaseDigest(file: string, computed: string, sha256File: string | undefined): string {
  if (sha256File === undefined) return computed;
  const written = sha256File.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
  if (!/^[0-9a-f]{64}$/.test(written))
    throw new FleetPropsError(`${file}.sha256: not a sha256sum line; run npm run release again`);
  if (written !== computed)
    throw new FleetPropsError(
      `muster archive ${file}: its SHA-256 is ${computed}, but ${file}.sha256 says ${written}; the archive was changed after the release: run npm run release again`,
    );
  return computed;
}

/** How a config change rolls out: the preferences of `aws autoscaling start-instance-refresh`. */
export interface FleetInstanceRefresh {
  /** percent of desired capacity kept healthy while instances are replaced @default 90 */
  minHealthyPercentage?: number;
  /** seconds a new instance must be healthy before it counts @default the health check grace period */
  instanceWarmup?: number;
  /** percentages replaced at which the refresh pauses, ascending, ending at 100 @default [50, 100] */
  checkpointPercentages?: readonly number[];
  /** seconds each checkpoint waits @default 600 */
  checkpointDelay?: number;
  /** leave instances already on the new launch template version alone @default true */
  skipMatching?: boolean;
  /** a failed replacement rolls the group back to the previous version @default true */
  autoRollback?: boolean;
}

/** StartInstanceRefresh's Preferences, in the API's own field names. */
export interface InstanceRefreshPreferences {
  MinHealthyPercentage: number;
  InstanceWarmup: number;
  CheckpointPercentages: number[];
  CheckpointDelay: number;
  SkipMatching: boolean;
  AutoRollback: boolean;
}

/**
 * The instance refresh's preferences, with the rollout muster rehearses (`muster fleet refresh
 * --checkpoints 50,100 --auto-rollback`) as the default: half the fleet first, a pause to look,
 * and a failed canary (a launch the hook abandoned, or an unhealthy target) rolls back by itself.
 * Values AWS would refuse, and checkpoints that stop before the whole fleet is replaced, fail the
 * synth instead of the rollout.
 */
export function instanceRefreshPreferences(
  input: FleetInstanceRefresh | undefined,
  graceSeconds: number,
): InstanceRefreshPreferences {
  const prefs: InstanceRefreshPreferences = {
    MinHealthyPercentage: input?.minHealthyPercentage ?? 90,
    InstanceWarmup: input?.instanceWarmup ?? graceSeconds,
    CheckpointPercentages: [...(input?.checkpointPercentages ?? [50, 100])],
    CheckpointDelay: input?.checkpointDelay ?? 600,
    SkipMatching: input?.skipMatching ?? true,
    AutoRollback: input?.autoRollback ?? true,
  };
  const whole = (n: number, min: number, max: number) => Number.isInteger(n) && n >= min && n <= max;
  if (!whole(prefs.MinHealthyPercentage, 0, 100))
    throw new FleetPropsError(
      `instanceRefresh.minHealthyPercentage ${prefs.MinHealthyPercentage}: give a whole number from 0 to 100`,
    );
  if (!whole(prefs.InstanceWarmup, 0, Number.MAX_SAFE_INTEGER))
    throw new FleetPropsError(
      `instanceRefresh.instanceWarmup ${prefs.InstanceWarmup}: give whole seconds, 0 or more`,
    );
  if (!whole(prefs.CheckpointDelay, 0, 172800))
    throw new FleetPropsError(
      `instanceRefresh.checkpointDelay ${prefs.CheckpointDelay}: give whole seconds, 0 to 172800 (two days)`,
    );
  const points = prefs.CheckpointPercentages;
  if (
    points.length > 0 &&
    (!points.every((p, i) => whole(p, 1, 100) && (i === 0 || p > points[i - 1]!)) || points.at(-1) !== 100)
  )
    throw new FleetPropsError(
      `instanceRefresh.checkpointPercentages [${points.join(", ")}]: give ascending whole percentages from 1 to 100 ending at 100 (or none), e.g. [50, 100]`,
    );
  return prefs;
}

/**
 * The command an operator (or a pipeline) runs after `cdk deploy` to roll the new launch template
 * version out. The desired configuration names that version: AWS rolls back only a refresh that
 * has one (and only to a numbered version, which the group uses).
 */
export function instanceRefreshCommand(
  groupName: string,
  launchTemplateId: string,
  version: string,
  prefs: InstanceRefreshPreferences,
): string {
  const desired = `{"LaunchTemplate":{"LaunchTemplateId":"${launchTemplateId}","Version":"${version}"}}`;
  return `aws autoscaling start-instance-refresh --auto-scaling-group-name ${groupName} --desired-configuration '${desired}' --preferences '${JSON.stringify(prefs)}'`;
}
