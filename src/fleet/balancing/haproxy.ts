/**
 * HAProxy as the fleet's load balancer (`loadBalancer.kind: haproxy`): the same targets, states
 * and access log as muster's own, from a real one. It runs as `haproxy -f CFG -D -p PIDFILE`
 * with its admin socket and config under the fleet's state directory. Its backend has a fixed
 * set of server slots (haproxy-slots.ts says why not `add server` / `del server`); a target is
 * given a slot and released from it over the admin socket. Its health checks are
 * `option httpchk GET <path>`, and it sends one access-log line per request over syslog (UDP on
 * loopback) to this process, which writes the fleet's JSON-lines access log.
 *
 * ELB semantics on top of HAProxy's (written here because HAProxy has no notion of them):
 * - initial: a slot given to a new target is put in DRAIN (checked, but given no request) with
 *   its health forced down, and made ready only once its checks pass, so a target gets no
 *   request before it has passed a health check.
 * - draining: deregistration puts the server in DRAIN; its slot is released when it has no
 *   session left or when the deregistration delay has passed (sessions are then shut down).
 *
 * The process is watched: when it is gone, `down` is emitted and the targets are kept as they
 * were; `restart()` starts it again on the same address with a config holding every target.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { EventEmitter } from "node:events";
import { createWriteStream, mkdirSync, readFileSync, rmSync, type WriteStream, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { errorMessage, InputError, RunError, TimeoutError } from "../../core/errors.ts";
import { privateRuntimeDir } from "../../host/private-dir.ts";
import { isRunning, procStart, signal, waitGone } from "../instances/processes.ts";
import type { FleetLoadBalancer, FleetTarget, LoadBalancerProcess } from "./fleet-lb.ts";
import {
  assignCommands,
  pickFreeSlot,
  releaseCommands,
  type ServerSlot,
  slotCount,
  slotName,
} from "./haproxy-slots.ts";
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
  /** how often the servers' state is read and the process is looked at, ms */
  pollMs?: number;
  /** server slots in the backend (default slotCount(16)) */
  slots?: number;
}

/** One server line of the backend: a slot, free (in maintenance) or pointing at a target. */
export interface SlotLine {
  name: string;
  /** host:port of its target; a free slot points at 127.0.0.1:1 and is never checked */
  address?: string;
  /** false: `disabled` (maintenance) at start */
  enabled: boolean;
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
  slots: readonly SlotLine[];
}): string {
  const hc = o.settings.healthCheck;
  const checkPort = hc.port === "traffic-port" ? "" : ` port ${hc.port}`;
  const check = `check inter ${hc.intervalMs} fall ${hc.unhealthyThreshold} rise ${hc.healthyThreshold}${checkPort}`;
  const servers = o.slots
    .map((s) => `  server ${s.name} ${s.address ?? "127.0.0.1:1"} ${check}${s.enabled ? "" : " disabled"}\n`)
    .join("");
  return `# Written by muster fleet: targets are given server slots at run time over the admin socket.
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
  # a request whose connection fails (a target just killed, not yet marked down) is tried
  # again, up to 3 times, on another server instead of being answered 503
  retries 3
  option redispatch
${servers}`;
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
  slot: ServerSlot;
  /** in DRAIN with its health forced down until its checks pass */
  promoted: boolean;
  /** when its slot was pointed at it (this process's, after a restart), ms */
  assignedAt: number;
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

type HaproxyEvents = LoadBalancerEvents & {
  /** the HAProxy process is gone (crashed or killed); the targets are kept for a restart */
  down: [{ time: number; pid: number }];
};

export class HaproxyLoadBalancer extends EventEmitter<HaproxyEvents> implements FleetLoadBalancer {
  readonly kind = "haproxy" as const;
  readonly url: string;
  readonly accessLogPath?: string;
  private readonly targets = new Map<string, Target>();
  private readonly slots: ServerSlot[];
  private readonly slotByName = new Map<string, ServerSlot>();
  private poller?: NodeJS.Timeout;
  private polling = false;
  private closed = false;
  private logStream?: WriteStream;
  private proc: { pid: number; start?: string };
  private downSince?: number;
  private restarts = 0;

  private constructor(
    private readonly o: HaproxyOptions,
    private readonly files: { socket: string; cfg: string; pidFile: string },
    private readonly udp: UdpSocket,
    private readonly port: number,
  ) {
    super();
    this.url = `http://${o.host}:${port}`;
    this.proc = { pid: 0 };
    this.slots = Array.from({ length: o.slots ?? slotCount(16) }, (_, i) => ({
      name: slotName(i),
      freedAt: 0,
    }));
    for (const s of this.slots) this.slotByName.set(s.name, s);
    if (o.accessLogPath) {
      this.accessLogPath = path.resolve(o.accessLogPath);
      mkdirSync(path.dirname(this.accessLogPath), { recursive: true });
      this.logStream = createWriteStream(this.accessLogPath, { flags: "a" });
    }
    udp.on("message", (msg) => {
      for (const line of msg.toString("utf8").split("\n")) {
        const e = parseHaproxyLog(line);
        if (!e) continue;
        if (e.targetId) {
          // HAProxy names the slot; the access log names the target that held it
          const slot = this.slotByName.get(e.targetId);
          e.targetId = slot?.holder ?? slot?.lastHolder ?? e.targetId;
        }
        this.logStream?.write(`${JSON.stringify(e)}\n`);
        this.emit("request", e);
      }
    });
  }

  static async start(o: HaproxyOptions): Promise<HaproxyLoadBalancer> {
    mkdirSync(o.dir, { recursive: true });
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
    const files = { socket, cfg: path.join(o.dir, "haproxy.cfg"), pidFile: path.join(o.dir, "haproxy.pid") };
    const lb = new HaproxyLoadBalancer(o, files, udp, port);
    try {
      await lb.launch();
    } catch (err) {
      await lb.close();
      throw err;
    }
    lb.poller = setInterval(() => void lb.poll(), o.pollMs ?? 200);
    return lb;
  }

  /** Write haproxy.cfg with every slot as the targets hold them, start haproxy, wait for its socket. */
  private async launch(): Promise<void> {
    const { cfg, pidFile, socket } = this.files;
    const o = this.o;
    const binary = o.binary ?? "haproxy";
    writeFileSync(
      cfg,
      haproxyConfig({
        socket,
        logPort: this.udp.address().port,
        host: o.host,
        port: this.port,
        backend: o.backend,
        settings: o.settings,
        slots: this.slots.map((s) => {
          const t = s.holder === undefined ? undefined : this.targets.get(s.holder);
          // a healthy target serves from the first moment; every other is set up after start
          return t
            ? { name: s.name, address: `${t.spec.host}:${t.spec.port}`, enabled: t.state === "healthy" }
            : { name: s.name, enabled: false };
        }),
      }),
    );
    rmSync(pidFile, { force: true });
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      let text = "";
      const child = spawn(binary, ["-f", cfg, "-D", "-p", pidFile], { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (d) => (text += d));
      child.stderr.on("data", (d) => (text += d));
      child.on("error", (err) => resolve({ code: 127, text: err.message }));
      child.on("exit", (code) => resolve({ code, text }));
    });
    if (out.code !== 0) {
      const first =
        out.text.split("\n").find((l) => /ALERT|error|ENOENT/i.test(l)) ?? out.text.split("\n")[0];
      if (out.code === 127)
        throw new InputError(
          `load balancer: cannot run ${binary}: ${first}; install haproxy or use kind: builtin`,
        );
      throw new RunError(`load balancer: haproxy -f ${cfg} exited with code ${out.code}: ${first?.trim()}`);
    }
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    this.proc = { pid, start: procStart(pid) };
    // the admin socket is there once haproxy has started
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await adminCommand(socket, "show info", 1000);
        break;
      } catch (err) {
        if (Date.now() > deadline)
          throw new RunError(`load balancer: haproxy's admin socket did not answer: ${errorMessage(err)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.downSince = undefined;
    // targets not healthy are checked afresh in DRAIN, as when they were registered
    for (const t of this.targets.values()) {
      if (t.state === "healthy") continue;
      t.sessions = 0;
      if (t.state === "draining") await this.cmd(`set server ${this.server(t)} state drain`).catch(() => {});
      else this.assign(t);
    }
  }

  /**
   * Start HAProxy again after it died, on the same address, with every target in its slot.
   * Resolves with the new process's pid.
   */
  async restart(): Promise<number> {
    if (this.closed) throw new RunError("load balancer: closed");
    if (this.downSince === undefined) return this.proc.pid;
    await this.launch();
    this.restarts++;
    return this.proc.pid;
  }

  processState(): LoadBalancerProcess {
    return this.downSince === undefined
      ? { state: "up", pid: this.proc.pid, restarts: this.restarts }
      : { state: "down", pid: this.proc.pid, downSince: this.downSince, restarts: this.restarts };
  }

  private cmd(command: string): Promise<string> {
    return adminCommand(this.files.socket, command);
  }

  private server(t: Target): string {
    return `${this.o.backend}/${t.slot.name}`;
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
    const slot = pickFreeSlot(this.slots);
    if (!slot)
      throw new RunError(
        `load balancer: all ${this.slots.length} haproxy server slots are taken; wait for draining targets to be removed`,
      );
    slot.holder = spec.id;
    slot.lastHolder = spec.id;
    const t: Target = {
      spec: { ...spec },
      state: "unused",
      slot,
      promoted: false,
      assignedAt: 0,
      sessions: 0,
    };
    this.targets.set(spec.id, t);
    this.change(t, "initial", "Elb.RegistrationInProgress");
    // while HAProxy is down the slot is set up by the restart
    if (this.downSince === undefined) this.assign(t);
  }

  private assign(t: Target): void {
    t.promoted = false;
    t.assignedAt = Date.now();
    void this.cmd(assignCommands(this.server(t), t.spec.host, t.spec.port))
      .then(
        (answer) => {
          if (/unknown|not found|no such|invalid|require/i.test(answer)) throw new RunError(answer);
        },
        (err) => {
          if (this.alive()) throw err;
        },
      )
      .catch((err) => this.change(t, "unhealthy", `haproxy refused the server: ${errorMessage(err)}`));
  }

  deregisterTarget(id: string): void {
    const t = this.targets.get(id);
    if (!t || t.state === "draining" || t.removing) return;
    this.change(t, "draining", "Target.DeregistrationInProgress");
    void this.cmd(`set server ${this.server(t)} state drain`).catch(() => {});
    t.drainTimer = setTimeout(
      () => void this.remove(t, "delay-expired"),
      this.o.settings.deregistrationDelayMs,
    );
  }

  describeTargets(): FleetTarget[] {
    return [...this.targets.values()].map((t) => ({ ...t.spec, state: t.state, description: t.description }));
  }

  pids(): number[] {
    return [this.proc.pid];
  }

  private async remove(t: Target, why: "idle" | "delay-expired"): Promise<void> {
    if (t.removing || this.targets.get(t.spec.id) !== t) return;
    t.removing = true;
    clearTimeout(t.drainTimer);
    // maintenance, never `del server`: see haproxy-slots.ts
    await this.cmd(releaseCommands(this.server(t), why === "delay-expired")).catch(() => {});
    t.slot.holder = undefined;
    t.slot.freedAt = Date.now();
    this.targets.delete(t.spec.id);
    this.change(
      t,
      "unused",
      why === "idle"
        ? "Deregistered: no request in flight"
        : `Deregistered: deregistration delay of ${this.o.settings.deregistrationDelayMs} ms expired`,
    );
  }

  private alive(): boolean {
    return this.proc.pid > 0 && isRunning(this.proc.pid, this.proc.start);
  }

  /** Look at the process; read the servers' state and turn HAProxy's view into ELB target states. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed || this.downSince !== undefined) return;
    if (!this.alive()) {
      this.downSince = Date.now();
      this.emit("down", { time: this.downSince, pid: this.proc.pid });
      return;
    }
    if (this.targets.size === 0) return;
    this.polling = true;
    try {
      const hc = this.o.settings.healthCheck;
      // until a fresh check of its target has run, a slot shows what its last holder's left
      const freshAfter = hc.intervalMs * hc.unhealthyThreshold + hc.timeoutMs;
      const rows = parseShowStat(await this.cmd("show stat"));
      for (const row of rows) {
        if (row.pxname !== this.o.backend) continue;
        const holder = this.slotByName.get(row.svname ?? "")?.holder;
        const t = holder === undefined ? undefined : this.targets.get(holder);
        if (!t || t.removing) continue;
        t.sessions = Number(row.scur ?? 0);
        const status = row.status ?? "";
        const desc = row.check_desc || row.check_status;
        if (t.state === "draining") {
          if (t.sessions === 0) void this.remove(t, "idle");
          continue;
        }
        if (!t.promoted) {
          // DRAIN: up again after its health was forced down, so `rise` checks of it passed
          if (status === "DRAIN" && row.check_status === "L7OK") {
            t.promoted = true;
            await this.cmd(`set server ${this.server(t)} state ready`);
            this.change(t, "healthy", desc);
          } else if (status.startsWith("DOWN") && Date.now() - t.assignedAt > freshAfter) {
            // HAProxy keeps it out until `rise` checks pass
            t.promoted = true;
            await this.cmd(`set server ${this.server(t)} state ready`);
            this.change(t, "unhealthy", desc);
          }
          continue;
        }
        if (status.startsWith("UP")) this.change(t, "healthy", desc);
        else if (status.startsWith("DOWN")) this.change(t, "unhealthy", desc);
      }
    } catch {
      // haproxy busy or gone; the next poll looks again
    } finally {
      this.polling = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    for (const t of this.targets.values()) clearTimeout(t.drainTimer);
    if (this.proc.pid > 0) {
      signal(this.proc.pid, "SIGTERM", false);
      const left = await waitGone([{ pid: this.proc.pid, start: this.proc.start, role: "haproxy" }], 5000);
      if (left.length) signal(this.proc.pid, "SIGKILL", false);
    }
    await new Promise<void>((r) => this.udp.close(() => r()));
    const stream = this.logStream;
    if (stream) await new Promise<void>((r) => stream.end(() => r()));
  }
}
