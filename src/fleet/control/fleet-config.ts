/**
 * fleet.yaml: what `muster fleet up` rehearses. One zod schema validates it (every problem at
 * once, each with its file and path; exit 2) and resolves it into a FleetConfig with absolute
 * paths, milliseconds and a parsed address range. Durations in the file are seconds (fractions
 * allowed), as in the boot config.
 *
 * The embedded default (EMBEDDED_FLEET_YAML) is used when no file is given: the example config
 * repo and app of muster's own package, two `web` instances, so `muster fleet up` works on a
 * fresh clone. It says nothing the schema's defaults do not: a fleet.yaml that sets one field
 * gets the embedded default's value for every other one (fleet-config.test.ts holds them equal).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { parseRoleSource } from "../../cloud/role-discovery.ts";
import { parseDataText, readTextFile } from "../../core/data-file.ts";
import { errorMessage, InputError } from "../../core/errors.ts";
import {
  boundedRecord,
  boundedString,
  LIFECYCLE_HOOK,
  LIMITS,
  LOOPBACK_HOST,
  lifecycleGlobalTimeout,
  seconds,
} from "../../core/schema-parts.ts";
import { z } from "../../core/zod.ts";
import { zodProblems } from "../../core/zod-problems.ts";
import type { AsgConfig } from "../aws/asg-model.ts";
import { defaultInstancePolicy, groupArnPattern, logGroupArn } from "../aws/autoscaling-auth.ts";
import { DEFAULT_ACCOUNT } from "../aws/credentials-issuer.ts";
import { type PolicyDocument, policyDocumentSchema } from "../aws/iam-policy.ts";
import { regionOfZone } from "../aws/metadata-emulator.ts";
import { type PresetName, resolveSettings, type TargetGroupSettings } from "../balancing/target-health.ts";
import { reservedVariable } from "../instances/instance-env.ts";
import {
  type NotRehearsed,
  overlayTemplate,
  rehearseTemplate,
  type TemplateRehearsal,
} from "./from-template.ts";

/** The configuration `muster fleet up` uses when no --config is given (paths: muster's package). */
export const EMBEDDED_FLEET_YAML = `# muster's embedded fleet: the example repositories, two web instances.
group:
  name: web
  min: 1
  max: 6
  desired: 2
  healthCheckType: ELB
  healthCheckGracePeriod: 30
  launchHook: { name: launch, heartbeatTimeout: 30, defaultResult: ABANDON }
repositories:
  config: { dir: examples/config-repo }
  app: { dir: examples/app }
# the role from the security groups: instance tags are not in instance metadata unless
# instances.metadataTags is true (AWS: the launch template's InstanceMetadataTags)
role: { source: security-groups, securityGroups: [web] }
loadBalancer: { preset: fast }
`;

const port = z.number().int().min(1).max(65535);
/** An availability zone's name: its region and a letter (us-east-1a). */
const AZ = /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/;
export const DEFAULT_ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"] as const;

/** The address block instances take when neither fleet.yaml nor --addresses names one. */
export const DEFAULT_ADDRESSES = "127.77.0.1-127.77.0.254";

/** group.desired when left out: two instances (a fleet, not one server), within [min, max]. */
export function defaultDesired(min: number, max: number): number {
  return Math.min(max, Math.max(min, 2));
}
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** the most instances a rehearsal runs: one loopback address each, and a range is at most 4096 */
const MAX_INSTANCES = 4096;
const localPath = boundedString(LIMITS.path);
/**
 * A target group's limits (Elastic Load Balancing, "Health checks for Application Load Balancer
 * target groups" and "Edit target group attributes"): interval 5..300 s, timeout 2..120 s,
 * thresholds 2..10, deregistration delay 0..3600 s. Only the upper bounds hold here: a rehearsal
 * runs faster than AWS allows (the fast preset checks every second).
 */
const TARGET_GROUP = { intervalMax: 300, timeoutMax: 120, thresholdMax: 10, deregistrationDelayMax: 3600 };

const repoSource = z
  .strictObject({
    /** a directory whose files are committed into a fresh bare repository at every `fleet up` */
    dir: localPath.optional(),
    /** an existing bare repository, served as it is (new commits show up at once) */
    bare: localPath.optional(),
  })
  .refine((r) => (r.dir === undefined) !== (r.bare === undefined), {
    message: "give exactly one of dir (a directory to commit) or bare (an existing bare repository)",
  });

export const fleetConfigSchema = z
  .strictObject({
    $schema: z.string().max(LIMITS.url).optional(),
    group: z
      .strictObject({
        name: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: "letters, digits, . _ - (1 to 64)" })
          .default("web"),
        min: z.number().int().min(0).max(MAX_INSTANCES).default(1),
        max: z.number().int().min(0).max(MAX_INSTANCES).default(6),
        /** default: 2, raised to min or lowered to max (the embedded default's two instances) */
        desired: z.number().int().min(0).max(MAX_INSTANCES).optional(),
        /** ELB: replace an InService instance whose target turns unhealthy; EC2: only dead ones */
        healthCheckType: z.enum(["ELB", "EC2"]).default("ELB"),
        healthCheckGracePeriod: seconds({ orZero: true }).default(30),
        /** the zones instances are spread over, the fewest first (as Auto Scaling balances them) */
        availabilityZones: z
          .array(z.string().regex(AZ, { message: "an availability zone, e.g. us-east-1a" }))
          .min(1)
          .default([...DEFAULT_ZONES]),
        /** what the Auto Scaling API and the metadata service report for every instance */
        instanceType: z
          .string()
          .regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, { message: "an EC2 instance type, e.g. t3.micro" })
          .default("t3.micro"),
        /** the launch template the API reports (default: named after the group, version $Default) */
        launchTemplate: z
          .strictObject({
            name: z
              .string()
              .regex(/^[a-zA-Z0-9()./_-]{3,128}$/, {
                message: "3 to 128 of letters, digits and ( ) . / - _",
              })
              .optional(),
            version: z
              .string()
              .regex(/^(\$Latest|\$Default|\d+)$/, { message: "$Latest, $Default or a number" })
              .default("$Default"),
          })
          .prefault({}),
        /** the EC2_INSTANCE_LAUNCHING hook that `muster boot` completes; false: no hook */
        launchHook: z.preprocess(
          (v) => (v === false ? { enabled: false } : v === true ? {} : v),
          z
            .strictObject({
              /** false (or `launchHook: false`): no hook; instances go InService when they run */
              enabled: z.boolean().default(true),
              /** AWS: 1 to 255 characters */
              name: boundedString(LIMITS.name).default("launch"),
              /** AWS allows 30 to 7200 s; a rehearsal may go below 30 to run fast */
              heartbeatTimeout: seconds({ max: LIFECYCLE_HOOK.heartbeatTimeoutMax }).default(30),
              defaultResult: z.enum(["CONTINUE", "ABANDON"]).default("ABANDON"),
            })
            .prefault({}),
        ),
        /**
         * the EC2_INSTANCE_TERMINATING hook that `muster watch` completes as an instance departs;
         * the shape of launchHook, off by default (`terminateHook: true` for its defaults)
         */
        terminateHook: z.preprocess(
          (v) => (v === undefined || v === false ? { enabled: false } : v === true ? {} : v),
          z
            .strictObject({
              enabled: z.boolean().default(true),
              name: boundedString(LIMITS.name).default("terminate"),
              heartbeatTimeout: seconds({ max: LIFECYCLE_HOOK.heartbeatTimeoutMax }).default(30),
              defaultResult: z.enum(["CONTINUE", "ABANDON"]).default("CONTINUE"),
            })
            .prefault({ enabled: false }),
        ),
        /** target tracking on the load balancer's requests per target */
        targetTracking: z
          .strictObject({
            /** requests per healthy target per sample period to keep the group at */
            requestsPerTarget: z.number().positive().max(1_000_000),
            samplePeriod: seconds().default(10),
            scaleOutCooldown: seconds({ orZero: true }).default(30),
            scaleInCooldown: seconds({ orZero: true }).default(60),
            disableScaleIn: z.boolean().default(false),
          })
          .optional(),
      })
      .prefault({}),
    image: z
      .strictObject({
        /** the base tree every instance root is copied from (its /run is left out); none: empty */
        dir: localPath.optional(),
        /** run `muster image prepare` on a copy of it once, before the first launch */
        prepare: z.boolean().default(false),
      })
      .prefault({}),
    repositories: z
      .strictObject({
        /** default: muster's examples/config-repo */
        config: repoSource.optional(),
        /** default: muster's examples/app */
        app: repoSource.optional(),
        /** the config repo's branch, tag or commit the instances boot from */
        ref: boundedString(LIMITS.ref).default("master"),
      })
      .prefault({}),
    role: z
      .strictObject({
        /** the boot config's role source: security-groups | tag:<Key> | autoscaling-group | static:<name> */
        source: boundedString(LIMITS.name).default("security-groups"),
        /** the instances' security groups, as the metadata service reports them (AWS: at most 16) */
        securityGroups: z.array(boundedString(LIMITS.name)).max(16).default(["web"]),
        /** more instance tags (aws:autoscaling:groupName and Name are always set; AWS: at most 50); in instance metadata with instances.metadataTags */
        tags: boundedRecord(
          z.string().min(1).max(LIMITS.tagKey),
          z.string().max(LIMITS.tagValue),
          50,
        ).default({}),
      })
      .prefault({}),
    instances: z
      .strictObject({
        /** loopback addresses for instances, "FIRST-LAST" (one address each, reused after termination) */
        addresses: z
          .string()
          .max(64)
          .superRefine((spec, ctx) => {
            const range = parseAddressRange(spec);
            if (typeof range === "string") ctx.addIssue({ code: "custom", message: range });
          })
          .default(DEFAULT_ADDRESSES),
        /** the app's port on the instance's address (the example app's app.port attribute) */
        appPort: port.default(8080),
        /** muster's health endpoint (`muster health serve`) on the instance's address */
        healthPort: port.default(8081),
        /** "none": the load balancer sends traffic to the app; "nginx": to nginx in front of it */
        webServer: z.enum(["none", "nginx"]).default("none"),
        /** nginx's port on the instance's address (webServer nginx) */
        webPort: port.default(8088),
        nginx: localPath.default("/usr/sbin/nginx"),
        /**
         * instance tags in instance metadata (the launch template's MetadataOptions
         * InstanceMetadataTags: enabled); off, as on AWS: tags/instance answers 404
         */
        metadataTags: z.boolean().default(false),
        /** what meta-data/instance-life-cycle answers: on-demand, or spot (InstanceMarketOptions) */
        marketType: z.enum(["on-demand", "spot"]).default("on-demand"),
        /**
         * seconds from `muster fleet fault spot-interrupt` announcing an interruption in the
         * instance's metadata to the instance being terminated (EC2 gives two minutes)
         */
        spotNotice: seconds({ max: 3600 }).default(120),
        /** seconds between the polls of each instance's `muster watch` (the boot config's watch.interval) */
        watchInterval: seconds({ min: 0.1, max: 300 }).default(1),
        /**
         * more environment for every instance's processes (its init and its boot), like a unit's
         * Environment= lines; they start from systemd's clean environment, not the daemon's
         */
        environment: boundedRecord(
          z.string().max(LIMITS.name),
          z.union([z.string().max(LIMITS.envValue), z.number(), z.boolean()], {
            message: "a variable's value must be a string (or a number or true/false)",
          }),
        ).default({}),
        /**
         * the instances' IAM role (their instance profile): its temporary keys come from each
         * instance's metadata service, and the Auto Scaling emulator allows what its policy allows
         */
        iamRole: z
          .strictObject({
            name: z
              .string()
              .regex(/^[\w+=,.@-]{1,64}$/, { message: "1 to 64 of letters, digits and + = , . @ _ -" })
              .default("muster-instance"),
            /**
             * an identity-based policy; default: CompleteLifecycleAction and heartbeats on the
             * group, CreateLogStream and PutLogEvents in the fleet's failure log group
             */
            policy: policyDocumentSchema.optional(),
            /** lifetime of the role's temporary keys; new ones are served before they expire */
            credentialLifetime: seconds().default(21600),
          })
          .prefault({}),
        boot: z
          .strictObject({
            /** attempts of the whole pipeline (the boot config's retries) */
            attempts: z.number().int().min(1).max(100).default(3),
            backoffBase: seconds().default(0.25),
            backoffCap: seconds().default(1),
            /** at most the launch hook's global timeout (LIFECYCLE_HOOK), checked below */
            deadline: seconds().default(120),
            /** each git network step */
            gitTimeout: seconds().default(20),
            /** each metadata request */
            metadataTimeout: seconds().default(1),
            /** seconds between heartbeats; default a third of the launch hook's heartbeat timeout */
            heartbeatInterval: seconds({ max: LIFECYCLE_HOOK.heartbeatTimeoutMax }).optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    loadBalancer: z
      .strictObject({
        /** builtin: muster's own (ELB semantics); haproxy: HAProxy driven over its admin socket */
        kind: z.enum(["builtin", "haproxy"]).default("builtin"),
        host: z
          .string()
          .regex(LOOPBACK_HOST, { message: "must be a loopback address: 127.x.y.z, each number 0 to 255" })
          .default("127.0.0.1"),
        /** 0: any free port */
        port: z.number().int().min(0).max(65535).default(0),
        /** base settings: fast (1 s checks, 2 s draining) or aws (AWS's defaults) */
        preset: z.enum(["fast", "aws"]).default("fast"),
        healthCheck: z
          .strictObject({
            /** default /health (muster's endpoint), /ping.html with webServer nginx */
            path: z.string().max(1024).startsWith("/").optional(),
            /** default: instances.healthPort, the traffic port with webServer nginx */
            port: z.union([port, z.literal("traffic-port")]).optional(),
            interval: seconds({ max: TARGET_GROUP.intervalMax }).optional(),
            timeout: seconds({ max: TARGET_GROUP.timeoutMax }).optional(),
            healthyThreshold: z.number().int().min(1).max(TARGET_GROUP.thresholdMax).optional(),
            unhealthyThreshold: z.number().int().min(1).max(TARGET_GROUP.thresholdMax).optional(),
            /** the HTTP codes that pass (the target group's Matcher HttpCode): "200", "200,204", "200-299" */
            matcher: z
              .string()
              .regex(/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/, {
                message: 'HTTP codes, e.g. "200", "200,204" or "200-299"',
              })
              .optional(),
          })
          .prefault({}),
        deregistrationDelay: seconds({ orZero: true, max: TARGET_GROUP.deregistrationDelayMax }).optional(),
        haproxy: localPath.default("haproxy"),
      })
      .prefault({}),
    /** where the fleet keeps its state, logs, instance roots and control socket */
    stateDir: localPath.optional(),
  })
  .superRefine((c, ctx) => {
    const issue = (p: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path: p, message });
    const g = c.group;
    if (g.min > g.max) issue(["group", "min"], `must not exceed max (${g.min} > ${g.max})`);
    const regions = new Set(g.availabilityZones.map((zone) => zone.slice(0, -1)));
    if (regions.size > 1)
      issue(["group", "availabilityZones"], `zones of one region only (got ${[...regions].join(", ")})`);
    if (new Set(g.availabilityZones).size !== g.availabilityZones.length)
      issue(["group", "availabilityZones"], "names a zone twice");
    // with min > max there is no range to be in: that one problem is said above, once
    if (g.desired !== undefined && g.min <= g.max && (g.desired < g.min || g.desired > g.max))
      issue(["group", "desired"], `must be within [min, max] = [${g.min}, ${g.max}] (got ${g.desired})`);
    try {
      parseRoleSource(c.role.source);
    } catch (err) {
      issue(["role", "source"], errorMessage(err));
    }
    const range = parseAddressRange(c.instances.addresses);
    if (typeof range !== "string" && range.count < g.max)
      issue(
        ["instances", "addresses"],
        `${range.count} address${range.count === 1 ? "" : "es"} for up to ${g.max} instances (group.max); give a wider range`,
      );
    const ports: [string, number][] = [
      ["appPort", c.instances.appPort],
      ["healthPort", c.instances.healthPort],
    ];
    if (c.instances.webServer === "nginx") ports.push(["webPort", c.instances.webPort]);
    for (let i = 0; i < ports.length; i++)
      for (let j = 0; j < i; j++)
        if (ports[i]![1] === ports[j]![1])
          issue(["instances", ports[i]![0]], `must differ from ${ports[j]![0]} (both ${ports[i]![1]})`);
    for (const [name, value] of Object.entries(c.instances.environment)) {
      const at = ["instances", "environment", name];
      if (!ENV_NAME.test(name))
        issue(at, "not a variable name: letters, digits and _, not starting with a digit");
      else {
        const reserved = reservedVariable(name);
        if (reserved) issue(at, reserved);
      }
      if (String(value).includes("\0")) issue(at, "a value cannot contain a NUL character");
    }
    const hook = g.launchHook;
    const beat = c.instances.boot.heartbeatInterval;
    if (hook.enabled && beat !== undefined && beat >= hook.heartbeatTimeout)
      issue(
        ["instances", "boot", "heartbeatInterval"],
        `must be less than group.launchHook.heartbeatTimeout (${hook.heartbeatTimeout} s), or every launch times out before its first heartbeat`,
      );
    const deadline = c.instances.boot.deadline;
    const beatOk =
      hook.heartbeatTimeout >= 0.001 && hook.heartbeatTimeout <= LIFECYCLE_HOOK.heartbeatTimeoutMax;
    if (hook.enabled && beatOk && deadline > lifecycleGlobalTimeout(hook.heartbeatTimeout))
      issue(
        ["instances", "boot", "deadline"],
        `must be at most ${lifecycleGlobalTimeout(hook.heartbeatTimeout)} (got ${deadline}): a lifecycle action waits at most 100 times group.launchHook.heartbeatTimeout, and 48 hours`,
      );
    if (c.role.source === "security-groups" && c.role.securityGroups.length === 0)
      issue(
        ["role", "securityGroups"],
        "must list at least one group: the role source security-groups reads the role from them",
      );
    const lb = c.loadBalancer;
    if (typeof range !== "string" && lb.port !== 0) {
      const clash = ports.find(([, p]) => p === lb.port);
      const at = addressIndex(range, lb.host);
      if (clash && at !== undefined)
        issue(
          ["loadBalancer", "port"],
          `${lb.host}:${lb.port} is instance ${at + 1}'s ${clash[0]} (instances.addresses); give the load balancer another port or host`,
        );
    }
    if (c.instances.boot.backoffCap < c.instances.boot.backoffBase)
      issue(
        ["instances", "boot", "backoffCap"],
        `must be at least backoffBase (${c.instances.boot.backoffBase})`,
      );
    try {
      lbSettings(c);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const p of err.problems) {
        // named as fleet.yaml names the field, so that one field gets one problem
        const m = /^load balancer: (healthCheck\.)?(\w+): (.*)$/.exec(p);
        if (m)
          issue(
            m[1] ? ["loadBalancer", "healthCheck", toFileKey(m[2]!)] : ["loadBalancer", toFileKey(m[2]!)],
            inFileUnits(m[3]!),
          );
        else issue(["loadBalancer"], p.replace(/^load balancer: /, ""));
      }
    }
  });

export type FleetConfigFile = z.infer<typeof fleetConfigSchema>;

/**
 * One problem per field: the load balancer's own settings check sees some fields the schema has
 * refused already (healthCheck.port: 70000) and would say it a second time in its own words.
 */
function firstPerField(lines: string[]): string[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const field = /^(.*?: [^:]+?): /.exec(l)?.[1] ?? l;
    if (seen.has(field)) return false;
    seen.add(field);
    return true;
  });
}

/** The load balancer settings' names for fleet.yaml's (successCodes is the file's matcher). */
function toFileKey(k: string): string {
  const names: Record<string, string> = {
    intervalMs: "interval",
    timeoutMs: "timeout",
    successCodes: "matcher",
    deregistrationDelayMs: "deregistrationDelay",
  };
  return names[k] ?? k;
}

/** A load balancer settings message in fleet.yaml's names and units (seconds, not ms). */
function inFileUnits(message: string): string {
  return message
    .replace(/\b(interval|timeout)Ms\b/g, "$1")
    .replace(
      /\((\d+) >= (\d+)\)$/,
      (_, a: string, b: string) => `(${Number(a) / 1000} s >= ${Number(b) / 1000} s)`,
    );
}

export interface AddressRange {
  first: string;
  count: number;
}

function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** "127.77.0.1-127.77.0.254" -> { first, count }, or a problem. Loopback only, at most 4096. */
export function parseAddressRange(spec: string): AddressRange | string {
  const [a, b, extra] = spec.split("-");
  const first = a === undefined ? undefined : ipToInt(a);
  const last = b === undefined ? first : ipToInt(b);
  if (extra !== undefined || first === undefined || last === undefined)
    return `"${spec}": expected FIRST-LAST, e.g. 127.77.0.1-127.77.0.254`;
  if (first >>> 24 !== 127 || last >>> 24 !== 127)
    return `"${spec}": instance addresses must be loopback (127.x.y.z)`;
  if (last < first) return `"${spec}": the last address comes before the first`;
  if ((first & 255) === 0 || (last & 255) === 255 || (first & 255) === 255)
    return `"${spec}": leave out network and broadcast style addresses (.0 and .255)`;
  const count = last - first + 1;
  if (count > 4096) return `"${spec}": at most 4096 addresses`;
  return { first: intToIp(first), count };
}

/** Where `host` is in the range (0-based), if it is in it. */
export function addressIndex(range: AddressRange, host: string): number | undefined {
  const first = ipToInt(range.first);
  const n = ipToInt(host === "localhost" ? "127.0.0.1" : host);
  if (first === undefined || n === undefined) return undefined;
  return n >= first && n < first + range.count ? n - first : undefined;
}

/** The i-th address of a range (0-based). */
export function addressAt(range: AddressRange, i: number): string {
  return intToIp(ipToInt(range.first)! + i);
}

function lbSettings(c: FleetConfigFile): TargetGroupSettings {
  const hc = c.loadBalancer.healthCheck;
  const nginx = c.instances.webServer === "nginx";
  const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
  const overrides: Record<string, unknown> = {
    path: hc.path ?? (nginx ? "/ping.html" : "/health"),
    port: hc.port ?? (nginx ? "traffic-port" : c.instances.healthPort),
  };
  if (hc.interval !== undefined) overrides.intervalMs = ms(hc.interval);
  if (hc.timeout !== undefined) overrides.timeoutMs = ms(hc.timeout);
  if (hc.healthyThreshold !== undefined) overrides.healthyThreshold = hc.healthyThreshold;
  if (hc.unhealthyThreshold !== undefined) overrides.unhealthyThreshold = hc.unhealthyThreshold;
  if (hc.matcher !== undefined) overrides.successCodes = hc.matcher;
  return resolveSettings(
    {
      healthCheck: overrides,
      ...(c.loadBalancer.deregistrationDelay !== undefined
        ? { deregistrationDelayMs: ms(c.loadBalancer.deregistrationDelay) }
        : {}),
    },
    c.loadBalancer.preset as PresetName,
  );
}

/** The validated, resolved fleet configuration. */
export interface FleetConfig {
  /** where it was read from (for messages): a path, or "(embedded default)" */
  source: string;
  group: AsgConfig & {
    desired: number;
    availabilityZones: string[];
    /** the region of its zones (they are all of one): signatures, ARNs and the instances' endpoints.region */
    region: string;
    instanceType: string;
    launchTemplate: { name: string; version: string };
    targetTracking?: AsgConfig["targetTracking"] & { samplePeriodMs: number };
  };
  image: { dir?: string; prepare: boolean };
  repositories: {
    config: { dir?: string; bare?: string };
    app: { dir?: string; bare?: string };
    ref: string;
  };
  role: { source: string; securityGroups: string[]; tags: Record<string, string> };
  instances: {
    addresses: AddressRange;
    /** neither fleet.yaml nor --addresses chose the block: `fleet up` may pick a free one */
    addressesDefaulted: boolean;
    appPort: number;
    healthPort: number;
    webServer: "none" | "nginx";
    webPort: number;
    nginx: string;
    /** instance tags are in instance metadata (InstanceMetadataTags enabled) */
    metadataTags: boolean;
    marketType: "on-demand" | "spot";
    spotNoticeMs: number;
    watchInterval: number;
    /** added to every instance's environment (values as strings) */
    environment: Record<string, string>;
    /** the port the load balancer sends traffic to */
    trafficPort: number;
    iamRole: { name: string; policy: PolicyDocument; credentialLifetimeMs: number };
    boot: {
      attempts: number;
      backoffBase: number;
      backoffCap: number;
      deadline: number;
      gitTimeout: number;
      metadataTimeout: number;
      heartbeatInterval: number;
    };
  };
  loadBalancer: {
    kind: "builtin" | "haproxy";
    host: string;
    port: number;
    preset: PresetName;
    settings: TargetGroupSettings;
    haproxy: string;
  };
  stateDir: string;
  /** `fleet up --from-template`: the template, its group, and what of it is not rehearsed */
  template?: {
    file: string;
    group: string;
    /** fleet.yaml fields the template's values replaced */
    overridden: string[];
    notRehearsed: NotRehearsed[];
  };
}

/**
 * The state directory used when neither the file nor --state-dir names one: a directory of the
 * user's own, never a predictable name in a shared temporary directory (another user could make
 * it first). Root's is /var/lib/muster/fleet; another user's is in `$XDG_STATE_HOME` (when set
 * to an absolute path), else in ~/.local/state.
 */
export function defaultStateDirFor(uid: number | undefined, env: NodeJS.ProcessEnv, home: string): string {
  if (uid === 0) return "/var/lib/muster/fleet";
  const xdg = env.XDG_STATE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, ".local/state"), "muster/fleet");
}

/**
 * A role source that reads instance tags (tag:<Key>, autoscaling-group) while the fleet leaves
 * tags out of instance metadata: on AWS such a boot fails at its role stage on every instance,
 * for as long as the launch template stays as it is, so `fleet up` says so before it starts.
 * Tags are in metadata only when the launch template enables InstanceMetadataTags ("Work with
 * instance tags in instance metadata", Amazon EC2 user guide). PURE.
 */
export function metadataTagsProblem(
  cfg: Pick<FleetConfig, "source" | "role" | "instances">,
): string | undefined {
  if (cfg.instances.metadataTags) return undefined;
  const kind = parseRoleSource(cfg.role.source).kind;
  if (kind !== "tag" && kind !== "autoscaling-group") return undefined;
  return `${cfg.source}: role.source: ${cfg.role.source} reads instance tags from instance metadata, which this fleet leaves out (instances.metadataTags is off, as InstanceMetadataTags is on AWS unless the launch template enables it), so every boot would fail at its role stage; set instances.metadataTags: true (on AWS: MetadataOptions InstanceMetadataTags: enabled in the launch template) or choose another role source`;
}

/** The state directory used when neither the file nor --state-dir names one (see above). */
export function defaultStateDir(): string {
  return defaultStateDirFor(process.geteuid?.(), process.env, homedir());
}

/**
 * A fleet command for a hint, as it finds the fleet on `stateDir`: "`muster fleet down --state-dir
 * S`". Starting one needs its fleet.yaml, not only its state directory (`up --state-dir S` alone
 * would start the embedded default there).
 */
export function fleetCommand(sub: string, stateDir: string): string {
  if (stateDir === defaultStateDir()) return `\`muster fleet ${sub}\``;
  if (sub === "up") return `\`muster fleet up --config FLEET.yaml\` (the fleet.yaml whose stateDir this is)`;
  return `\`muster fleet ${sub} --state-dir ${stateDir}\``;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function hasAddresses(data: unknown): boolean {
  return isRecord(data) && isRecord(data.instances) && data.instances.addresses !== undefined;
}

/** fleet.yaml's data with --addresses in place of its instances.addresses (a misshapen file as it is). */
function withAddresses(data: unknown, addresses: string): unknown {
  if (!isRecord(data)) return data;
  const instances = data.instances ?? {};
  if (!isRecord(instances)) return data;
  return { ...data, instances: { ...instances, addresses } };
}

/**
 * Validate parsed data. `baseDir` resolves relative paths (the file's directory, or muster's
 * package for the embedded default). `where` names the file in messages.
 */
export function parseFleetConfig(
  data: unknown,
  where: string,
  baseDir: string,
  opts: { stateDir?: string; packageRoot?: string; checkPaths?: boolean; addresses?: string } = {},
): FleetConfig {
  const stateDirFlag = opts.stateDir;
  const checkPaths = opts.checkPaths ?? true;
  const given = data ?? {};
  const withFlags = opts.addresses === undefined ? given : withAddresses(given, opts.addresses);
  const addressesDefaulted = opts.addresses === undefined && !hasAddresses(given);
  const r = fleetConfigSchema.safeParse(withFlags);
  if (!r.success) throw new InputError(firstPerField(zodProblems(where, r.error, [], "field")));
  const c = r.data;
  const abs = (p: string) => path.resolve(baseDir, p);
  const problems: string[] = [];
  const mustExist = (p: string, field: string, what: string) => {
    if (!checkPaths) return;
    if (!existsSync(p)) {
      // one line for the whole of examples/, however many of its directories are missing
      if (where !== EMBEDDED) problems.push(`${where}: ${field}: ${what} ${p} does not exist`);
      else if (problems.length === 0)
        problems.push(
          `${where}: the example fleet uses muster's examples/, which a release archive does not carry (${p}): run \`muster init DIR\` and pass --config DIR/fleet.yaml`,
        );
    } else if (!isDirectory(p))
      problems.push(`${where}: ${field}: ${p} is a file, not a ${what === "directory" ? "directory" : what}`);
    else if (what === "directory" && field.startsWith("repositories.") && readdirSync(p).length === 0)
      problems.push(`${where}: ${field}: ${p} is empty; a repository needs its files to commit`);
  };
  const repo = (r: { dir?: string; bare?: string }, field: string) => {
    const out = { dir: r.dir ? abs(r.dir) : undefined, bare: r.bare ? abs(r.bare) : undefined };
    if (out.dir) mustExist(out.dir, `${field}.dir`, "directory");
    if (out.bare) {
      mustExist(out.bare, `${field}.bare`, "bare repository");
      if (checkPaths && isDirectory(out.bare) && !existsSync(path.join(out.bare, "HEAD")))
        problems.push(`${where}: ${field}.bare: ${out.bare} is not a bare git repository (no HEAD)`);
    }
    return out;
  };
  // left out: muster's own example repositories
  const example = (name: string) => ({ dir: path.join(opts.packageRoot ?? baseDir, "examples", name) });
  const config = repo(c.repositories.config ?? example("config-repo"), "repositories.config");
  const app = repo(c.repositories.app ?? example("app"), "repositories.app");
  const imageDir = c.image.dir ? abs(c.image.dir) : undefined;
  if (imageDir) mustExist(imageDir, "image.dir", "directory");
  if (problems.length > 0) throw new InputError(problems);

  const g = c.group;
  const hook = g.launchHook.enabled ? g.launchHook : undefined;
  const terminateHook = g.terminateHook.enabled ? g.terminateHook : undefined;
  const heartbeatTimeoutMs = hook ? Math.round(hook.heartbeatTimeout * 1000) : 30_000;
  const tt = g.targetTracking;
  const stateDir = path.resolve(stateDirFlag ?? (c.stateDir ? abs(c.stateDir) : defaultStateDir()));
  const nginx = c.instances.webServer === "nginx";
  return {
    source: where,
    group: {
      name: g.name,
      min: g.min,
      max: g.max,
      desired: g.desired ?? defaultDesired(g.min, g.max),
      healthCheckType: g.healthCheckType,
      healthCheckGracePeriodMs: Math.round(g.healthCheckGracePeriod * 1000),
      availabilityZones: g.availabilityZones,
      region: regionOfZone(g.availabilityZones[0]!),
      instanceType: g.instanceType,
      launchTemplate: { name: g.launchTemplate.name ?? g.name, version: g.launchTemplate.version },
      launchHook: hook
        ? { name: hook.name, heartbeatTimeoutMs, defaultResult: hook.defaultResult }
        : undefined,
      terminateHook: terminateHook
        ? {
            name: terminateHook.name,
            heartbeatTimeoutMs: Math.round(terminateHook.heartbeatTimeout * 1000),
            defaultResult: terminateHook.defaultResult,
          }
        : undefined,
      targetTracking: tt
        ? {
            targetValue: tt.requestsPerTarget,
            scaleOutCooldownMs: Math.round(tt.scaleOutCooldown * 1000),
            scaleInCooldownMs: Math.round(tt.scaleInCooldown * 1000),
            disableScaleIn: tt.disableScaleIn,
            samplePeriodMs: Math.round(tt.samplePeriod * 1000),
          }
        : undefined,
    },
    image: { dir: imageDir, prepare: c.image.prepare },
    repositories: { config, app, ref: c.repositories.ref },
    role: c.role,
    instances: {
      addresses: parseAddressRange(c.instances.addresses) as AddressRange,
      addressesDefaulted,
      appPort: c.instances.appPort,
      healthPort: c.instances.healthPort,
      webServer: c.instances.webServer,
      webPort: c.instances.webPort,
      nginx: c.instances.nginx,
      metadataTags: c.instances.metadataTags,
      marketType: c.instances.marketType,
      spotNoticeMs: Math.round(c.instances.spotNotice * 1000),
      watchInterval: c.instances.watchInterval,
      environment: Object.fromEntries(
        Object.entries(c.instances.environment).map(([k, v]) => [k, String(v)]),
      ),
      trafficPort: nginx ? c.instances.webPort : c.instances.appPort,
      iamRole: {
        name: c.instances.iamRole.name,
        policy:
          (c.instances.iamRole.policy as PolicyDocument | undefined) ??
          defaultInstancePolicy(
            groupArnPattern(regionOfZone(g.availabilityZones[0]!), DEFAULT_ACCOUNT, g.name),
            logGroupArn(regionOfZone(g.availabilityZones[0]!), DEFAULT_ACCOUNT, failureLogGroup(g.name)),
          ),
        credentialLifetimeMs: Math.round(c.instances.iamRole.credentialLifetime * 1000),
      },
      boot: {
        ...c.instances.boot,
        heartbeatInterval: c.instances.boot.heartbeatInterval ?? Math.max(0.1, heartbeatTimeoutMs / 3000),
      },
    },
    loadBalancer: {
      kind: c.loadBalancer.kind,
      host: c.loadBalancer.host,
      port: c.loadBalancer.port,
      preset: c.loadBalancer.preset,
      settings: lbSettings(c),
      haproxy: c.loadBalancer.haproxy,
    },
    stateDir,
  };
}

/**
 * Load fleet.yaml (or .json), or the embedded default when `file` is undefined. `packageRoot`
 * resolves the embedded default's paths.
 */
export function loadFleetConfig(
  file: string | undefined,
  packageRoot: string,
  stateDirFlag?: string,
  opts: { checkPaths?: boolean; addresses?: string; template?: TemplateChoice } = {},
): FleetConfig {
  const { template, ...parseOpts } = opts;
  const { data, where, baseDir } = readFleetYaml(file, packageRoot);
  const settings = { stateDir: stateDirFlag, packageRoot, ...parseOpts };
  if (!template) return parseFleetConfig(data, where, baseDir, settings);
  const t = readTemplate(template, data);
  const merged = overlayTemplate(data, t.fleet);
  const cfg = parseFleetConfig(merged.data, `${template.file} (${t.group}) over ${where}`, baseDir, settings);
  return {
    ...cfg,
    template: {
      file: path.resolve(template.file),
      group: t.group,
      overridden: merged.overridden,
      notRehearsed: t.notRehearsed,
    },
  };
}

/** `fleet up --from-template FILE [--group ID]`. */
export interface TemplateChoice {
  file: string;
  group?: string;
}

/** A synthesized template read for the rehearsal; bad input is one line naming the file. */
function readTemplate(choice: TemplateChoice, fleetYaml: unknown): TemplateRehearsal {
  const { file } = choice;
  if (!existsSync(file) || statSync(file).isDirectory())
    throw new InputError(
      `--from-template ${file}: no such file; pass a synthesized template, e.g. cdk.out/<Stack>.template.json (npx cdk synth)`,
    );
  const text = readTextFile(file, `--from-template ${file}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: not JSON (${errorMessage(err)}); pass the .template.json cdk synth wrote`);
  }
  // Ref AWS::Region: the region of the zones fleet.yaml (or the default) gives, when the group names none
  const zones =
    isRecord(fleetYaml) && isRecord(fleetYaml.group) ? fleetYaml.group.availabilityZones : undefined;
  const zone = Array.isArray(zones) && typeof zones[0] === "string" ? zones[0] : DEFAULT_ZONES[0];
  return rehearseTemplate(json, file, {
    group: choice.group,
    region: zone.slice(0, -1),
    account: DEFAULT_ACCOUNT,
  });
}

/** what messages call the fleet.yaml muster carries, used when no --config is given */
const EMBEDDED = "(embedded default)";

/** fleet.yaml's data, the name messages give it, and the directory its paths are relative to. */
function readFleetYaml(
  file: string | undefined,
  packageRoot: string,
): { data: unknown; where: string; baseDir: string } {
  if (file === undefined)
    return { data: YAML.parse(EMBEDDED_FLEET_YAML), where: EMBEDDED, baseDir: packageRoot };
  if (!existsSync(file))
    throw new InputError(`--config ${file}: no such file; pass the path of a fleet.yaml`);
  if (statSync(file).isDirectory())
    throw new InputError(`--config ${file}: a directory; pass the path of a fleet.yaml in it`);
  const data = parseDataText(readTextFile(file, file), file.endsWith(".json"), file);
  // an empty file is more likely a mistake (the wrong file, an unsaved editor) than a wish for
  // every default, which would rehearse muster's example repositories, not the operator's
  if (data === null || data === undefined)
    throw new InputError(
      `${file}: empty; write the fleet's settings in it (muster schema fleet), or leave out --config for the embedded default`,
    );
  return { data, where: file, baseDir: path.dirname(path.resolve(file)) };
}

export function fleetConfigJsonSchema(): unknown {
  return z.toJSONSchema(fleetConfigSchema, { io: "input", unrepresentable: "any" });
}

/**
 * The CloudWatch Logs group the fleet's instances put their boot failure records in (the fleet's
 * logs emulator makes it at start): /muster/fleet/<group>, with any character a log group name
 * cannot hold as "-".
 */
export function failureLogGroup(groupName: string): string {
  return `/muster/fleet/${groupName.replace(/[^.\-_/#A-Za-z0-9]/g, "-")}`;
}

function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
