/**
 * The boot configuration: /etc/muster/boot.json (or .yaml/.yml) under the root, or the file
 * `--config` names. One zod schema validates it (every problem at once, each with its file and
 * path) and is published as JSON Schema for editors (`muster schema boot`).
 *
 * Durations in the file are seconds (fractions allowed); parsing resolves it into a BootConfig
 * whose durations are milliseconds, with names that say so (`timeouts.gitMs`), as fleet.yaml's
 * are. Paths named "inside the root" start with / and are resolved under the run's root; the
 * repository URL is handed to git as it is.
 */
import * as path from "node:path";
import { parseRoleSource, type RoleSource } from "../cloud/role-discovery.ts";
import { parseDataText, readTextFile } from "../core/data-file.ts";
import { errorMessage, InputError } from "../core/errors.ts";
import {
  boundedRecord,
  boundedString,
  LIFECYCLE_HOOK,
  LIMITS,
  LOOPBACK_HOST,
  seconds,
  secondsToMs,
} from "../core/schema-parts.ts";
import { z } from "../core/zod.ts";
import { zodProblems } from "../core/zod-problems.ts";
import { pathExists } from "../host/host-files.ts";
import { swappableByOthers } from "../host/swappable.ts";
import { normalInside, SYSTEM_DIRS } from "../host/system-dirs.ts";
import { holdsCredentials } from "../resources/git-credentials.ts";
import type { RetryPolicy } from "./plan.ts";
import type { HttpCheck } from "./stages/checks.ts";

/** Where `muster boot` looks for its configuration, inside the root, in this order. */
export const BOOT_CONFIG_PATHS = ["/etc/muster/boot.json", "/etc/muster/boot.yaml", "/etc/muster/boot.yml"];
export const DEFAULT_STATE_DIR = "/var/lib/muster";

const insidePath = z
  .string()
  .max(LIMITS.path)
  // "/" alone is left to the root check below: one line saying what is wrong with it
  .refine((p) => p === "/" || /^\/./.test(p), {
    message: "must be an absolute path inside the root (start with /)",
  })
  .refine((p) => !p.split("/").includes(".."), { message: 'must not contain ".."' })
  // "//" and "/." are the root itself: removed or cleared by image prepare, that is the whole root
  // (one with ".." is refused above already: one line for it)
  .refine((p) => p.split("/").includes("..") || path.posix.normalize(p) !== "/", {
    message: "names the root itself; give a path inside it",
  });

/**
 * PURE: why image prepare must not clear `p` (a state directory or an image.clean path), if so:
 * it removes each `image.clean` path whole and everything in the state directory, so neither may
 * be one of the host's own directories (a typo such as `stateDir: /var` would empty it), nor a
 * top-level directory for `image.clean`.
 */
export function systemDirProblem(p: string, whole: boolean): string | undefined {
  // a relative path, or one with "..", is refused by the path's own check: one line for it
  if (!p.startsWith("/") || p.split("/").includes("..")) return undefined;
  const n = normalInside(p);
  if (n === "/") return undefined; // the path's own check says so
  if (SYSTEM_DIRS.has(n))
    return `${n} is a directory of the host itself; \`muster image prepare\` would ${whole ? "remove it" : "empty it"}: give a directory of muster's own (such as /var/lib/muster)`;
  if (n.split("/").length === 2)
    return whole
      ? `${n} is a top-level directory; \`muster image prepare\` would remove it whole: name what inside it to remove`
      : `${n} is a top-level directory; \`muster image prepare\` would empty it: give a directory of muster's own inside it (such as ${n}/muster)`;
  if (whole && BOOT_CONFIG_PATHS.includes(n))
    return `${n} is the boot config; \`muster image prepare\` would remove it, and servers made from the image would not boot`;
  return undefined;
}
const httpUrl = z
  .url({
    protocol: /^https?$/,
    // the URL's own form only: its length is told in muster's usual words
    error: (issue) => (issue.code === "invalid_format" ? "expected an http:// or https:// URL" : undefined),
  })
  .max(LIMITS.url);

/**
 * The forms git accepts that muster allows: https://, ssh:// and scp-like user@host:path, file://,
 * a local path, and http:// only on loopback (a local git server in a fleet rehearsal), since
 * plain http on a real network lets anyone in between change the config every server runs.
 *
 * Refused too, here rather than at the fetch: a control character anywhere, whitespace in a URL
 * (git and curl refuse it, or ssh reads the rest as another argument; a local path may hold a
 * space), and a host, ssh user, port or ssh path beginning with "-". git itself refuses those as
 * an option injection (CVE-2017-1000117: `ssh://-oProxyCommand=...` made ssh run a command);
 * over https a user is often a token, which may begin with "-", and never reaches ssh.
 */
export function repoUrlProblem(url: string): string | undefined {
  if (/[\u0000-\u001f\u007f-\u009f]/.test(url))
    return "holds a control character (a tab, a newline, ...); remove it";
  if (url.startsWith("-"))
    return 'begins with "-", which git would take for an option; give a URL, or a local path as ./-name';
  if (url.startsWith("/") || url.startsWith("./") || url.startsWith("../")) return undefined;
  if (/\s/.test(url)) return "holds whitespace; remove it (a space in a URL's path is written %20)";
  const scheme = /^(https|ssh|file):\/\/./.exec(url)?.[1] ?? (url.startsWith("http://") ? "http" : undefined);
  if (scheme) {
    const { user, host, port } = urlAuthority(url.slice(scheme.length + 3));
    if (scheme === "ssh" && user.startsWith("-")) return sshOption("user");
    if (host.startsWith("-"))
      return scheme === "ssh"
        ? sshOption("host")
        : 'the host begins with "-", as no host name does; check the URL';
    if (scheme === "ssh" && port.startsWith("-")) return sshOption("port");
    if (scheme !== "http") return undefined;
    try {
      const hostname = new URL(url).hostname; // lower case, IPv4 numbers each 0 to 255
      if (LOOPBACK_HOST.test(hostname) || hostname === "[::1]") return undefined;
    } catch {}
    return "plain http:// is only allowed on loopback; use https:// or ssh://";
  }
  const scp = /^([A-Za-z0-9._-]+)@([A-Za-z0-9._-]+):(.)/.exec(url);
  if (scp) {
    if (scp[1].startsWith("-")) return sshOption("user");
    if (scp[2].startsWith("-")) return sshOption("host");
    if (scp[3] === "-") return sshOption("path");
    return undefined;
  }
  return "expected an https://, ssh://, user@host:path, file:// URL or a local path";
}

function sshOption(part: string): string {
  return `the ${part} begins with "-", which ssh would take for an option (git refuses it: CVE-2017-1000117); check the URL`;
}

/** PURE: the user, host and port of a URL's authority (what follows "scheme://"), each "" when absent. */
function urlAuthority(rest: string): { user: string; host: string; port: string } {
  const authority = /^[^/?#]*/.exec(rest)![0];
  const at = authority.lastIndexOf("@");
  const user = at < 0 ? "" : authority.slice(0, at);
  const hostPort = authority.slice(at + 1);
  const end = hostPort.startsWith("[") ? hostPort.indexOf("]") + 1 : hostPort.indexOf(":");
  if (end <= 0) return { user, host: hostPort, port: "" };
  return { user, host: hostPort.slice(0, end), port: hostPort.slice(end + 1) };
}

const roleObject = z.strictObject({
  /** security-groups | tag:<Key> | autoscaling-group | static:<name> | user-data */
  source: boundedString(LIMITS.name).default("security-groups"),
  /** When several security groups have role files: the first of these that matches wins. */
  preference: z.array(boundedString(LIMITS.name)).max(LIMITS.items).optional(),
});

export const bootConfigSchema = z
  .strictObject({
    $schema: z.string().max(LIMITS.url).optional(),
    repo: z.strictObject({
      url: boundedString(LIMITS.url),
      /** branch, tag or full commit id */
      ref: boundedString(LIMITS.ref).default("master"),
      /** periodic runs fetch `ref` again (follow a branch) instead of the commit the boot opened on */
      follow: z.boolean().default(false),
      /** commits of history to fetch; 0 = all */
      depth: z.number().int().min(0).max(1_000_000).default(1),
      /** private key for ssh URLs, inside the root; must not be readable by group or others */
      sshKey: insidePath.optional(),
      /** known_hosts for ssh URLs, inside the root (host keys are always checked) */
      knownHosts: insidePath.optional(),
      verify: z
        .strictObject({
          /** an ssh allowed_signers file inside the root; the fetched commit must be signed by one */
          allowedSigners: insidePath,
        })
        .optional(),
    }),
    /** where the role comes from: a source string, or { source, preference } */
    role: z
      .union([boundedString(LIMITS.name), roleObject], {
        error: 'expected a role source such as "security-groups" or { "source": ..., "preference": [...] }',
      })
      .default("security-groups"),
    gate: z
      .strictObject({
        /** the gate file inside the root (e.g. the web root's ping.html); default <stateDir>/gate.json */
        file: insidePath.optional(),
        /** muster's own health endpoint (`muster health serve`) */
        http: z
          .strictObject({
            port: z.number().int().min(1).max(65535),
            host: boundedString(LIMITS.name).default("0.0.0.0"),
            path: z
              .string()
              .max(LIMITS.url)
              .regex(/^\/[^\s?#]*$/, {
                message: "must start with / and hold no space, ? or # (no request could reach it)",
              })
              .default("/health"),
            /** the app's own check, required on every request too */
            appCheck: httpUrl.optional(),
          })
          .optional(),
      })
      .prefault({}),
    lifecycle: z
      .strictObject({
        /**
         * the launch hook (EC2_INSTANCE_LAUNCHING) the boot completes; AWS: a lifecycle hook name
         * and an Auto Scaling group name are 1 to 255 characters
         */
        hook: boundedString(LIMITS.name).optional(),
        /** the terminate hook (EC2_INSTANCE_TERMINATING) `muster watch` completes as the server departs */
        terminateHook: boundedString(LIMITS.name).optional(),
        /** default: the instance's aws:autoscaling:groupName tag */
        group: boundedString(LIMITS.name).optional(),
        /** below the hook's heartbeat timeout, which is at most 7200 s */
        heartbeatInterval: seconds({ max: LIFECYCLE_HOOK.heartbeatTimeoutMax }).default(60),
        onFailure: z.enum(["abandon", "none"]).default("abandon"),
      })
      .optional(),
    drain: z
      .strictObject({
        /**
         * the longest `muster watch` waits for in-flight connections as the server departs, seconds;
         * default 300, the load balancer's default deregistration delay
         */
        timeout: seconds({ orZero: true, max: 3600 }).default(300),
        /** the app's local port whose ESTABLISHED connections are counted; none: no drain wait */
        port: z.number().int().min(1).max(65535).optional(),
        /** only connections to this local address (the port on one address of several) */
        address: z.ipv4().optional(),
      })
      .prefault({}),
    watch: z
      .strictObject({
        /** seconds between `muster watch`'s metadata polls */
        interval: seconds({ min: 0.1, max: 300 }).default(5),
      })
      .prefault({}),
    retries: z
      .strictObject({
        /** attempts of the whole pipeline, the first included */
        attempts: z.number().int().min(1).max(100).default(3),
        backoffBase: seconds().default(5),
        backoffCap: seconds().default(60),
        /** 0..1: each pause is shortened by up to this fraction, at random */
        jitter: z.number().min(0).max(1).default(0.3),
        /**
         * overall bound for the boot, seconds: at most 48 hours, the longest a lifecycle hook
         * keeps an instance waiting (LIFECYCLE_HOOK)
         */
        deadline: seconds({ max: LIFECYCLE_HOOK.globalTimeoutMax }).default(1800),
      })
      .prefault({}),
    checks: z
      .array(
        z.strictObject({
          url: httpUrl,
          status: z.number().int().min(100).max(599).default(200),
          timeout: seconds().default(5),
        }),
      )
      .max(LIMITS.items)
      .default([]),
    endpoints: z
      .strictObject({
        /** the metadata service, default AWS's; "off" for hosts outside EC2 (static role, no lifecycle) */
        metadata: z.union([httpUrl, z.literal("off")]).optional(),
        /** the Auto Scaling API, default AWS's regional endpoint */
        autoscaling: httpUrl.optional(),
        /** CloudWatch Logs, for failureLog; default AWS's regional endpoint */
        logs: httpUrl.optional(),
        /** default: the instance's region from metadata */
        region: boundedString(LIMITS.name).optional(),
      })
      .prefault({}),
    /**
     * where a boot that gives up puts its failure record besides the console: a CloudWatch Logs
     * group (it must exist), in a stream named after the instance unless logStream says otherwise
     */
    failureLog: z
      .strictObject({
        logGroup: z
          .string()
          .regex(/^[.\-_/#A-Za-z0-9]{1,512}$/, { message: "1 to 512 of letters, digits and . - _ / #" }),
        logStream: z
          .string()
          .regex(/^[^:*]{1,512}$/, { message: "1 to 512 characters, none of them : or *" })
          .optional(),
      })
      .optional(),
    /**
     * the console the failure record's line is written to (`aws ec2 get-console-output` reads it
     * back), inside the root; it is only opened, never made; "off" writes none
     */
    console: z.union([insidePath, z.literal("off")]).default("/dev/console"),
    timeouts: z
      .strictObject({
        /** each metadata request */
        metadata: seconds().default(2),
        /** each Auto Scaling call attempt */
        lifecycle: seconds().default(5),
        /** each git network step */
        git: seconds().default(120),
        /** npm ci of the recipe dependencies */
        deps: seconds().default(900),
      })
      .prefault({}),
    /** attributes merged over the role's (like --attr), e.g. { app: { repo: ... } } */
    attributes: boundedRecord(z.string().max(LIMITS.name), z.unknown()).optional(),
    /**
     * a key of the roles' env_run_lists: a name, as `muster converge --environment` takes it (a
     * regex, the house style for a boot config field; its length is the bound's to tell)
     */
    environment: boundedString(LIMITS.name)
      .regex(/^[\w.-]*$/, { message: 'expected a name of letters, digits, . _ - (such as "production")' })
      .optional(),
    periodic: z
      .strictObject({
        /** seconds between re-converge runs (muster-converge.timer), 60 to 604800 (a week) */
        interval: seconds({ min: 60, max: 604_800 }).default(1800),
        /** close the gate when a periodic run fails (default: keep serving) */
        closeGateOnFailure: z.boolean().default(false),
      })
      .prefault({}),
    image: z
      .strictObject({
        /** more paths inside the root that `muster image prepare` removes (app checkouts, caches) */
        clean: z.array(insidePath).max(LIMITS.items).default([]),
      })
      .prefault({}),
    stateDir: insidePath.default(DEFAULT_STATE_DIR),
  })
  .superRefine((cfg, ctx) => {
    const stateProblem = systemDirProblem(cfg.stateDir, false);
    if (stateProblem) ctx.addIssue({ code: "custom", path: ["stateDir"], message: stateProblem });
    cfg.image.clean.forEach((p, i) => {
      const problem = systemDirProblem(p, true);
      if (problem) ctx.addIssue({ code: "custom", path: ["image", "clean", i], message: problem });
    });
    if (cfg.gate.file && BOOT_CONFIG_PATHS.includes(normalInside(cfg.gate.file)))
      ctx.addIssue({
        code: "custom",
        path: ["gate", "file"],
        message:
          "is the boot config itself, which the boot would remove as it closes the gate; give the web root's ping.html or leave it out",
      });
    // the gate is a file the boot removes and writes, and image prepare removes: a directory of
    // the host, or the state directory, named here would be removed instead
    const gateDir =
      cfg.gate.file &&
      [...SYSTEM_DIRS, normalInside(cfg.stateDir)].find((d) => d === normalInside(cfg.gate.file!));
    if (gateDir)
      ctx.addIssue({
        code: "custom",
        path: ["gate", "file"],
        message: `${gateDir} is a directory${gateDir === normalInside(cfg.stateDir) ? " (the state directory)" : " of the host itself"}, not a gate file; give a file such as /var/www/html/ping.html`,
      });
    // an empty url is refused by its own check
    const urlProblem = cfg.repo.url === "" ? undefined : repoUrlProblem(cfg.repo.url);
    if (urlProblem) ctx.addIssue({ code: "custom", path: ["repo", "url"], message: urlProblem });
    const source = typeof cfg.role === "string" ? cfg.role : cfg.role.source;
    try {
      parseRoleSource(source);
    } catch (err) {
      ctx.addIssue({
        code: "custom",
        path: typeof cfg.role === "string" ? ["role"] : ["role", "source"],
        message: errorMessage(err),
      });
    }
    if (cfg.retries.backoffCap < cfg.retries.backoffBase)
      ctx.addIssue({
        code: "custom",
        path: ["retries", "backoffCap"],
        message: `must be at least backoffBase (${cfg.retries.backoffBase})`,
      });
    if (cfg.lifecycle && !cfg.lifecycle.hook && !cfg.lifecycle.terminateHook)
      ctx.addIssue({
        code: "custom",
        path: ["lifecycle"],
        message: "names no hook: give hook (the launch hook), terminateHook, or both",
      });
    if (cfg.endpoints.metadata === "off") {
      if (!source.startsWith("static:"))
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", "metadata"],
          message: '"off" needs a static:<name> role source (there is no metadata to find the role in)',
        });
      if (cfg.lifecycle)
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", "metadata"],
          message: '"off" cannot be used with a lifecycle hook (the instance id comes from metadata)',
        });
    }
  });

export type BootConfigFile = z.infer<typeof bootConfigSchema>;

/**
 * The validated configuration, resolved: the role source parsed, the gate file settled, every
 * duration in milliseconds.
 */
export interface BootConfig
  extends Omit<
    BootConfigFile,
    "role" | "gate" | "lifecycle" | "retries" | "checks" | "timeouts" | "periodic" | "drain" | "watch"
  > {
  role: { source: RoleSource; preference?: string[] };
  gate: { file: string; http?: NonNullable<BootConfigFile["gate"]["http"]> };
  lifecycle?: {
    /** the launch hook; absent: the boot completes none */
    hook?: string;
    terminateHook?: string;
    group?: string;
    heartbeatIntervalMs: number;
    onFailure: "abandon" | "none";
  };
  retries: RetryPolicy;
  checks: HttpCheck[];
  timeouts: { metadataMs: number; lifecycleMs: number; gitMs: number; depsMs: number };
  periodic: { intervalMs: number; closeGateOnFailure: boolean };
  drain: { timeoutMs: number; port?: number; address?: string };
  watch: { intervalMs: number };
  /** where it was read from, as shown in messages */
  file: string;
}

export function bootConfigJsonSchema(): unknown {
  return z.toJSONSchema(bootConfigSchema, { io: "input", unrepresentable: "any" });
}

/** Validate parsed data; every problem at once as one-line InputError problems. */
export function parseBootConfig(data: unknown, where: string): BootConfig {
  const r = bootConfigSchema.safeParse(data);
  if (!r.success) throw new InputError(zodProblems(where, r.error, [], "field"));
  const cfg = r.data;
  const role = typeof cfg.role === "string" ? { source: cfg.role } : cfg.role;
  const { lifecycle, retries, timeouts, periodic, drain } = cfg;
  return {
    ...cfg,
    role: { source: parseRoleSource(role.source), preference: role.preference },
    gate: { file: cfg.gate.file ?? path.posix.join(cfg.stateDir, "gate.json"), http: cfg.gate.http },
    lifecycle: lifecycle && {
      hook: lifecycle.hook,
      terminateHook: lifecycle.terminateHook,
      group: lifecycle.group,
      heartbeatIntervalMs: secondsToMs(lifecycle.heartbeatInterval),
      onFailure: lifecycle.onFailure,
    },
    retries: {
      attempts: retries.attempts,
      backoffBaseMs: secondsToMs(retries.backoffBase),
      backoffCapMs: secondsToMs(retries.backoffCap),
      jitter: retries.jitter,
      deadlineMs: secondsToMs(retries.deadline),
    },
    checks: cfg.checks.map((c) => ({ url: c.url, status: c.status, timeoutMs: secondsToMs(c.timeout) })),
    timeouts: {
      metadataMs: secondsToMs(timeouts.metadata),
      lifecycleMs: secondsToMs(timeouts.lifecycle),
      gitMs: secondsToMs(timeouts.git),
      depsMs: secondsToMs(timeouts.deps),
    },
    periodic: { intervalMs: secondsToMs(periodic.interval), closeGateOnFailure: periodic.closeGateOnFailure },
    drain: { timeoutMs: secondsToMs(drain.timeout), port: drain.port, address: drain.address },
    watch: { intervalMs: secondsToMs(cfg.watch.interval) },
    file: where,
  };
}

export interface BootConfigLocation {
  /** host path of the file */
  hostPath: string;
  /** as shown in messages: the path inside the root, or the --config path */
  shown: string;
}

/** The boot config file to read: `--config`, else the first of BOOT_CONFIG_PATHS under the root. */
export function findBootConfig(root: string, configFlag?: string): BootConfigLocation | undefined {
  if (configFlag) {
    if (!pathExists(configFlag))
      throw new InputError(`--config ${configFlag}: no such file; pass the path of a boot.json or boot.yaml`);
    return { hostPath: configFlag, shown: configFlag };
  }
  for (const p of BOOT_CONFIG_PATHS) {
    const host = path.join(root, p);
    if (pathExists(host)) return { hostPath: host, shown: p };
  }
  return undefined;
}

/** Read and parse the file (JSON or YAML by extension; YAML also reads JSON). */
export function readConfigData(loc: BootConfigLocation): unknown {
  return parseDataText(readTextFile(loc.hostPath, loc.shown), loc.hostPath.endsWith(".json"), loc.shown);
}

/**
 * The boot config's data, from a file that only root (or this user) can change, and that nobody
 * else can read when it holds a secret. Whoever can write it chooses the repository root
 * converges, so a file another user owns, or one with a group or other write bit, is refused; a
 * URL with credentials in a file others may read is refused too, as ssh refuses an open private
 * key. (`gate close` and the boot still close the gates such a file names: gatesAnyConfigCouldName.)
 */
function trustedConfigData(loc: BootConfigLocation): unknown {
  const uid = process.geteuid?.() ?? 0;
  const unsafe = swappableByOthers(loc.hostPath, uid);
  if (unsafe)
    throw new InputError(
      `${loc.shown}: ${unsafe}; whoever can change the boot config chooses what root converges: keep it, and the directory it is in, root's and writable by root only`,
    );
  const seen = { uid: 0, mode: 0 };
  const text = readTextFile(loc.hostPath, loc.shown, seen);
  const mode = seen.mode.toString(8).padStart(4, "0");
  if ((seen.uid !== 0 && seen.uid !== uid) || (seen.mode & 0o022) !== 0)
    throw new InputError(
      `${loc.shown}: ${seen.uid !== 0 && seen.uid !== uid ? `owned by uid ${seen.uid}` : `writable by others (mode ${mode})`}; whoever can change the boot config chooses what root converges: chown root and chmod 600 it`,
    );
  if ((seen.mode & 0o044) !== 0 && holdsCredentials(text))
    throw new InputError(
      `${loc.shown}: holds a URL with credentials and others can read it (mode ${mode}): chmod 600 it`,
    );
  return parseDataText(text, loc.hostPath.endsWith(".json"), loc.shown);
}

/** Load the boot config of a root; an InputError when there is none or it is invalid. */
export function loadBootConfig(root: string, configFlag?: string): BootConfig {
  const loc = findBootConfig(root, configFlag);
  if (!loc)
    throw new InputError(
      `no boot config: write ${BOOT_CONFIG_PATHS[0]} (or boot.yaml) under ${root}, or pass --config FILE; ` +
        "`muster schema boot` prints its JSON Schema",
    );
  return parseBootConfig(trustedConfigData(loc), loc.shown);
}

/**
 * Where the gate and state live, for commands that only read them (gate status, health, status,
 * image prepare): from the boot config when there is one, else the defaults.
 */
export function gateSettings(
  root: string,
  configFlag?: string,
): { gateFile: string; stateDir: string; config?: BootConfig } {
  const loc = findBootConfig(root, configFlag);
  if (!loc) return { gateFile: `${DEFAULT_STATE_DIR}/gate.json`, stateDir: DEFAULT_STATE_DIR };
  const config = parseBootConfig(trustedConfigData(loc), loc.shown);
  return { gateFile: config.gate.file, stateDir: config.stateDir, config };
}

/**
 * The gate files a broken config names, if it names any (its gate.file, the gate.json of its
 * stateDir): when the config cannot be used, the boot and `gate close` still remove what they
 * can find, so a bad config never leaves an old gate open.
 */
export function gateFilesOfBrokenConfig(data: unknown): string[] {
  const d = data as { gate?: { file?: unknown }; stateDir?: unknown } | undefined;
  const usable = (p: unknown): p is string =>
    typeof p === "string" &&
    p.startsWith("/") &&
    !p.split("/").includes("..") &&
    path.posix.normalize(p) !== "/";
  const stateDir = d?.stateDir;
  return [
    ...(usable(d?.gate?.file) ? [d.gate.file] : []),
    ...(usable(stateDir) ? [path.posix.join(stateDir, "gate.json")] : []),
  ];
}

/** Every gate file the boot config of `root` could name, broken or missing as it may be; never throws. */
export function gatesAnyConfigCouldName(root: string, configFlag?: string): string[] {
  const gates = [`${DEFAULT_STATE_DIR}/gate.json`];
  try {
    const loc = findBootConfig(root, configFlag);
    if (loc) gates.push(...gateFilesOfBrokenConfig(readConfigData(loc)));
  } catch {}
  // never the config itself, which a broken gate.file may name (that is one way it is broken)
  const configs = new Set(BOOT_CONFIG_PATHS);
  if (configFlag) configs.add(path.relative(root, path.resolve(configFlag)).replace(/^(?!\/)/, "/"));
  return [...new Set(gates)].filter((g) => !configs.has(normalInside(g)));
}
