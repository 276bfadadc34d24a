/**
 * An HTTP load balancer for the local fleet with Elastic Load Balancing target-group semantics:
 * targets registered and deregistered at run time, active health checks (interval, timeout,
 * healthy/unhealthy thresholds, success codes), traffic only to healthy targets in round robin,
 * draining on deregistration, 503 when no target is healthy, and an access log naming the target
 * that served each request. What a health-check result means is decided by the pure functions
 * of target-health.ts; this module runs the checks, the timers and the proxy.
 *
 * Written on node:http rather than with a proxy library: the parts that matter here (which
 * target may get a request, counting in-flight requests for draining, cutting them when the
 * deregistration delay runs out) are the load balancer's own logic, and the forwarding itself is
 * a pipe in each direction.
 */
import { EventEmitter } from "node:events";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import {
  Agent,
  type ClientRequest,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import * as path from "node:path";
import { InputError, RunError, TimeoutError } from "../../core/errors.ts";
import { listenOn } from "../../host/listen.ts";
import { openAppendNoFollow } from "../../host/write-no-follow.ts";
import {
  applyVerdict,
  type CheckOutcome,
  drainOutcome,
  judgeCheck,
  type PresetName,
  parseSuccessCodes,
  pickTarget,
  registeredHealth,
  resolveSettings,
  type SuccessCodes,
  startDraining,
  type TargetGroupSettings,
  type TargetGroupSettingsInput,
  type TargetHealth,
  type TargetReason,
  type TargetState,
} from "./target-health.ts";

export interface TargetSpec {
  /** Unique id, e.g. the instance id "i-0123456789abcdef0". */
  id: string;
  host: string;
  port: number;
}

export interface LastCheck {
  time: number;
  pass: boolean;
  detail: string;
  durationMs: number;
}

/** One target as DescribeTargetHealth would show it, plus the counters muster needs. */
export interface TargetDescription extends TargetSpec {
  state: TargetState;
  reason?: TargetReason;
  description?: string;
  consecutivePasses: number;
  consecutiveFailures: number;
  registeredAt: number;
  drainingSince?: number;
  /** Requests being served right now. */
  inFlight: number;
  /** Requests forwarded to this target since registration. */
  served: number;
  lastCheck?: LastCheck;
}

export interface TargetHealthEvent {
  time: number;
  targetId: string;
  /** "unused" for a new registration. */
  from: TargetState;
  to: TargetState;
  reason?: TargetReason;
  description?: string;
}

export interface AccessLogEntry {
  /** ms since the epoch when the request arrived. */
  time: number;
  method: string;
  /** The request target as received (path and query). */
  path: string;
  /** Status sent to the client; 460 when the client closed before an answer (as ALB logs it). */
  status: number;
  /** The target that served it, or null when none did (503 without a healthy target). */
  targetId: string | null;
  /** "host:port" of that target, or null. */
  target: string | null;
  durationMs: number;
  clientAddress: string;
  /** Why the request failed at the load balancer, if it did. */
  error?: string;
}

export type LoadBalancerEvents = {
  /** A target changed state (registered, passed, failed, draining, removed). */
  health: [TargetHealthEvent];
  /** A request was answered (the access-log entry). */
  request: [AccessLogEntry];
};

export interface LoadBalancerOptions {
  /** Loopback address to listen on, default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Base settings, default "fast". */
  preset?: PresetName;
  /** Overrides on top of the preset. */
  settings?: TargetGroupSettingsInput;
  /** Append the access log here as JSON lines (directories are created). */
  accessLogPath?: string;
  /** Entries kept in memory (oldest dropped first), default 10000. */
  accessLogLimit?: number;
  /**
   * Idle keep-alive connections to a target are closed after this, ms (default 3000): shorter
   * than Node's own 5 s server keep-alive, so a request never lands on a connection the target
   * is closing.
   */
  upstreamIdleMs?: number;
  /**
   * A target that sends nothing for this long while a request is under way gets it answered 504,
   * ms (ALB's connection idle timeout, default 60000).
   */
  idleTimeoutMs?: number;
  /** Clock for records, default Date.now (timers are real). */
  now?: () => number;
}

interface Target {
  spec: TargetSpec;
  health: TargetHealth;
  registeredAt: number;
  drainingSince?: number;
  inFlight: number;
  served: number;
  lastCheck?: LastCheck;
  agent: Agent;
  checkTimer?: NodeJS.Timeout;
  drainTimer?: NodeJS.Timeout;
  checking?: ClientRequest;
  /** Upstream requests under way, cut when the deregistration delay runs out. */
  active: Set<ClientRequest>;
}

class IdleTimeout extends Error {
  constructor(ms: number) {
    super(`sent nothing for ${ms} ms (idle timeout)`);
  }
}

/** Connection-level headers that are not forwarded (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "upgrade",
]);

function stripV4Mapped(addr: string | undefined): string {
  if (!addr) return "";
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}

/**
 * PURE: the end-to-end headers of a request or response: the hop-by-hop ones (RFC 9110 7.6.1)
 * dropped, and those its Connection header names.
 */
function endToEndHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = new Set(
    String(incoming.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [k, v] of Object.entries(incoming)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/** The headers sent to a target: hop-by-hop ones dropped, X-Forwarded-* added. */
export function forwardHeaders(
  incoming: IncomingHttpHeaders,
  clientAddress: string,
  listenerPort: number,
): OutgoingHttpHeaders {
  const out = endToEndHeaders(incoming);
  const prior = incoming["x-forwarded-for"];
  const chain = Array.isArray(prior) ? prior.join(", ") : prior;
  out["x-forwarded-for"] = chain ? `${chain}, ${clientAddress}` : clientAddress;
  out["x-forwarded-proto"] = "http";
  out["x-forwarded-port"] = String(listenerPort);
  return out;
}

function responseHeaders(incoming: IncomingHttpHeaders, targetId: string): OutgoingHttpHeaders {
  const out = endToEndHeaders(incoming);
  out["x-muster-target"] = targetId;
  return out;
}

export class LoadBalancer extends EventEmitter<LoadBalancerEvents> {
  readonly host: string;
  readonly settings: TargetGroupSettings;
  /** Answered requests, oldest first (bounded by accessLogLimit). */
  readonly accessLog: AccessLogEntry[] = [];
  readonly accessLogPath?: string;
  private readonly server: Server;
  private readonly targets = new Map<string, Target>();
  private readonly codes: SuccessCodes;
  private readonly now: () => number;
  private readonly logLimit: number;
  private readonly upstreamIdleMs: number;
  private readonly idleTimeoutMs: number;
  private readonly sockets = new Set<Socket>();
  private logStream?: WriteStream;
  private cursor = 0;
  private boundPort = 0;
  private closed = false;
  private total = 0;

  private constructor(opts: LoadBalancerOptions) {
    super();
    this.host = opts.host ?? "127.0.0.1";
    this.settings = resolveSettings(opts.settings ?? {}, opts.preset ?? "fast");
    this.codes = parseSuccessCodes(this.settings.healthCheck.successCodes);
    this.now = opts.now ?? Date.now;
    this.logLimit = opts.accessLogLimit ?? 10_000;
    this.upstreamIdleMs = opts.upstreamIdleMs ?? 3000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    if (!(this.idleTimeoutMs > 0 && this.upstreamIdleMs > 0)) {
      throw new InputError("load balancer: idleTimeoutMs and upstreamIdleMs must be > 0");
    }
    if (!(Number.isInteger(this.logLimit) && this.logLimit >= 0)) {
      throw new InputError("load balancer: accessLogLimit must be an integer >= 0");
    }
    if (opts.accessLogPath) {
      this.accessLogPath = path.resolve(opts.accessLogPath);
      mkdirSync(path.dirname(this.accessLogPath), { recursive: true });
      // no write through a link put in the log's place
      this.logStream = createWriteStream(this.accessLogPath, { fd: openAppendNoFollow(this.accessLogPath) });
      this.logStream.on("error", () => {}); // a full disk must not take the load balancer down
    }
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 5000;
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  static async start(opts: LoadBalancerOptions = {}): Promise<LoadBalancer> {
    const lb = new LoadBalancer(opts);
    try {
      lb.boundPort = await listenOn(lb.server, lb.host, opts.port ?? 0, "load balancer");
    } catch (err) {
      lb.logStream?.end();
      throw err;
    }
    return lb;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}`;
  }

  /** Requests answered since start (including 503s). */
  get requestCount(): number {
    return this.total;
  }

  /** Register a target: it starts "initial" and is health-checked at once, then every interval. */
  registerTarget(spec: TargetSpec): void {
    if (this.closed) throw new RunError("load balancer: closed");
    if (!spec || typeof spec.id !== "string" || spec.id === "") {
      throw new InputError("load balancer: a target needs a non-empty id");
    }
    if (typeof spec.host !== "string" || spec.host === "") {
      throw new InputError(`load balancer: target ${spec.id}: host is required`);
    }
    if (!(Number.isInteger(spec.port) && spec.port >= 1 && spec.port <= 65535)) {
      throw new InputError(`load balancer: target ${spec.id}: port must be 1-65535 (got ${spec.port})`);
    }
    if (this.targets.has(spec.id)) {
      const cur = this.targets.get(spec.id)!;
      throw new InputError(
        `load balancer: target ${spec.id} is already registered (${cur.health.state}); deregister it and wait until it is removed`,
      );
    }
    const t: Target = {
      spec: { id: spec.id, host: spec.host, port: spec.port },
      health: registeredHealth(),
      registeredAt: this.now(),
      inFlight: 0,
      served: 0,
      agent: new Agent({ keepAlive: true, timeout: this.upstreamIdleMs }),
      active: new Set(),
    };
    this.targets.set(spec.id, t);
    this.emitHealth(t, {
      from: "unused",
      to: "initial",
      reason: t.health.reason,
      description: t.health.description,
    });
    const run = () => this.check(t);
    t.checkTimer = setInterval(run, this.settings.healthCheck.intervalMs);
    setImmediate(run);
  }

  /**
   * Deregister: the target drains (no new requests; in-flight ones finish) and is removed when it
   * is idle or when the deregistration delay has passed, whichever comes first; requests still
   * running then are cut. Unknown ids are ignored, as DeregisterTargets does.
   */
  deregisterTarget(id: string): void {
    const t = this.targets.get(id);
    if (!t || t.health.state === "draining") return;
    if (t.checkTimer) clearInterval(t.checkTimer);
    t.checkTimer = undefined;
    t.checking?.destroy();
    const { health, transition } = startDraining(t.health);
    t.health = health;
    t.drainingSince = this.now();
    if (transition) this.emitHealth(t, transition);
    if (
      drainOutcome(t.inFlight, t.drainingSince, this.now(), this.settings.deregistrationDelayMs) === "idle"
    ) {
      this.remove(t, "idle");
      return;
    }
    t.drainTimer = setTimeout(() => this.remove(t, "delay-expired"), this.settings.deregistrationDelayMs);
  }

  describeTargetHealth(): TargetDescription[] {
    return [...this.targets.values()].map((t) => this.describe(t));
  }

  /** One target's description, or undefined when it is not (or no longer) registered. */
  targetHealth(id: string): TargetDescription | undefined {
    const t = this.targets.get(id);
    return t ? this.describe(t) : undefined;
  }

  /** Resolve once the target is in `state` ("unused" = removed); TimeoutError after timeoutMs. */
  waitForState(id: string, state: TargetState, timeoutMs: number): Promise<void> {
    const current = this.targets.get(id)?.health.state ?? "unused";
    if (current === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onHealth = (e: TargetHealthEvent) => {
        if (e.targetId !== id || e.to !== state) return;
        clearTimeout(timer);
        this.off("health", onHealth);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off("health", onHealth);
        const now = this.targets.get(id)?.health.state ?? "unused";
        reject(
          new TimeoutError(
            `load balancer: target ${id} did not become ${state} within ${timeoutMs} ms (${now})`,
          ),
        );
      }, timeoutMs);
      this.on("health", onHealth);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.targets.values()) {
      if (t.checkTimer) clearInterval(t.checkTimer);
      if (t.drainTimer) clearTimeout(t.drainTimer);
      t.checking?.destroy();
      for (const r of t.active) r.destroy();
      t.agent.destroy();
    }
    this.targets.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    const stream = this.logStream;
    if (stream) await new Promise<void>((resolve) => stream.end(() => resolve()));
  }

  private describe(t: Target): TargetDescription {
    return {
      ...t.spec,
      state: t.health.state,
      reason: t.health.reason,
      description: t.health.description,
      consecutivePasses: t.health.consecutivePasses,
      consecutiveFailures: t.health.consecutiveFailures,
      registeredAt: t.registeredAt,
      drainingSince: t.drainingSince,
      inFlight: t.inFlight,
      served: t.served,
      lastCheck: t.lastCheck ? { ...t.lastCheck } : undefined,
    };
  }

  private emitHealth(
    t: Target,
    change: { from: TargetState; to: TargetState; reason?: TargetReason; description?: string },
  ): void {
    this.emit("health", { time: this.now(), targetId: t.spec.id, ...change });
  }

  private remove(t: Target, why: "idle" | "delay-expired"): void {
    if (this.targets.get(t.spec.id) !== t) return;
    if (t.drainTimer) clearTimeout(t.drainTimer);
    this.targets.delete(t.spec.id);
    // Requests still running when the delay ran out are cut, as the delay promises no more.
    for (const r of t.active) r.destroy(new Error("deregistration delay expired"));
    t.agent.destroy();
    const from = t.health.state;
    t.health = { ...t.health, state: "unused", reason: "Target.NotRegistered" };
    this.emitHealth(t, {
      from,
      to: "unused",
      reason: "Target.NotRegistered",
      description:
        why === "idle"
          ? "Deregistered: no request in flight"
          : `Deregistered: deregistration delay of ${this.settings.deregistrationDelayMs} ms expired`,
    });
  }

  private check(t: Target): void {
    if (this.closed || this.targets.get(t.spec.id) !== t || !t.checkTimer) return;
    if (t.checking) return; // never two checks of one target at once
    const hc = this.settings.healthCheck;
    const port = hc.port === "traffic-port" ? t.spec.port : hc.port;
    const started = performance.now();
    let settled = false;
    const settle = (outcome: CheckOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      t.checking = undefined;
      req.destroy();
      if (this.closed || this.targets.get(t.spec.id) !== t) return;
      const verdict = judgeCheck(outcome, this.codes);
      t.lastCheck = {
        time: this.now(),
        pass: verdict.pass,
        detail: verdict.detail,
        durationMs: Math.round(performance.now() - started),
      };
      const { health, transition } = applyVerdict(t.health, verdict, hc);
      t.health = health;
      if (transition) this.emitHealth(t, transition);
    };
    // A fresh connection per check, closed afterwards, as ELB does.
    const req = request(
      {
        host: t.spec.host,
        port,
        method: "GET",
        path: hc.path,
        agent: false,
        headers: { "user-agent": "ELB-HealthChecker/2.0", connection: "close", accept: "*/*" },
      },
      (res) => {
        res.resume();
        settle({ kind: "status", status: res.statusCode ?? 0 });
      },
    );
    t.checking = req;
    const timer = setTimeout(() => settle({ kind: "timeout" }), hc.timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => settle({ kind: "error", message: e.code ?? e.message }));
    req.end();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const time = this.now();
    const t0 = performance.now();
    const clientAddress = stripV4Mapped(req.socket.remoteAddress);
    const method = req.method ?? "GET";
    const target = req.url ?? "/";

    const list = [...this.targets.values()];
    const picked = pickTarget(
      list.map((x) => x.health.state),
      this.cursor,
      this.settings.failOpen,
    );
    this.cursor = picked.cursor;
    const chosen = picked.index === -1 ? undefined : list[picked.index];

    const log = (status: number, t: Target | undefined, error?: string) => {
      const entry: AccessLogEntry = {
        time,
        method,
        path: target,
        status,
        targetId: t ? t.spec.id : null,
        target: t ? `${t.spec.host}:${t.spec.port}` : null,
        durationMs: Math.round(performance.now() - t0),
        clientAddress,
        ...(error ? { error } : {}),
      };
      this.total++;
      if (this.logLimit > 0) {
        this.accessLog.push(entry);
        if (this.accessLog.length > this.logLimit)
          this.accessLog.splice(0, this.accessLog.length - this.logLimit);
      }
      if (this.logStream && !this.logStream.writableEnded) this.logStream.write(`${JSON.stringify(entry)}\n`);
      this.emit("request", entry);
    };

    if (!chosen) {
      req.resume();
      const counts = new Map<string, number>();
      for (const x of list) counts.set(x.health.state, (counts.get(x.health.state) ?? 0) + 1);
      const summary =
        list.length === 0
          ? "no target is registered"
          : `${list.length} registered: ${[...counts].map(([s, n]) => `${n} ${s}`).join(", ")}`;
      const body = `503 Service Unavailable: no healthy target (${summary})\n`;
      res.writeHead(503, {
        "content-type": "text/plain; charset=utf-8",
        "content-length": String(Buffer.byteLength(body)),
        "cache-control": "no-store",
      });
      res.end(body);
      log(503, undefined, "no healthy target");
      return;
    }
    this.forward(req, res, chosen, clientAddress, log);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    clientAddress: string,
    log: (status: number, t: Target | undefined, error?: string) => void,
  ): void {
    t.inFlight++;
    t.served++;
    let done = false;
    const finish = (status: number, error?: string) => {
      if (done) return;
      done = true;
      t.inFlight--;
      log(status, t, error);
      if (t.health.state === "draining" && t.drainingSince !== undefined) {
        const out = drainOutcome(
          t.inFlight,
          t.drainingSince,
          this.now(),
          this.settings.deregistrationDelayMs,
        );
        if (out) this.remove(t, out);
      }
    };
    const fail = (status: number, why: string) => {
      if (!res.headersSent && !res.destroyed) {
        const body = `${status} ${status === 504 ? "Gateway Timeout" : "Bad Gateway"}: target ${t.spec.id} (${t.spec.host}:${t.spec.port}) ${why}\n`;
        res.writeHead(status, {
          "content-type": "text/plain; charset=utf-8",
          "content-length": String(Buffer.byteLength(body)),
          "x-muster-target": t.spec.id,
        });
        res.end(body);
        finish(status, why);
      } else {
        // The answer had begun: only a cut connection tells the client it is incomplete.
        res.destroy();
        finish(res.statusCode, why);
      }
    };

    const headers = forwardHeaders(req.headers, clientAddress, this.boundPort);
    const method = req.method ?? "GET";
    // Only a request without a body can be sent again (the body stream is gone once piped).
    const bodiless =
      req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined;
    const replayable = bodiless && (method === "GET" || method === "HEAD" || method === "OPTIONS");

    let current: ClientRequest | undefined;
    const send = (attempt: number) => {
      const up = request({
        host: t.spec.host,
        port: t.spec.port,
        method,
        path: req.url ?? "/",
        headers,
        agent: t.agent,
      });
      current = up;
      t.active.add(up);
      up.setTimeout(this.idleTimeoutMs, () => up.destroy(new IdleTimeout(this.idleTimeoutMs)));
      up.on("response", (upRes) => {
        if (res.destroyed) {
          upRes.resume();
          return;
        }
        res.writeHead(
          upRes.statusCode ?? 502,
          upRes.statusMessage,
          responseHeaders(upRes.headers, t.spec.id),
        );
        upRes.pipe(res);
        upRes.on("end", () => {
          t.active.delete(up);
        });
        upRes.on("error", () => {
          t.active.delete(up);
          fail(502, "closed the connection mid-answer");
        });
        upRes.on("aborted", () => {
          t.active.delete(up);
          fail(502, "closed the connection mid-answer");
        });
      });
      up.on("error", (e: NodeJS.ErrnoException) => {
        t.active.delete(up);
        if (done) return;
        // A kept-alive connection the target closed just as it was reused: nothing reached the
        // target, so a request without a body is sent once more on a new connection.
        if (attempt === 0 && replayable && up.reusedSocket && e.code === "ECONNRESET" && !res.headersSent) {
          send(1);
          return;
        }
        if (e instanceof IdleTimeout) fail(504, e.message);
        else if (e.message === "deregistration delay expired") fail(502, e.message);
        else fail(502, `failed: ${e.code ?? e.message}`);
      });
      if (bodiless) up.end();
      else req.pipe(up);
    };

    res.on("finish", () => finish(res.statusCode));
    res.on("close", () => {
      if (done) return;
      // The client went away before the answer was complete: stop the upstream request too.
      finish(res.headersSent ? res.statusCode : 460, "client closed the connection");
      current?.destroy();
    });
    send(0);
  }
}

export function startLoadBalancer(opts: LoadBalancerOptions = {}): Promise<LoadBalancer> {
  return LoadBalancer.start(opts);
}
