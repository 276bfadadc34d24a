/**
 * What the fleet writes into an instance's root before it starts, PURE (settings in, data out):
 * the boot config pointing `muster boot` at the emulators and the git server, the command lines
 * of the systemd units `muster install` writes (so the sandbox runs exactly what a host runs,
 * with its root in place of /), the service definitions of the image's own services (muster's
 * health endpoint, nginx), and nginx's configuration.
 */
import * as path from "node:path";
import { systemdUnits } from "../../boot/systemd-units.ts";
import type { ServiceDefinition } from "../../providers/supervisor-policy.ts";
import { splitCommand } from "../../providers/supervisor-policy.ts";
import { type FleetConfig, failureLogGroup } from "../control/fleet-config.ts";

/** The gate file inside an instance's root: muster's default, or the web root's ping.html for nginx. */
export function gateFileFor(cfg: FleetConfig): string {
  return cfg.instances.webServer === "nginx" ? "/srv/www/ping.html" : "/var/lib/muster/gate.json";
}

/** The console of an instance, inside its root: a regular file the fleet makes at launch. */
export const INSTANCE_CONSOLE = "/dev/console";

export interface InstanceEndpoints {
  address: string;
  metadataUrl: string;
  autoscalingUrl: string;
  /** the fleet's CloudWatch Logs emulator, where a failed boot's record goes */
  logsUrl?: string;
  configRepoUrl: string;
  appRepoUrl: string;
}

/** /etc/muster/boot.json of an instance. */
export function instanceBootConfig(cfg: FleetConfig, e: InstanceEndpoints): Record<string, unknown> {
  const b = cfg.instances.boot;
  const hook = cfg.group.launchHook;
  const terminateHook = cfg.group.terminateHook;
  return {
    repo: { url: e.configRepoUrl, ref: cfg.repositories.ref, depth: 1 },
    role: cfg.role.source,
    gate: {
      file: gateFileFor(cfg),
      http: {
        port: cfg.instances.healthPort,
        host: e.address,
        path: "/health",
        appCheck: `http://${e.address}:${cfg.instances.appPort}/health`,
      },
    },
    ...(hook || terminateHook
      ? {
          lifecycle: {
            ...(hook ? { hook: hook.name } : {}),
            ...(terminateHook ? { terminateHook: terminateHook.name } : {}),
            group: cfg.group.name,
            heartbeatInterval: b.heartbeatInterval,
          },
        }
      : {}),
    // the drain waits for the load balancer's connections to the traffic port, as long as its
    // deregistration delay at most
    drain: {
      timeout: cfg.loadBalancer.settings.deregistrationDelayMs / 1000,
      port: cfg.instances.trafficPort,
      address: e.address,
    },
    watch: { interval: cfg.instances.watchInterval },
    retries: {
      attempts: b.attempts,
      backoffBase: b.backoffBase,
      backoffCap: b.backoffCap,
      jitter: 0.3,
      deadline: b.deadline,
    },
    endpoints: {
      metadata: e.metadataUrl,
      autoscaling: e.autoscalingUrl,
      ...(e.logsUrl ? { logs: e.logsUrl } : {}),
      region: cfg.group.region,
    },
    ...(e.logsUrl ? { failureLog: { logGroup: failureLogGroup(cfg.group.name) } } : {}),
    // the instance's console: a file in its root the fleet made (INSTANCE_CONSOLE), read as the
    // hypervisor's console log after the instance is gone
    console: INSTANCE_CONSOLE,
    timeouts: { metadata: b.metadataTimeout, lifecycle: 2, git: b.gitTimeout, deps: 300 },
    attributes: { app: { repo: e.appRepoUrl, host: e.address, port: cfg.instances.appPort } },
  };
}

export interface UnitCommands {
  /** muster-boot.service: ExecStartPre (removes the gate) and ExecStart */
  bootPre: string[];
  boot: string[];
  /** muster-health.service's ExecStart */
  health: string[];
  /** muster-watch.service's ExecStart */
  watch: string[];
}

/**
 * The units' command lines with the instance's root in place of "/": the boot runs as
 * muster-boot.service would run it on a host, word for word.
 */
export function unitCommands(s: {
  node: string;
  muster: string;
  root: string;
  gateFile: string;
  deadline: number;
}): UnitCommands {
  const units = systemdUnits({
    node: s.node,
    muster: s.muster,
    gateFile: path.join(s.root, s.gateFile),
    deadlineMs: s.deadline * 1000,
    intervalMs: 1_800_000,
  });
  const line = (unit: string, key: string): string[] => {
    const m = new RegExp(`^${key}=(.*)$`, "m").exec(units[unit] ?? "");
    if (!m) throw new Error(`${unit} has no ${key}`);
    const argv = splitCommand(m[1]!);
    const i = argv.indexOf("--root");
    if (i >= 0 && argv[i + 1] === "/") argv[i + 1] = s.root;
    return argv;
  };
  return {
    bootPre: line("muster-boot.service", "ExecStartPre"),
    boot: line("muster-boot.service", "ExecStart"),
    health: line("muster-health.service", "ExecStart"),
    watch: line("muster-watch.service", "ExecStart"),
  };
}

/**
 * muster-health as a service of the instance's supervisor (enabled: it starts with the instance),
 * served inside the supervisor's process (a builtin): the unit's command line, without a node
 * process of its own.
 */
export function healthService(command: string[], bootId: string): ServiceDefinition {
  return {
    description: "muster health endpoint (muster-health.service)",
    command,
    environment: { MUSTER_BOOT_ID: bootId },
    restart: "always",
    builtin: "health",
  };
}

/**
 * muster-watch as a service of the instance's supervisor: the unit's command line in a process of
 * its own, started once the boot has run (the unit's After=muster-boot.service).
 */
export function watchService(command: string[], bootId: string): ServiceDefinition {
  return {
    description: "muster watch: the departure (muster-watch.service)",
    command,
    environment: { MUSTER_BOOT_ID: bootId },
    restart: "on-failure",
  };
}

/** Where nginx keeps its things for an instance, as host paths. */
export function nginxPaths(hostRoot: string): {
  prefix: string;
  conf: string;
  accessLog: string;
  errorLog: string;
} {
  const prefix = path.join(hostRoot, "var/lib/nginx");
  return {
    prefix,
    conf: path.join(hostRoot, "etc/nginx/fleet.conf"),
    accessLog: path.join(prefix, "logs/access.log"),
    errorLog: path.join(prefix, "logs/error.log"),
  };
}

/** nginx in front of the app: the web root, the gate file at /ping.html, the rest to the app. */
export function nginxService(nginx: string, hostRoot: string): ServiceDefinition {
  const p = nginxPaths(hostRoot);
  return {
    description: "nginx: the instance's web root and gate file, the app behind it",
    command: [nginx, "-p", p.prefix, "-e", p.errorLog, "-c", p.conf],
    restart: "on-failure",
  };
}

/**
 * nginx.conf of an instance, the example site (examples/config-repo/templates/site.conf.eta)
 * with host paths: every path nginx opens (pid, logs, temp) is under the prefix.
 */
export function nginxConf(o: {
  hostRoot: string;
  address: string;
  webPort: number;
  appPort: number;
  gateFile: string;
  /** `user` directive: nginx started as root must name a user for its workers */
  user?: string;
}): string {
  const p = nginxPaths(o.hostRoot);
  const temp = (n: string) => path.join(p.prefix, "temp", n);
  const gateDir = path.join(o.hostRoot, path.posix.dirname(o.gateFile));
  const gateName = path.posix.basename(o.gateFile);
  return `# Written by muster fleet for instance ${o.address}; nginx -p ${p.prefix} -c ${p.conf}
daemon off;
${o.user ? `user ${o.user};\n` : ""}worker_processes 1;
pid ${path.join(p.prefix, "nginx.pid")};
error_log ${p.errorLog} warn;
events { worker_connections 256; }
http {
  log_format fleet '$msec $remote_addr "$request" $status "$http_user_agent"';
  access_log ${p.accessLog} fleet;
  client_body_temp_path ${temp("client")};
  proxy_temp_path ${temp("proxy")};
  fastcgi_temp_path ${temp("fastcgi")};
  uwsgi_temp_path ${temp("uwsgi")};
  scgi_temp_path ${temp("scgi")};
  server {
    listen ${o.address}:${o.webPort};
    root ${path.join(o.hostRoot, "srv/app/live/public")};
    # the health gate: the load balancer checks this file; muster writes it last
    location = /ping.html {
      root ${gateDir};
      try_files /${gateName} =503;
      default_type application/json;
    }
    location / {
      proxy_pass http://${o.address}:${o.appPort};
      proxy_set_header Host $host;
    }
  }
}
`;
}

/** Temp directories nginx needs to exist before it starts. */
export function nginxDirs(hostRoot: string): string[] {
  const p = nginxPaths(hostRoot);
  return [
    path.join(p.prefix, "logs"),
    ...["client", "proxy", "fastcgi", "uwsgi", "scgi"].map((n) => path.join(p.prefix, "temp", n)),
    path.dirname(p.conf),
  ];
}

export interface NginxAccess {
  time: number;
  request: string;
  status: number;
  userAgent: string;
}

/** nginx access log lines in the `fleet` format above. */
export function parseNginxAccessLog(text: string): NginxAccess[] {
  const out: NginxAccess[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+\.\d+) \S+ "([^"]*)" (\d+) "([^"]*)"$/.exec(line.trim());
    if (m)
      out.push({
        time: Math.round(Number(m[1]) * 1000),
        request: m[2]!,
        status: Number(m[3]),
        userAgent: m[4]!,
      });
  }
  return out;
}
