/**
 * The local supervisor's decisions and formats, pure: where it keeps things under a root, the
 * service definition it reads, the wire protocol, the child's environment, and when a crashed
 * service is restarted. supervisor-daemon.ts and supervisor-client.ts do the effects.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";

/** A service as the supervisor runs it: ROOT/etc/muster/services/<name>.json. */
export interface ServiceDefinition {
  description?: string;
  /** argv; argv[0] is a host executable (a name is looked up in PATH) */
  command: string[];
  /** inside the root */
  workingDirectory?: string;
  environment?: Record<string, string>;
  /** inside the root; KEY=VALUE lines */
  environmentFile?: string;
  user?: string | number;
  group?: string | number;
  restart: RestartPolicy;
  /** sent on reload; without it a reload is a restart */
  reloadSignal?: NodeJS.Signals;
  /**
   * A service muster itself provides, run inside the supervisor's own process instead of a node
   * process of its own (which costs about 50 MB and a node start). `health`: `command` is muster's
   * `muster health serve ...` (what muster-health.service runs on a host), served in-process with
   * the flags that follow `health serve` (supervisor-builtins.ts).
   */
  builtin?: BuiltinName;
}

export const BUILTIN_SERVICES = ["health"] as const;
export type BuiltinName = (typeof BUILTIN_SERVICES)[number];

/**
 * The flags of a builtin's muster command: what follows `health serve` in `command`, or a
 * problem (one line) when `command` is not that muster command.
 */
export function builtinArgs(def: ServiceDefinition): { args: string[] } | { problem: string } {
  if (def.builtin === undefined) return { problem: "not a builtin service" };
  if (!(BUILTIN_SERVICES as readonly string[]).includes(def.builtin))
    return { problem: `unknown builtin "${def.builtin}" (known: ${BUILTIN_SERVICES.join(", ")})` };
  const words = ["health", "serve"];
  for (let i = 0; i + words.length <= def.command.length; i++)
    if (words.every((w, k) => def.command[i + k] === w)) return { args: def.command.slice(i + words.length) };
  return { problem: `builtin "${def.builtin}": its command must be \`muster ${words.join(" ")} ...\`` };
}

export type RestartPolicy = "no" | "on-failure" | "always";

export type ServiceRunState = "stopped" | "starting" | "running" | "backoff" | "stopping" | "failed";

export interface ServiceStatus {
  name: string;
  state: ServiceRunState;
  pid?: number;
  /** times started since the supervisor started (starts after a crash included) */
  starts: number;
  /** unexpected exits since the supervisor started */
  crashes: number;
  /** the pids it had, oldest first (the last 20) */
  pids: number[];
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  /** why it is failed */
  error?: string;
  /** host path of its stdout+stderr log */
  logFile: string;
}

export type SupervisorRequest =
  | { op: "ping" }
  | { op: "status"; name?: string }
  | { op: "start" | "stop" | "restart" | "reload"; name: string }
  | { op: "shutdown" };

export type SupervisorResponse =
  | { ok: true; pid: number; services: Record<string, ServiceStatus> }
  | { ok: false; error: string };

/** Where the supervisor of a root keeps its things, as paths inside the root. */
export const SUPERVISOR_PATHS = {
  runDir: "/run/muster",
  info: "/run/muster/supervisor.json",
  lock: "/run/muster/supervisor.lock",
  stateDir: "/run/muster/services",
  definitions: "/etc/muster/services",
  enabled: "/etc/muster/services/enabled",
  logDir: "/var/log/muster/services",
  log: "/var/log/muster/supervisor.log",
} as const;

export const definitionPath = (name: string) => `${SUPERVISOR_PATHS.definitions}/${name}.json`;
export const enabledMarker = (name: string) => `${SUPERVISOR_PATHS.enabled}/${name}`;
export const statePath = (name: string, ext: "json" | "pid") => `${SUPERVISOR_PATHS.stateDir}/${name}.${ext}`;
export const logPath = (name: string) => `${SUPERVISOR_PATHS.logDir}/${name}.log`;

/** A unix socket path is at most 107 bytes; a deep root's socket goes elsewhere, named by a hash. */
export const MAX_SOCKET_PATH = 100;
/**
 * Where a deep root's socket goes: this user's private directory in /tmp (`/tmp/muster-<uid>/`,
 * supervisor-socket-path.ts), not in $TMPDIR or $XDG_RUNTIME_DIR. The supervisor of a fleet
 * instance runs with a service's environment (neither), while whoever started it (the fleet
 * daemon, a converge) may have them: both must name the same path, before and after the
 * supervisor listens, so it depends on the uid alone.
 */
export const SOCKET_FALLBACK_BASE = "/tmp";

/** The root's own socket path, or undefined when it is too long for a unix socket. */
export function socketInRoot(hostRoot: string): string | undefined {
  const inRoot = path.join(hostRoot, "run/muster/supervisor.sock");
  return Buffer.byteLength(inRoot) <= MAX_SOCKET_PATH ? inRoot : undefined;
}

/** A deep root's socket name in the fallback directory: one per root. */
export function fallbackSocketName(hostRoot: string): string {
  return `supervisor-${createHash("sha256").update(hostRoot).digest("hex").slice(0, 16)}.sock`;
}

/** The definition file's text: stable key order, so an unchanged unit compares equal. */
export function definitionText(def: ServiceDefinition): string {
  const ordered: ServiceDefinition = {
    description: def.description,
    command: def.command,
    workingDirectory: def.workingDirectory,
    environment: def.environment ? sortKeys(def.environment) : undefined,
    environmentFile: def.environmentFile,
    user: def.user,
    group: def.group,
    restart: def.restart,
    reloadSignal: def.reloadSignal,
    builtin: def.builtin,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function sortKeys(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * A command line split into argv the way systemd splits ExecStart: words separated by blanks,
 * "double" and 'single' quotes group, backslash escapes the next character. No shell features
 * (no $VAR, no globs): written by hand because a shell-quote library would promise more.
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && quote !== "'" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in "${line}"`);
  if (inWord) out.push(cur);
  return out;
}

/** KEY=VALUE lines as systemd's EnvironmentFile= reads them: # comments, optional quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

/**
 * The child's environment: a clean one, as systemd gives a service (not the converge run's, which
 * may carry credentials), then the environment file, then the unit's own variables.
 */
export function serviceEnvironment(
  inherited: Record<string, string | undefined>,
  fromFile: Record<string, string>,
  def: ServiceDefinition,
  extra: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: inherited.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  };
  for (const k of ["LANG", "LC_ALL", "TZ"]) if (inherited[k] !== undefined) env[k] = inherited[k]!;
  return { ...env, ...extra, ...fromFile, ...(def.environment ?? {}) };
}

export interface RestartLimits {
  /** at most this many restarts after crashes ... */
  burst: number;
  /** ... within this many milliseconds, then the service is failed */
  intervalMs: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_LIMITS: RestartLimits = {
  burst: 5,
  intervalMs: 30_000,
  firstDelayMs: 100,
  maxDelayMs: 5_000,
};

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; reason: string };

/**
 * After an exit nobody asked for: restart (after an exponential backoff) or give up. `recent` are
 * the times of earlier crash restarts.
 */
export function restartDecision(
  policy: RestartPolicy,
  exit: { code: number | null; signal: string | null },
  recent: number[],
  now: number,
  limits: RestartLimits = DEFAULT_RESTART_LIMITS,
): RestartDecision {
  const failed = exit.signal !== null || exit.code !== 0;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  if (policy === "no" || (policy === "on-failure" && !failed)) return { restart: false, reason: how };
  const inWindow = recent.filter((t) => now - t < limits.intervalMs);
  if (inWindow.length >= limits.burst)
    return {
      restart: false,
      reason: `${how}; restarted ${inWindow.length} times within ${Math.round(limits.intervalMs / 1000)} s, giving up`,
    };
  return { restart: true, delayMs: Math.min(limits.firstDelayMs * 2 ** inWindow.length, limits.maxDelayMs) };
}

/**
 * PURE: the line of a crashed service's log tail that says why: the last error line (`Error:
 * listen EADDRINUSE ...`, `npm ERR! ...`, `fatal: ...`), else the last line that is not Node's
 * closing version banner (`Node.js v20.20.2`, which every uncaught exception ends with).
 */
export function tellingLogLine(text: string): string | undefined {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const error = /^(\w*Error\b|\w*Exception\b|npm ERR!|fatal:|panic:|error:)/i;
  for (let i = lines.length - 1; i >= 0; i--) if (error.test(lines[i]!)) return lines[i];
  return lines.filter((l) => !/^Node\.js v\d+\.\d+\.\d+$/.test(l)).pop();
}
