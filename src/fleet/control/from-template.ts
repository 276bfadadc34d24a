/**
 * `muster fleet up --from-template`: a synthesized CloudFormation template read as the AWS side of
 * a rehearsal. PURE: the template's JSON in, a partial fleet.yaml object out (group capacity,
 * hooks, health checks, the launch template's metadata options, the instance role's policy, the
 * boot config in the user data) and the list of everything in the template the rehearsal does
 * not follow, each with why. Nothing is dropped without a line in that list: a rehearsal that
 * silently ignored an update policy or a reference it could not resolve would pass where the
 * deploy does something else.
 *
 * Intrinsic functions are resolved where a rehearsal can know their value before a deploy:
 * pseudo parameters (the rehearsal's region and account), parameters with a Default, Fn::Join,
 * Fn::Sub, Fn::Select, Fn::Split, Fn::FindInMap, Fn::Base64. A Ref or Fn::GetAtt of a resource
 * names its physical id, known only once deployed: it is followed as a link between resources
 * (the group's launch template, the instance profile's role), never as a value.
 */
import YAML from "yaml";
import { InputError } from "../../core/errors.ts";

export interface NotRehearsed {
  /** the logical id of the resource */
  resource: string;
  /** the property (dotted path) or resource attribute; none: the whole resource */
  property?: string;
  why: string;
}

export interface TemplateRehearsal {
  /** the Auto Scaling group's logical id */
  group: string;
  /** fleet.yaml fields the template sets (the template's values win over fleet.yaml's) */
  fleet: Record<string, any>;
  notRehearsed: NotRehearsed[];
}

export interface TemplateContext {
  /** --group: the group's logical id, required when the template has several */
  group?: string;
  /** what Ref AWS::Region resolves to when the group's zones are not literal */
  region: string;
  account: string;
}

/** One line of `fleet up`'s output and of the docs: "not rehearsed: Id.Property: why". */
export function notRehearsedLine(n: NotRehearsed): string {
  return `not rehearsed: ${n.resource}${n.property ? `.${n.property}` : ""}: ${n.why}`;
}

type Json = unknown;
type Resource = { Type: string; Properties?: Record<string, Json>; [attr: string]: Json };

const GROUP = "AWS::AutoScaling::AutoScalingGroup";
const LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING";
const TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING";
/** The target group attribute a rehearsal follows; the others are listed. */
const DEREGISTRATION_DELAY = "deregistration_delay.timeout_seconds";
/** Where muster's user data writes the boot config (src/boot/user-data.ts). */
const BOOT_CONFIG_PATH = /^\/etc\/muster\/boot\.(json|ya?ml)$/;

/** A value that cannot be known before a deploy, and why. */
class Unresolved extends Error {}

const isRecord = (v: Json): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The one key of an intrinsic function object ({"Fn::Join": ...}), if `v` is one. */
function intrinsic(v: Json): [string, Json] | undefined {
  if (!isRecord(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const k = keys[0]!;
  return k === "Ref" || k.startsWith("Fn::") || k === "Condition" ? [k, v[k]] : undefined;
}

/** Why a property names a value only a deploy knows (or a function this reader does not run). */
function unresolvedWhy(fn: string, arg: Json): string {
  if (fn === "Fn::GetAtt") {
    const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(".");
    return `Fn::GetAtt ${id}.${attr} is known only once deployed`;
  }
  if (fn === "Fn::GetAZs") return "Fn::GetAZs lists the account's zones, known only in the account";
  if (fn === "Fn::ImportValue") return "Fn::ImportValue reads another stack's export";
  if (fn === "Fn::If") return "Fn::If depends on a Condition, which the rehearsal does not evaluate";
  return `${fn} is not resolved by the rehearsal`;
}

const NO_VALUE = Symbol("AWS::NoValue");

class Resolver {
  constructor(
    private readonly template: Record<string, Json>,
    private readonly pseudo: Record<string, string>,
  ) {}

  private get resources(): Record<string, Json> {
    return (this.template.Resources as Record<string, Json>) ?? {};
  }

  /** The value of `v` with every intrinsic function resolved, or Unresolved. */
  value(v: Json): Json {
    const fn = intrinsic(v);
    if (!fn) {
      if (Array.isArray(v)) return v.map((x) => this.value(x)).filter((x) => x !== NO_VALUE);
      if (isRecord(v))
        return Object.fromEntries(
          Object.entries(v)
            .map(([k, x]) => [k, this.value(x)] as const)
            .filter(([, x]) => x !== NO_VALUE),
        );
      return v;
    }
    const [name, arg] = fn;
    switch (name) {
      case "Ref":
        return this.ref(String(arg));
      case "Fn::Join": {
        const [sep, parts] = arg as [string, Json[]];
        const list = this.value(parts);
        if (!Array.isArray(list)) throw new Unresolved("Fn::Join of something not a list");
        return list.map(String).join(sep);
      }
      case "Fn::Sub":
        return this.sub(arg);
      case "Fn::Base64":
        return String(this.value(arg));
      case "Fn::Select": {
        const [index, list] = arg as [Json, Json];
        const items = this.value(list);
        const i = Number(this.value(index));
        if (!Array.isArray(items) || !(i >= 0 && i < items.length))
          throw new Unresolved(`Fn::Select ${i} out of its list`);
        return items[i];
      }
      case "Fn::Split": {
        const [sep, text] = arg as [string, Json];
        return String(this.value(text)).split(sep);
      }
      case "Fn::FindInMap": {
        const [map, top, second] = (arg as Json[]).map((x) => String(this.value(x)));
        const mappings = (this.template.Mappings ?? {}) as Record<string, any>;
        const found = mappings[map!]?.[top!]?.[second!];
        if (found === undefined)
          throw new Unresolved(`Fn::FindInMap ${map}.${top}.${second} has no value in Mappings`);
        return found;
      }
      default:
        throw new Unresolved(unresolvedWhy(name, arg));
    }
  }

  private ref(name: string): Json {
    if (name === "AWS::NoValue") return NO_VALUE;
    if (name in this.pseudo) return this.pseudo[name];
    if (name.startsWith("AWS::")) throw new Unresolved(`Ref ${name} is known only once deployed`);
    const param = (this.template.Parameters as Record<string, any> | undefined)?.[name];
    if (param !== undefined) {
      if (String(param.Type ?? "").startsWith("AWS::SSM::Parameter::Value"))
        throw new Unresolved(`Ref ${name}: a parameter read from SSM Parameter Store at deploy`);
      if (param.Default === undefined) throw new Unresolved(`Ref ${name}: a parameter without a Default`);
      return param.Default;
    }
    if (name in this.resources)
      throw new Unresolved(`Ref ${name}: its physical id is known only once deployed`);
    throw new Unresolved(`Ref ${name}: no such parameter or resource`);
  }

  private sub(arg: Json): string {
    const [text, vars] = Array.isArray(arg)
      ? [String(arg[0]), (arg[1] ?? {}) as Record<string, Json>]
      : [String(arg), {}];
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
      if (name in vars) return String(this.value(vars[name]));
      if (name.includes(".")) throw new Unresolved(unresolvedWhy("Fn::GetAtt", name));
      return String(this.ref(name));
    });
  }

  /** The logical id a Ref or Fn::GetAtt points to, when it names a resource of the template. */
  target(v: Json): string | undefined {
    const fn = intrinsic(v);
    if (!fn) return undefined;
    const [name, arg] = fn;
    const id =
      name === "Ref"
        ? String(arg)
        : name === "Fn::GetAtt"
          ? String(Array.isArray(arg) ? arg[0] : String(arg).split(".")[0])
          : undefined;
    return id !== undefined && id in this.resources ? id : undefined;
  }
}

/** Collects the partial fleet.yaml and the list of what is not followed. */
class Rehearsal {
  readonly fleet: Record<string, any> = {};
  readonly notRehearsed: NotRehearsed[] = [];
  constructor(readonly r: Resolver) {}

  set(path: string, value: Json): void {
    const keys = path.split(".");
    let at = this.fleet;
    for (const k of keys.slice(0, -1)) at = at[k] ??= {};
    at[keys.at(-1)!] = value;
  }

  skip(resource: string, property: string | undefined, why: string): void {
    this.notRehearsed.push({ resource, property, why });
  }

  /** Resolve `v` and hand it to `use`; an unresolvable value is listed instead. */
  with(resource: string, property: string, v: Json, use: (value: Json) => void): void {
    try {
      use(this.r.value(v));
    } catch (err) {
      if (!(err instanceof Unresolved)) throw err;
      this.skip(resource, property, err.message);
    }
  }
}

const toNumber = (v: Json): number => (typeof v === "string" && v.trim() !== "" ? Number(v) : (v as number));

/**
 * Per resource type: properties with no effect on how the fleet behaves (descriptions, the
 * trust policy every instance profile role has), followed by being read, not listed.
 */
const INERT: Record<string, string[]> = {
  "AWS::IAM::Role": ["AssumeRolePolicyDocument", "Description", "Path", "Tags", "MaxSessionDuration"],
  "AWS::IAM::InstanceProfile": ["InstanceProfileName", "Path"],
  "AWS::IAM::Policy": ["PolicyName"],
  "AWS::EC2::SecurityGroup": ["GroupDescription", "Tags"],
  "AWS::ElasticLoadBalancingV2::TargetGroup": [
    "Name",
    "Tags",
    "TargetType",
    "Protocol",
    "HealthCheckProtocol",
  ],
};

/** Resource types around a fleet, and why a rehearsal leaves each out. */
function resourceWhy(type: string): string {
  if (
    /^AWS::EC2::(VPC|Subnet|RouteTable|Route|NatGateway|EIP|InternetGateway|VPCGatewayAttachment|SubnetRouteTableAssociation|FlowLog|VPCEndpoint)/.test(
      type,
    )
  )
    return `${type}: networking; the rehearsal's instances are on loopback addresses (instances.addresses)`;
  if (type === "AWS::AutoScaling::ScalingPolicy" || type === "AWS::AutoScaling::ScheduledAction")
    return `${type}: scaling policies are not rehearsed (fleet.yaml group.targetTracking sets the rehearsal's own)`;
  if (
    type === "AWS::ElasticLoadBalancingV2::LoadBalancer" ||
    type === "AWS::ElasticLoadBalancingV2::Listener"
  )
    return `${type}: the rehearsal's load balancer is its own, on loopback (loadBalancer in fleet.yaml)`;
  if (type === "AWS::EC2::SecurityGroupIngress" || type === "AWS::EC2::SecurityGroupEgress")
    return `${type}: network rules; every address of the rehearsal is loopback`;
  return `${type}: not part of a fleet rehearsal`;
}

/**
 * Read `template` (a synthesized CloudFormation template) for the rehearsal of one Auto Scaling
 * group. `where` names the file in messages. Throws InputError when the group cannot be chosen.
 */
export function rehearseTemplate(template: Json, where: string, ctx: TemplateContext): TemplateRehearsal {
  if (!isRecord(template) || !isRecord(template.Resources))
    throw new InputError(
      `${where}: not a CloudFormation template (no Resources); pass cdk.out/<Stack>.template.json`,
    );
  const resources = template.Resources as Record<string, Resource>;
  const groups = Object.keys(resources).filter((id) => resources[id]?.Type === GROUP);
  const group = chooseGroup(groups, where, ctx.group);
  const groupProps = resources[group]!.Properties ?? {};
  // the region: the group's literal zones when it names them, else the rehearsal's own
  const zones = groupProps.AvailabilityZones;
  const region =
    Array.isArray(zones) && typeof zones[0] === "string" && /\d[a-z]$/.test(zones[0])
      ? zones[0].slice(0, -1)
      : ctx.region;
  const resolver = new Resolver(template, {
    "AWS::Region": region,
    "AWS::AccountId": ctx.account,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
  });
  const reh = new Rehearsal(resolver);
  const followed = new Set<string>([group]);
  const follow = (id: string | undefined, type: string): id is string => {
    if (id === undefined || resources[id]?.Type !== type) return false;
    followed.add(id);
    return true;
  };

  const launchTemplate = readGroup(reh, group, resources, follow);
  readHookResources(reh, group, resources, follow);
  if (launchTemplate) readLaunchTemplate(reh, launchTemplate, resources, follow);
  else reh.set("instances.iamRole.policy", { Version: "2012-10-17", Statement: [] });

  for (const [id, res] of Object.entries(resources)) {
    if (followed.has(id) || res?.Type === "AWS::CDK::Metadata") continue;
    if (res?.Type === GROUP)
      reh.skip(id, undefined, `${GROUP}: another group (rehearse it with --group ${id})`);
    else reh.skip(id, undefined, resourceWhy(String(res?.Type)));
  }
  return { group, fleet: reh.fleet, notRehearsed: reh.notRehearsed };
}

function chooseGroup(groups: string[], where: string, wanted: string | undefined): string {
  if (groups.length === 0)
    throw new InputError(`${where}: no ${GROUP} in its Resources; synthesize the stack that holds the fleet`);
  if (wanted !== undefined) {
    if (groups.includes(wanted)) return wanted;
    throw new InputError(
      `${where}: --group ${wanted}: no such Auto Scaling group; the template's groups: ${groups.join(", ")}`,
    );
  }
  if (groups.length > 1)
    throw new InputError(
      `${where}: ${groups.length} Auto Scaling groups (${groups.join(", ")}); choose one with --group`,
    );
  return groups[0]!;
}

type Follow = (id: string | undefined, type: string) => boolean;

/** The group's own properties; returns the launch template's logical id when it can be followed. */
function readGroup(
  reh: Rehearsal,
  id: string,
  resources: Record<string, Resource>,
  follow: Follow,
): string | undefined {
  const res = resources[id]!;
  const props = res.Properties ?? {};
  let launchTemplate: string | undefined;
  let hooksSeen = false;
  for (const [key, raw] of Object.entries(props)) {
    switch (key) {
      case "AutoScalingGroupName":
        reh.with(id, key, raw, (v) => reh.set("group.name", v));
        break;
      case "MinSize":
        reh.with(id, key, raw, (v) => reh.set("group.min", toNumber(v)));
        break;
      case "MaxSize":
        reh.with(id, key, raw, (v) => reh.set("group.max", toNumber(v)));
        break;
      case "DesiredCapacity":
        reh.with(id, key, raw, (v) => reh.set("group.desired", toNumber(v)));
        break;
      case "HealthCheckType":
        reh.with(id, key, raw, (v) => {
          // "EC2,ELB" (additional health check types) counts ELB as AWS does
          const types = String(v)
            .split(",")
            .map((t) => t.trim());
          if (types.includes("ELB")) reh.set("group.healthCheckType", "ELB");
          else if (types.every((t) => t === "EC2")) reh.set("group.healthCheckType", "EC2");
          else reh.skip(id, key, `${v}: only EC2 and ELB health checks are rehearsed`);
        });
        break;
      case "HealthCheckGracePeriod":
        reh.with(id, key, raw, (v) => reh.set("group.healthCheckGracePeriod", toNumber(v)));
        break;
      case "AvailabilityZones":
        reh.with(id, key, raw, (v) => reh.set("group.availabilityZones", v));
        break;
      case "LaunchTemplate": {
        const lt = isRecord(raw) ? raw : {};
        const ltId = reh.r.target(lt.LaunchTemplateId ?? lt.LaunchTemplateName);
        if (follow(ltId, "AWS::EC2::LaunchTemplate")) launchTemplate = ltId;
        else reh.skip(id, `${key}.LaunchTemplateId`, "names a launch template outside this template");
        if (lt.Version !== undefined)
          reh.with(id, `${key}.Version`, lt.Version, (v) =>
            reh.set("group.launchTemplate.version", String(v)),
          );
        break;
      }
      case "LifecycleHookSpecificationList":
        hooksSeen = true;
        reh.with(id, key, raw, (v) => readHooks(reh, id, key, (v as Record<string, Json>[]) ?? []));
        break;
      case "TargetGroupARNs": {
        const list = Array.isArray(raw) ? raw : [];
        list.forEach((arn, i) => {
          const tg = reh.r.target(arn);
          if (i === 0 && follow(tg, "AWS::ElasticLoadBalancingV2::TargetGroup"))
            readTargetGroup(reh, tg!, resources[tg!]!);
          else
            reh.skip(
              id,
              `${key}[${i}]`,
              i === 0
                ? "a target group outside this template"
                : "the rehearsal has one target group (the first)",
            );
        });
        break;
      }
      case "Tags":
        readTags(reh, id, raw);
        break;
      case "VPCZoneIdentifier":
        reh.skip(
          id,
          key,
          "subnets: the rehearsal's instances are on loopback addresses (instances.addresses)",
        );
        break;
      case "LaunchConfigurationName":
        reh.skip(id, key, "launch configurations are not rehearsed; use a launch template");
        break;
      case "MixedInstancesPolicy":
        reh.skip(id, key, "instances are launched from one launch template, of one instance type");
        break;
      case "LoadBalancerNames":
        reh.skip(id, key, "Classic Load Balancers are not rehearsed; a target group is");
        break;
      case "NotificationConfigurations":
        reh.skip(id, key, "scaling notifications are not sent (fleet events lists them)");
        break;
      case "TerminationPolicies":
        reh.skip(id, key, "the rehearsal terminates the oldest instance first (OldestInstance)");
        break;
      default:
        reh.skip(id, key, "a group property the rehearsal does not follow");
    }
  }
  // no hooks in the template: none in the rehearsal either (fleet.yaml's would hide their absence)
  if (!hooksSeen) {
    reh.set("group.launchHook", false);
    reh.set("group.terminateHook", false);
  }
  for (const attr of ["UpdatePolicy", "CreationPolicy"])
    if (res[attr] !== undefined)
      reh.skip(
        id,
        attr,
        `${attr === "UpdatePolicy" ? "rolling and replacing updates" : "creation signals"} are not rehearsed (\`muster fleet refresh\` rehearses an instance refresh)`,
      );
  if (res.Condition !== undefined)
    reh.skip(
      id,
      "Condition",
      `the group is created only when ${String(res.Condition)} holds; rehearsed as if it did`,
    );
  return launchTemplate;
}

function readHooks(reh: Rehearsal, id: string, key: string, hooks: Record<string, Json>[]): void {
  const seen = { launch: false, terminate: false };
  for (const [i, h] of hooks.entries()) {
    const transition = h.LifecycleTransition;
    const kind = transition === LAUNCHING ? "launch" : transition === TERMINATING ? "terminate" : undefined;
    const at = `${key}[${i}]`;
    if (!kind) {
      reh.skip(id, at, `transition ${String(transition)} is not rehearsed`);
      continue;
    }
    if (seen[kind]) {
      reh.skip(id, at, `a second ${kind} hook; the rehearsal runs one of each`);
      continue;
    }
    seen[kind] = true;
    reh.set(`group.${kind}Hook`, hookFields(h));
    for (const extra of ["NotificationTargetARN", "RoleARN", "NotificationMetadata"])
      if (h[extra] !== undefined) reh.skip(id, `${at}.${extra}`, "hook notifications are not sent");
  }
  if (!seen.launch) reh.set("group.launchHook", false);
  if (!seen.terminate) reh.set("group.terminateHook", false);
}

function hookFields(h: Record<string, Json>): Record<string, Json> {
  return {
    ...(h.LifecycleHookName !== undefined ? { name: h.LifecycleHookName } : {}),
    // AWS's defaults when left out: 3600 s, ABANDON
    heartbeatTimeout: h.HeartbeatTimeout !== undefined ? toNumber(h.HeartbeatTimeout) : 3600,
    defaultResult: h.DefaultResult ?? "ABANDON",
  };
}

/** AWS::AutoScaling::LifecycleHook resources of the group: hooks as the list gives them. */
function readHookResources(
  reh: Rehearsal,
  group: string,
  resources: Record<string, Resource>,
  follow: Follow,
): void {
  const hooks = Object.entries(resources).filter(
    ([, r]) =>
      r?.Type === "AWS::AutoScaling::LifecycleHook" &&
      reh.r.target(r.Properties?.AutoScalingGroupName) === group,
  );
  for (const [hid, r] of hooks) {
    follow(hid, "AWS::AutoScaling::LifecycleHook");
    reh.with(hid, "Properties", r.Properties ?? {}, (v) => {
      const p = v as Record<string, Json>;
      const kind =
        p.LifecycleTransition === LAUNCHING
          ? "launch"
          : p.LifecycleTransition === TERMINATING
            ? "terminate"
            : undefined;
      if (!kind)
        return reh.skip(hid, "LifecycleTransition", `${String(p.LifecycleTransition)} is not rehearsed`);
      reh.set(`group.${kind}Hook`, hookFields(p));
    });
  }
}

function readTags(reh: Rehearsal, id: string, raw: Json): void {
  const list = Array.isArray(raw) ? raw : [];
  list.forEach((t, i) => {
    reh.with(id, `Tags[${i}]`, t, (v) => {
      const tag = v as { Key: string; Value: string; PropagateAtLaunch?: Json };
      if (String(tag.PropagateAtLaunch) !== "true") return; // not on instances: nothing to rehearse
      if (tag.Key === "Name" || tag.Key.startsWith("aws:"))
        return reh.skip(id, `Tags[${i}]`, `${tag.Key}: set by the rehearsal itself`);
      reh.set(`role.tags.${tag.Key}`, String(tag.Value));
    });
  });
}

function readTargetGroup(reh: Rehearsal, id: string, res: Resource): void {
  const map: Record<string, [string, (v: Json) => Json]> = {
    HealthCheckPath: ["loadBalancer.healthCheck.path", String],
    HealthCheckPort: ["loadBalancer.healthCheck.port", (v) => (v === "traffic-port" ? v : toNumber(v))],
    HealthCheckIntervalSeconds: ["loadBalancer.healthCheck.interval", toNumber],
    HealthCheckTimeoutSeconds: ["loadBalancer.healthCheck.timeout", toNumber],
    HealthyThresholdCount: ["loadBalancer.healthCheck.healthyThreshold", toNumber],
    UnhealthyThresholdCount: ["loadBalancer.healthCheck.unhealthyThreshold", toNumber],
    Matcher: ["loadBalancer.healthCheck.matcher", (v) => String((v as { HttpCode?: Json }).HttpCode)],
  };
  // AWS's defaults for what the template leaves out, not the rehearsal's fast preset
  reh.set("loadBalancer.preset", "aws");
  for (const [key, raw] of Object.entries(res.Properties ?? {})) {
    const m = map[key];
    if (m) reh.with(id, key, raw, (v) => reh.set(m[0], m[1](v)));
    else if (key === "TargetGroupAttributes") {
      reh.with(id, key, raw, (v) =>
        (v as { Key: string; Value: Json }[]).forEach((a, i) => {
          if (a.Key === DEREGISTRATION_DELAY) reh.set("loadBalancer.deregistrationDelay", toNumber(a.Value));
          else if (!(a.Key === "stickiness.enabled" && String(a.Value) === "false"))
            reh.skip(id, `${key}[${i}]`, `${a.Key}: a target group attribute the rehearsal does not follow`);
        }),
      );
    } else if (key === "HealthCheckEnabled") {
      reh.with(id, key, raw, (v) => {
        if (String(v) === "false") reh.skip(id, key, "false: the rehearsal's load balancer always checks");
      });
    } else if (key === "Port")
      reh.skip(
        id,
        key,
        "the rehearsal sends traffic to instances.appPort (or webPort with nginx), the app's own port",
      );
    else if (key === "VpcId") reh.skip(id, key, "networking: instances are on loopback addresses");
    else if (!INERT["AWS::ElasticLoadBalancingV2::TargetGroup"]!.includes(key))
      reh.skip(id, key, "a target group property the rehearsal does not follow");
  }
  // no property says it, but it is where the two differ most for a fleet whose every gate is closed
  reh.skip(
    id,
    undefined,
    "with every target unhealthy an ALB fails open (sends requests to all of them, closed gates included); the rehearsal's load balancer answers 503",
  );
}

function readLaunchTemplate(
  reh: Rehearsal,
  id: string,
  resources: Record<string, Resource>,
  follow: Follow,
): void {
  const props = resources[id]!.Properties ?? {};
  let roleFound = false;
  for (const [key, raw] of Object.entries(props)) {
    if (key === "LaunchTemplateName") reh.with(id, key, raw, (v) => reh.set("group.launchTemplate.name", v));
    else if (key !== "LaunchTemplateData")
      reh.skip(id, key, "a launch template property the rehearsal does not follow");
  }
  const data = isRecord(props.LaunchTemplateData) ? props.LaunchTemplateData : {};
  for (const [key, raw] of Object.entries(data)) {
    const at = `LaunchTemplateData.${key}`;
    switch (key) {
      case "InstanceType":
        reh.with(id, at, raw, (v) => reh.set("group.instanceType", v));
        break;
      case "MetadataOptions":
        readMetadataOptions(reh, id, at, raw);
        break;
      case "InstanceMarketOptions":
        reh.with(id, at, raw, (v) => {
          if ((v as { MarketType?: string }).MarketType === "spot") reh.set("instances.marketType", "spot");
        });
        break;
      case "IamInstanceProfile": {
        const p = isRecord(raw) ? raw : {};
        const profile = reh.r.target(p.Arn ?? p.Name);
        if (follow(profile, "AWS::IAM::InstanceProfile"))
          roleFound = readInstanceProfile(reh, profile!, resources, follow);
        else
          reh.skip(
            id,
            at,
            "an instance profile outside this template: its policy is not known, none is allowed",
          );
        break;
      }
      case "SecurityGroupIds":
      case "SecurityGroups":
        readSecurityGroups(reh, id, at, raw, resources, follow);
        break;
      case "UserData":
        reh.with(id, at, raw, (v) => readUserData(reh, id, at, String(v)));
        break;
      case "ImageId":
        reh.skip(id, at, "instances start from image.dir (fleet.yaml), not an AMI");
        break;
      case "BlockDeviceMappings":
        reh.skip(id, at, "an instance's disk is its directory; volumes are not rehearsed");
        break;
      case "TagSpecifications":
        reh.skip(
          id,
          at,
          "launch template tags are not rehearsed; the group's tags with PropagateAtLaunch are",
        );
        break;
      default:
        reh.skip(id, at, "a launch template property the rehearsal does not follow");
    }
  }
  // an instance without a role has no keys: every lifecycle call of its boot is refused, as on AWS
  if (!roleFound) reh.set("instances.iamRole.policy", { Version: "2012-10-17", Statement: [] });
}

function readMetadataOptions(reh: Rehearsal, id: string, at: string, raw: Json): void {
  reh.with(id, at, raw, (v) => {
    for (const [k, value] of Object.entries(v as Record<string, Json>)) {
      const s = String(value);
      if (k === "InstanceMetadataTags") reh.set("instances.metadataTags", s === "enabled");
      else if (k === "HttpTokens") {
        if (s !== "required")
          reh.skip(
            id,
            `${at}.HttpTokens`,
            `${s}: the rehearsal's metadata service always requires a token (IMDSv2)`,
          );
      } else if (k === "HttpEndpoint") {
        if (s !== "enabled")
          reh.skip(id, `${at}.HttpEndpoint`, `${s}: the rehearsal's metadata service is always on`);
      } else if (k === "HttpPutResponseHopLimit")
        reh.skip(id, `${at}.${k}`, "instances reach their metadata service over loopback, no hops to count");
      else reh.skip(id, `${at}.${k}`, "a metadata option the rehearsal does not follow");
    }
  });
}

function readSecurityGroups(
  reh: Rehearsal,
  id: string,
  at: string,
  raw: Json,
  resources: Record<string, Resource>,
  follow: Follow,
): void {
  const names: string[] = [];
  for (const [i, g] of (Array.isArray(raw) ? raw : [raw]).entries()) {
    const sg = reh.r.target(g);
    if (follow(sg, "AWS::EC2::SecurityGroup")) {
      const props = resources[sg!]!.Properties ?? {};
      if (props.GroupName === undefined) {
        reh.skip(
          sg!,
          "GroupName",
          "none: AWS makes one up at deploy, so the name instance metadata reports is not known",
        );
        continue;
      }
      reh.with(sg!, "GroupName", props.GroupName, (v) => names.push(String(v)));
      for (const key of Object.keys(props))
        if (key !== "GroupName" && !INERT["AWS::EC2::SecurityGroup"]!.includes(key))
          reh.skip(sg!, key, "network rules: every address of the rehearsal is loopback");
      continue;
    }
    // a literal name (SecurityGroups) is what metadata reports; an id is not a name
    reh.with(id, `${at}[${i}]`, g, (v) => {
      if (/^sg-[0-9a-f]+$/.test(String(v)))
        reh.skip(id, `${at}[${i}]`, `${String(v)}: a group id, whose name is known only in the account`);
      else names.push(String(v));
    });
  }
  if (names.length > 0) reh.set("role.securityGroups", names);
}

/** The instance profile's role: its name and every policy attached to it in the template. */
function readInstanceProfile(
  reh: Rehearsal,
  profile: string,
  resources: Record<string, Resource>,
  follow: Follow,
): boolean {
  const props = resources[profile]!.Properties ?? {};
  const roles = Array.isArray(props.Roles) ? props.Roles : [];
  const role = reh.r.target(roles[0]);
  for (const key of Object.keys(props))
    if (key !== "Roles" && !INERT["AWS::IAM::InstanceProfile"]!.includes(key))
      reh.skip(profile, key, "an instance profile property the rehearsal does not follow");
  if (!follow(role, "AWS::IAM::Role")) {
    reh.skip(profile, "Roles", "a role outside this template: its policy is not known, none is allowed");
    return false;
  }
  const statements: Json[] = [];
  const addDocument = (owner: string, at: string, doc: Json) => {
    const raw = isRecord(doc) ? doc.Statement : undefined;
    for (const [i, s] of (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).entries())
      reh.with(owner, `${at}.Statement[${i}]`, s, (v) => {
        statements.push(v);
      });
  };
  const roleProps = resources[role!]!.Properties ?? {};
  for (const [key, raw] of Object.entries(roleProps)) {
    if (key === "RoleName") reh.with(role!, key, raw, (v) => reh.set("instances.iamRole.name", v));
    else if (key === "Policies")
      for (const [i, p] of (Array.isArray(raw) ? raw : []).entries())
        addDocument(role!, `Policies[${i}].PolicyDocument`, isRecord(p) ? p.PolicyDocument : undefined);
    else if (key === "ManagedPolicyArns")
      reh.skip(
        role!,
        key,
        "managed policies are not in the template: the rehearsal allows only the template's own statements",
      );
    else if (key === "PermissionsBoundary") reh.skip(role!, key, "permissions boundaries are not evaluated");
    else if (!INERT["AWS::IAM::Role"]!.includes(key))
      reh.skip(role!, key, "a role property the rehearsal does not follow");
  }
  // AWS::IAM::Policy (and managed policies of the template) attached to the role
  for (const [pid, res] of Object.entries(resources)) {
    if (res?.Type !== "AWS::IAM::Policy" && res?.Type !== "AWS::IAM::ManagedPolicy") continue;
    const attached = Array.isArray(res.Properties?.Roles) ? res.Properties.Roles : [];
    if (!attached.some((r) => reh.r.target(r) === role)) continue;
    follow(pid, res.Type);
    addDocument(pid, "PolicyDocument", res.Properties?.PolicyDocument);
  }
  reh.set("instances.iamRole.policy", { Version: "2012-10-17", Statement: statements });
  return true;
}

/**
 * The boot config muster's user data writes (cloud-config write_files /etc/muster/boot.json):
 * the role source, the gate's port and the retries. The repositories are fleet.yaml's.
 */
function readUserData(reh: Rehearsal, id: string, at: string, text: string): void {
  let boot: Record<string, Json> | undefined;
  try {
    const doc = YAML.parse(text) as { write_files?: { path?: string; content?: string }[] } | null;
    const file = doc?.write_files?.find((f) => BOOT_CONFIG_PATH.test(String(f?.path)));
    if (file?.content !== undefined) boot = YAML.parse(file.content) as Record<string, Json>;
  } catch {
    boot = undefined;
  }
  if (!isRecord(boot)) {
    reh.skip(id, at, "no muster boot config found in it (cloud-config write_files /etc/muster/boot.json)");
    return;
  }
  const bootAt = `${at}(boot config)`;
  for (const [key, value] of Object.entries(boot)) {
    if (key === "role" && typeof value === "string") reh.set("role.source", value);
    else if (key === "retries" && isRecord(value)) {
      for (const [k, v] of Object.entries(value))
        if (["attempts", "backoffBase", "backoffCap", "deadline"].includes(k))
          reh.set(`instances.boot.${k}`, v);
        else reh.skip(id, `${bootAt}.retries.${k}`, "a retry setting the rehearsal does not follow");
    } else if (key === "gate" && isRecord(value) && isRecord(value.http)) {
      if (value.http.port !== undefined) reh.set("instances.healthPort", toNumber(value.http.port));
      if (value.http.appCheck !== undefined)
        reh.skip(id, `${bootAt}.gate.http.appCheck`, "the rehearsal's health endpoint checks its own app");
    } else if (key === "gate")
      reh.skip(id, `${bootAt}.gate`, "a gate file: the rehearsal keeps it where instances.webServer puts it");
    else if (key === "lifecycle" && isRecord(value)) {
      const hook = reh.fleet.group?.launchHook;
      const name = isRecord(hook) ? hook.name : undefined;
      if (value.hook !== undefined && name !== undefined && value.hook !== name)
        reh.skip(
          id,
          `${bootAt}.lifecycle.hook`,
          `"${String(value.hook)}" is not the group's launch hook "${String(name)}": on AWS every boot's CompleteLifecycleAction is refused; the rehearsal completes "${String(name)}"`,
        );
      const term = reh.fleet.group?.terminateHook;
      const termName = isRecord(term) ? term.name : undefined;
      if (termName !== undefined && value.terminateHook !== termName)
        reh.skip(
          id,
          `${bootAt}.lifecycle.terminateHook`,
          value.terminateHook === undefined
            ? `not set, though the group has the terminate hook "${String(termName)}": on AWS nothing completes it and every departure waits out its heartbeat timeout; the rehearsal's instances complete it`
            : `"${String(value.terminateHook)}" is not the group's terminate hook "${String(termName)}": on AWS the departure's CompleteLifecycleAction is refused; the rehearsal completes "${String(termName)}"`,
        );
      const group = reh.fleet.group?.name;
      if (value.group !== undefined && group !== undefined && value.group !== group)
        reh.skip(
          id,
          `${bootAt}.lifecycle.group`,
          `"${String(value.group)}" is not the group's name "${String(group)}": on AWS the boot completes another group's hook; the rehearsal its own`,
        );
    } else if (key === "repo")
      reh.skip(
        id,
        `${bootAt}.repo`,
        `the repositories come from fleet.yaml (repositories.config, repositories.ref)${
          isRecord(value) && value.sshKey !== undefined
            ? "; the user data's fetch of the deploy key is not run, so the role's permission to read it is not tried"
            : ""
        }`,
      );
    else reh.skip(id, `${bootAt}.${key}`, "the rehearsal writes its instances' boot config from fleet.yaml");
  }
}

/**
 * fleet.yaml's data with the template's fields laid over it (the template's win; objects are
 * merged, anything else replaced), and the fleet.yaml fields the template replaced, as dotted
 * paths, for `fleet up` to say. PURE.
 */
export function overlayTemplate(
  base: Json,
  fromTemplate: Record<string, Json>,
): { data: Record<string, Json>; overridden: string[] } {
  const overridden: string[] = [];
  const merge = (b: Json, t: Record<string, Json>, at: string): Record<string, Json> => {
    const out: Record<string, Json> = isRecord(b) ? { ...b } : {};
    for (const [k, v] of Object.entries(t)) {
      const field = at ? `${at}.${k}` : k;
      const was = out[k];
      if (isRecord(v) && isRecord(was)) out[k] = merge(was, v, field);
      else {
        if (was !== undefined && JSON.stringify(was) !== JSON.stringify(v)) overridden.push(field);
        out[k] = v;
      }
    }
    return out;
  };
  return { data: merge(base, fromTemplate, ""), overridden };
}
