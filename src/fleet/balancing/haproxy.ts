/**
 * HAProxy as the fleet's load balancer (`loadBalancer.kind: haproxy`): the same targets, states
 * and access log as muster's own, from a real one. It runs as `haproxy -f CFG -D -p PIDFILE`
 * with its admin socket and config under the fleet's state directory; targets are added and
 * removed at run time over the admin socket (`add server`, `del server`), its health checks are
 * `option httpchk GET <path>`, and it sends one access-log line per request over syslog (UDP on
 * loopback) to this process, which writes the fleet's JSON-lines access log.
 *
 * ELB semantics on top of HAProxy's (written here because HAProxy has no notion of them):
 * - initial: HAProxy takes a newly added server as up before any check. A new target is added
 *   in DRAIN state (checked, but given no request) and made ready only once its checks pass,
 *   so a target gets no request before it has passed a health check.
 * - draining: deregistration puts the server in DRAIN; it is removed when it has no session
 *   left or when the deregistration delay has passed (sessions are then shut down).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { EventEmitter } from "node:events";
import { createWriteStream, mkdirSync, readFileSync, type WriteStream, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { errorMessage, InputError, RunError, TimeoutError } from "../../core/errors.ts";
import { privateRuntimeDir } from "../../host/private-dir.ts";
import { procStart, signal, waitGone } from "../instances/processes.ts";
import type { FleetLoadBalancer, FleetTarget } from "./fleet-lb.ts";
import type { AccessLogEntry, LoadBalancerEvents, TargetSpec } from "./load-balancer.ts";
import { parseSuccessCodes, type TargetGroupSettings, type TargetState } from "./target-health.ts";

export interface HaproxyOptions {
  /** the directory for haproxy.cfg, the pid file, the admin socket */
  dir: string;
  host: string;
  /** 0: a free port is picked */
  port: number;
  /** backend name (the group's name) */
  backend: string;
  settings: TargetGroupSettings;
  binary?: string;
  accessLogPath?: string;
  /** how often the servers' state is read, ms */
  pollMs?: number;
}

/** `http-check expect` for a success-code matcher ("200", "200,204", "200-299"). */
export function expectLine(successCodes: string): string {
  const ranges = parseSuccessCodes(successCodes);
  if (ranges.length === 1 && ranges[0]![0] === ranges[0]![1])
    return `http-check expect status ${ranges[0]![0]}`;
  const alt = ranges
    .flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => String(a + i)))
    .join("|");
  return `http-check expect rstatus ^(${alt})$`;
}

/** haproxy.cfg, PURE. */
export function haproxyConfig(o: {
  socket: string;
  logPort: number;
  host: string;
  port: number;
  backend: string;
  settings: TargetGroupSettings;
}): string {
  const hc = o.settings.healthCheck;
  return `# Written by muster fleet: servers are added and removed at run time over the admin socket.
global
  stats socket ${o.socket} mode 600 level admin
  log 127.0.0.1:${o.logPort} len 2048 format raw local0
  maxconn 4096

defaults
  mode http
  log global
  option dontlognull
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check ${Math.max(1, Math.round(hc.timeoutMs))}ms
  # arrival (ms since the epoch), server, server address, status, total time, request line, client
  log-format "%Ts.%ms %s %si:%sp %ST %Tt %HM %HU %ci"

frontend fleet
  bind ${o.host}:${o.port}
  default_backend ${o.backend}

backend ${o.backend}
  balance roundrobin
  option httpchk GET ${hc.path}
  ${expectLine(hc.successCodes)}
`;
}

/** One access-log line from HAProxy (the log-format above), or undefined. */
export function parseHaproxyLog(line: string): AccessLogEntry | undefined {
  const m = /(\d+)\.(\d{3}) (\S+) (\S+) (-?\d+) (-?\d+) (\S+) (\S+) (\S+)\s*$/.exec(line.trim());
  if (!m) return undefined;
  const server = m[3]!;
  const served = server !== "<NOSRV>" && server !== "-";
  const status = Number(m[5]);
  const entry: AccessLogEntry = {
    time: Number(m[1]) * 1000 + Number(m[2]),
    method: m[7]!,
    path: m[8]!,
    status,
    targetId: served ? server : null,
    target: served ? m[4]! : null,
    durationMs: Math.max(0, Number(m[6])),
    clientAddress: m[9]!,
  };
  if (!served && status >= 500) entry.error = "no healthy target";
  return entry;
}

/** `show stat` CSV -> rows by column name. */
export function parseShowStat(csv: string): Record<string, string>[] {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const head = lines.shift();
  if (!head?.startsWith("# ")) return [];
  const cols = head.slice(2).split(",");
  return lines.map((l) => {
    const v = l.split(",");
    return Object.fromEntries(cols.map((c, i) => [c, v[i] ?? ""]));
  });
}

interface Target {
  spec: TargetSpec;
  state: TargetState;
  /** added in DRAIN until its checks pass */
  promoted: boolean;
  description?: string;
  drainTimer?: NodeJS.Timeout;
  sessions: number;
  removing?: boolean;
}

/** Run one admin-socket command; its answer. */
export function adminCommand(socket: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const s = net.createConnection(socket);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new TimeoutError(`haproxy admin socket: "${command}" got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on("connect", () => s.write(`${command}\n`));
    s.on("data", (d) => {
      out += d.toString("utf8");
    });
    s.on("error", (err) => {
      clearTimeout(timer);
      reject(new RunError(`haproxy admin socket ${socket}: ${err.message}`));
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
  });
}

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r, j) => {
    s.once("error", j);
    s.listen(0, host, r);
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export class HaproxyLoadBalancer extends EventEmitter<LoadBalancerEvents> implements FleetLoadBalancer {
  readonly kind = "haproxy" as const;
  readonly url: string;
  readonly accessLogPath?: string;
  private readonly targets = new Map<string, Target>();
  private poller?: NodeJS.Timeout;
  private polling = false;
  private closed = false;
  private logStream?: WriteStream;

  private constructor(
    private readonly o: HaproxyOptions,
    private readonly socket: string,
    private readonly pid: number,
    private readonly pidStart: string | undefined,
    private readonly udp: UdpSocket,
    port: number,
  ) {
    super();
    this.url = `http://${o.host}:${port}`;
    if (o.accessLogPath) {
      this.accessLogPath = path.resolve(o.accessLogPath);
      mkdirSync(path.dirname(this.accessLogPath), { recursive: true });
      this.logStream = createWriteStream(this.accessLogPath, { flags: "a" });
    }
    udp.on("message", (msg) => {
      for (const line of msg.toString("utf8").split("\n")) {
        const e = parseHaproxyLog(line);
        if (!e) continue;
        this.logStream?.write(`${JSON.stringify(e)}\n`);
        this.emit("request", e);
      }
    });
    this.poller = setInterval(() => void this.poll(), o.pollMs ?? 200);
  }

  static async start(o: HaproxyOptions): Promise<HaproxyLoadBalancer> {
    mkdirSync(o.dir, { recursive: true });
    const binary = o.binary ?? "haproxy";
    let socket = path.join(o.dir, "admin.sock");
    if (Buffer.byteLength(socket) > 100)
      socket = path.join(
        privateRuntimeDir(),
        `haproxy-${createHash("sha256").update(o.dir).digest("hex").slice(0, 16)}.sock`,
      );
    const udp = createSocket("udp4");
    await new Promise<void>((r, j) => {
      udp.once("error", j);
      udp.bind(0, "127.0.0.1", () => r());
    });
    const port = o.port || (await freePort(o.host));
    const cfg = path.join(o.dir, "haproxy.cfg");
    const pidFile = path.join(o.dir, "haproxy.pid");
    writeFileSync(
      cfg,
      haproxyConfig({
        socket,
        logPort: udp.address().port,
        host: o.host,
        port,
        backend: o.backend,
        settings: o.settings,
      }),
    );
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      let text = "";
      const child = spawn(binary, ["-f", cfg, "-D", "-p", pidFile], { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (d) => (text += d));
      child.stderr.on("data", (d) => (text += d));
      child.on("error", (err) => resolve({ code: 127, text: err.message }));
      child.on("exit", (code) => resolve({ code, text }));
    });
    if (out.code !== 0) {
      udp.close();
      const first =
        out.text.split("\n").find((l) => /ALERT|error|ENOENT/i.test(l)) ?? out.text.split("\n")[0];
      if (out.code === 127)
        throw new InputError(
          `load balancer: cannot run ${binary}: ${first}; install haproxy or use kind: builtin`,
        );
      throw new RunError(`load balancer: haproxy -f ${cfg} exited with code ${out.code}: ${first?.trim()}`);
    }
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    const lb = new HaproxyLoadBalancer(o, socket, pid, procStart(pid), udp, port);
    // the admin socket is there once haproxy has started
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await adminCommand(socket, "show info", 1000);
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          await lb.close();
          throw new RunError(`load balancer: haproxy's admin socket did not answer: ${errorMessage(err)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return lb;
  }

  private cmd(command: string): Promise<string> {
    return adminCommand(this.socket, command);
  }

  private server(id: string): string {
    return `${this.o.backend}/${id}`;
  }

  private change(t: Target, to: TargetState, description?: string): void {
    if (t.state === to) return;
    const from = t.state;
    t.state = to;
    t.description = description;
    this.emit("health", { time: Date.now(), targetId: t.spec.id, from, to, description });
  }

  registerTarget(spec: TargetSpec): void {
    if (this.closed) throw new RunError("load balancer: closed");
    if (this.targets.has(spec.id))
      throw new InputError(
        `load balancer: target ${spec.id} is already registered; deregister it and wait until it is removed`,
      );
    const t: Target = { spec: { ...spec }, state: "unused", promoted: false, sessions: 0 };
    this.targets.set(spec.id, t);
    this.change(t, "initial", "Elb.RegistrationInProgress");
    const hc = this.o.settings.healthCheck;
    const checkPort = hc.port === "traffic-port" ? "" : ` port ${hc.port}`;
    const s = this.server(spec.id);
    void (async () => {
      try {
        const added = await this.cmd(
          `add server ${s} ${spec.host}:${spec.port} check inter ${hc.intervalMs} fall ${hc.unhealthyThreshold} rise ${hc.healthyThreshold}${checkPort}`,
        );
        if (!/registered/i.test(added)) throw new RunError(added);
        // checked, but no request until the checks pass (see the module comment)
        await this.cmd(`set server ${s} state drain`);
        await this.cmd(`enable health ${s}`);
      } catch (err) {
        this.change(t, "unhealthy", `haproxy refused the server: ${errorMessage(err)}`);
      }
    })();
  }

  deregisterTarget(id: string): void {
    const t = this.targets.get(id);
    if (!t || t.state === "draining" || t.removing) return;
    this.change(t, "draining", "Target.DeregistrationInProgress");
    void this.cmd(`set server ${this.server(id)} state drain`).catch(() => {});
    t.drainTimer = setTimeout(
      () => void this.remove(t, "delay-expired"),
      this.o.settings.deregistrationDelayMs,
    );
  }

  describeTargets(): FleetTarget[] {
    return [...this.targets.values()].map((t) => ({ ...t.spec, state: t.state, description: t.description }));
  }

  pids(): number[] {
    return [this.pid];
  }

  private async remove(t: Target, why: "idle" | "delay-expired"): Promise<void> {
    if (t.removing || this.targets.get(t.spec.id) !== t) return;
    t.removing = true;
    clearTimeout(t.drainTimer);
    const s = this.server(t.spec.id);
    try {
      await this.cmd(`set server ${s} state maint`);
      await this.cmd(`shutdown sessions server ${s}`);
      for (let i = 0; i < 20; i++) {
        const r = await this.cmd(`del server ${s}`);
        if (/deleted/i.test(r) || /No such server/i.test(r)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    } catch {}
    this.targets.delete(t.spec.id);
    this.change(
      t,
      "unused",
      why === "idle"
        ? "Deregistered: no request in flight"
        : `Deregistered: deregistration delay of ${this.o.settings.deregistrationDelayMs} ms expired`,
    );
  }

  /** Read the servers' state and turn HAProxy's view into ELB target states. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed || this.targets.size === 0) return;
    this.polling = true;
    try {
      const rows = parseShowStat(await this.cmd("show stat"));
      for (const row of rows) {
        if (row.pxname !== this.o.backend) continue;
        const t = this.targets.get(row.svname ?? "");
        if (!t || t.removing) continue;
        t.sessions = Number(row.scur ?? 0);
        const status = row.status ?? "";
        const desc = row.check_desc || row.check_status;
        if (t.state === "draining") {
          if (t.sessions === 0) void this.remove(t, "idle");
          continue;
        }
        if (!t.promoted) {
          if (status === "DRAIN" && row.check_status === "L7OK") {
            t.promoted = true;
            await this.cmd(`set server ${this.server(t.spec.id)} state ready`);
            this.change(t, "healthy", desc);
          } else if (status.startsWith("DOWN")) {
            // HAProxy keeps it out until `rise` checks pass
            t.promoted = true;
            await this.cmd(`set server ${this.server(t.spec.id)} state ready`);
            this.change(t, "unhealthy", desc);
          }
          continue;
        }
        if (status.startsWith("UP")) this.change(t, "healthy", desc);
        else if (status.startsWith("DOWN")) this.change(t, "unhealthy", desc);
      }
    } catch {
      // haproxy busy or gone; the next poll tries again
    } finally {
      this.polling = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    for (const t of this.targets.values()) clearTimeout(t.drainTimer);
    signal(this.pid, "SIGTERM", false);
    const left = await waitGone([{ pid: this.pid, start: this.pidStart, role: "haproxy" }], 5000);
    if (left.length) signal(this.pid, "SIGKILL", false);
    await new Promise<void>((r) => this.udp.close(() => r()));
    const stream = this.logStream;
    if (stream) await new Promise<void>((r) => stream.end(() => r()));
  }
}
