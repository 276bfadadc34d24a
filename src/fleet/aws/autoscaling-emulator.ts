/**
 * src/fleet/aws/: the stand-ins for AWS that a rehearsal talks to instead of the real services:
 * the Auto Scaling API (this module), the instance metadata service (metadata-emulator.ts) and the
 * group's decisions after the EC2 Auto Scaling documentation (asg-model.ts). The emulators speak
 * the real wire protocols, so muster's AWS clients run against them unchanged but for the endpoint,
 * and they must fail where AWS fails. Every request's signature is checked against the keys the
 * fleet issued and its signer's policy evaluated for the action (autoscaling-auth.ts).
 *
 * The slice of the Auto Scaling API that muster calls, over the real wire protocol (AWS query:
 * form-encoded POST `Action=...&Version=2011-01-01`, XML answers in the
 * http://autoscaling.amazonaws.com/doc/2011-01-01/ namespace, `<ErrorResponse>` errors), so the
 * official `AutoScalingClient` runs against it unchanged except for the endpoint.
 *
 * Actions: CompleteLifecycleAction, RecordLifecycleActionHeartbeat here; the operators' actions
 * (DescribeAutoScalingGroups, SetDesiredCapacity, ...) in autoscaling-actions.ts, over the group
 * the controller gives (`group` / setGroupApi). Each request must be signed
 * (SigV4) with keys from `emu.issuer` and be allowed by their policy (autoscaling-auth.ts), checked
 * in `dispatch`, the one entry every request goes through, in front of the actions.
 *
 * A controller (the local fleet) registers pending lifecycle actions with `startLifecycleAction`
 * and hears about their end through the "complete" event (via the API, or the hook's heartbeat
 * timeout running out, which applies the hook's default result as AWS does).
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { InputError } from "../../core/errors.ts";
import { AUTOSCALING_ACTIONS } from "./autoscaling-actions.ts";
import { AutoScalingAuth } from "./autoscaling-auth.ts";
import type { AutoScalingGroupApi, AutoScalingGroupView } from "./autoscaling-group-api.ts";
import {
  AUTOSCALING_VERSION,
  QueryError,
  queryError,
  queryResponse,
  requireParams,
  validationError as validation,
} from "./autoscaling-xml.ts";
import { CredentialsIssuer } from "./credentials-issuer.ts";

export {
  AUTOSCALING_VERSION,
  AUTOSCALING_XMLNS,
  queryError,
  queryResponse,
  xmlEscape,
} from "./autoscaling-xml.ts";

import { listenOn } from "../../host/listen.ts";

export type LifecycleTransition =
  | "autoscaling:EC2_INSTANCE_LAUNCHING"
  | "autoscaling:EC2_INSTANCE_TERMINATING";
export type LifecycleResult = "CONTINUE" | "ABANDON";

export interface LifecycleHookSpec {
  group: string;
  hook: string;
  /** Default launching. */
  transition?: LifecycleTransition;
  /** What happens when the heartbeat timeout runs out; default ABANDON (AWS's default). */
  defaultResult?: LifecycleResult;
  /** Heartbeat timeout, ms. Default 3600 s (AWS's default). */
  heartbeatTimeoutMs?: number;
}

export interface LifecycleActionSpec {
  group: string;
  hook: string;
  instanceId: string;
  /** Default: a fresh UUID. */
  token?: string;
}

export interface PendingLifecycleAction {
  group: string;
  hook: string;
  instanceId: string;
  token: string;
  transition: LifecycleTransition;
  startedAt: number;
  heartbeats: number;
  /** When the default result will be applied, ms since the epoch. */
  timeoutAt: number;
}

export interface LifecycleCompletion {
  group: string;
  hook: string;
  instanceId: string;
  token: string;
  result: LifecycleResult;
  /** "api": CompleteLifecycleAction; "timeout": the heartbeat timeout ran out. */
  via: "api" | "timeout";
  time: number;
}

export interface LifecycleHeartbeat {
  group: string;
  hook: string;
  instanceId: string;
  token: string;
  time: number;
}

export interface AutoScalingCall {
  time: number;
  /** "" when the request named no action. */
  action: string;
  /** Every form/query parameter except Action and Version. */
  params: Record<string, string>;
  /** HTTP status answered, or "destroyed" for a down fault. */
  status: number | "destroyed";
  /** The AWS error code when the call failed. */
  errorCode?: string;
  /** From the SigV4 credential scope, when present. */
  accessKeyId?: string;
  region?: string;
  /** The signer's ARN, once the signature checked out. */
  principal?: string;
  remoteAddress: string;
}

export interface AutoScalingInstanceRecord {
  instanceId: string;
  group: string;
  /** Default us-east-1a. */
  availabilityZone?: string;
  /** Pending, Pending:Wait, Pending:Proceed, InService, Terminating, ... Default InService. */
  lifecycleState?: string;
  /** HEALTHY or UNHEALTHY, default HEALTHY. */
  healthStatus?: string;
  protectedFromScaleIn?: boolean;
  instanceType?: string;
  launchTemplate?: { id?: string; name?: string; version?: string };
}

/**
 * down: "destroy" (default) destroys each request's socket, "refuse" stops listening until cleared.
 * error: every call answers HTTP `status` (default 500) with `code` (default InternalFailure).
 * throttle: every call answers 400 Throttling ("Rate exceeded"), which the SDK retries.
 * slow: every answer is delayed by delayMs. `action` limits a fault to one action.
 */
export type AutoScalingFault =
  | { kind: "down"; mode?: "destroy" | "refuse"; action?: string }
  | { kind: "error"; status?: number; code?: string; message?: string; action?: string }
  | { kind: "throttle"; action?: string }
  | { kind: "slow"; delayMs: number; action?: string };

export type AutoScalingEvents = {
  complete: [LifecycleCompletion];
  heartbeat: [LifecycleHeartbeat];
  call: [AutoScalingCall];
};

export interface AutoScalingEmulatorOptions {
  host?: string;
  port?: number;
  hooks?: LifecycleHookSpec[];
  instances?: AutoScalingInstanceRecord[];
  /** Clock for records and signature dates, default Date.now (timeouts use real timers). */
  now?: () => number;
  /**
   * The group behind the operators' actions (DescribeAutoScalingGroups, SetDesiredCapacity...);
   * without one they describe the registered instances and hooks and refuse every change.
   */
  group?: AutoScalingGroupApi;
  /** The keys it accepts; default: an issuer of its own (add keys with `emu.issuer`). */
  issuer?: CredentialsIssuer;
  /** The region its signatures must be scoped to, default us-east-1. */
  region?: string;
}

const DEFAULT_HEARTBEAT_MS = 3600_000;
const MAX_BODY = 64 * 1024;

const key = (group: string, hook: string) => `${group}\u0000${hook}`;

function stripV4Mapped(addr: string | undefined): string {
  if (!addr) return "";
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}

interface HookState extends Required<LifecycleHookSpec> {}
interface ActionState extends PendingLifecycleAction {
  timer?: NodeJS.Timeout;
}

export class AutoScalingEmulator extends EventEmitter<AutoScalingEvents> {
  readonly calls: AutoScalingCall[] = [];
  readonly host: string;
  readonly auth: AutoScalingAuth;
  private readonly server: Server;
  private readonly now: () => number;
  private readonly hooks = new Map<string, HookState>();
  private readonly actions = new Map<string, ActionState>();
  private readonly instances = new Map<string, AutoScalingInstanceRecord>();
  private readonly delays = new Set<NodeJS.Timeout>();
  private fault: AutoScalingFault | undefined;
  private groupApi: AutoScalingGroupApi | undefined;
  private listening = false;
  private closed = false;
  private boundPort = 0;

  private constructor(opts: AutoScalingEmulatorOptions) {
    super();
    this.host = opts.host ?? "127.0.0.1";
    this.now = opts.now ?? Date.now;
    this.auth = new AutoScalingAuth(
      opts.issuer ?? new CredentialsIssuer({ now: this.now }),
      opts.region ?? "us-east-1",
      this.now,
    );
    for (const h of opts.hooks ?? []) this.putLifecycleHook(h);
    for (const i of opts.instances ?? []) this.setInstance(i);
    this.groupApi = opts.group;
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 1000;
  }

  static async start(opts: AutoScalingEmulatorOptions = {}): Promise<AutoScalingEmulator> {
    const emu = new AutoScalingEmulator(opts);
    await emu.listen(opts.port ?? 0);
    return emu;
  }

  /** The keys the emulator accepts. */
  get issuer(): CredentialsIssuer {
    return this.auth.issuer;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}`;
  }

  /** Create or replace a lifecycle hook. */
  putLifecycleHook(spec: LifecycleHookSpec): void {
    if (!spec.group || !spec.hook)
      throw new InputError("autoscaling emulator: a hook needs a group and a name");
    const heartbeatTimeoutMs = spec.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_MS;
    if (!(Number.isFinite(heartbeatTimeoutMs) && heartbeatTimeoutMs > 0)) {
      throw new InputError("autoscaling emulator: heartbeatTimeoutMs must be > 0");
    }
    this.hooks.set(key(spec.group, spec.hook), {
      group: spec.group,
      hook: spec.hook,
      transition: spec.transition ?? "autoscaling:EC2_INSTANCE_LAUNCHING",
      defaultResult: spec.defaultResult ?? "ABANDON",
      heartbeatTimeoutMs,
    });
  }

  /**
   * Put an instance into a hook's wait state (the hook is created with defaults if missing).
   * Returns the pending action with its token.
   */
  startLifecycleAction(spec: LifecycleActionSpec): PendingLifecycleAction {
    if (!spec.group || !spec.hook || !spec.instanceId) {
      throw new InputError("autoscaling emulator: a lifecycle action needs group, hook and instanceId");
    }
    if (!this.hooks.has(key(spec.group, spec.hook)))
      this.putLifecycleHook({ group: spec.group, hook: spec.hook });
    const hook = this.hooks.get(key(spec.group, spec.hook))!;
    for (const a of this.actions.values()) {
      if (a.group === spec.group && a.hook === spec.hook && a.instanceId === spec.instanceId) {
        throw new InputError(
          `autoscaling emulator: instance ${spec.instanceId} already waits on hook "${spec.hook}"`,
        );
      }
    }
    const token = spec.token ?? randomUUID();
    if (this.actions.has(token))
      throw new InputError(`autoscaling emulator: token ${token} is already in use`);
    const t = this.now();
    const action: ActionState = {
      group: spec.group,
      hook: spec.hook,
      instanceId: spec.instanceId,
      token,
      transition: hook.transition,
      startedAt: t,
      heartbeats: 0,
      timeoutAt: t + hook.heartbeatTimeoutMs,
    };
    this.actions.set(token, action);
    this.arm(action, hook.heartbeatTimeoutMs);
    const inst = this.instances.get(spec.instanceId);
    if (inst) inst.lifecycleState = launching(hook.transition) ? "Pending:Wait" : "Terminating:Wait";
    return publicAction(action);
  }

  pendingActions(): PendingLifecycleAction[] {
    return [...this.actions.values()].map(publicAction);
  }

  /**
   * End an instance's pending lifecycle actions without a "complete" event: the controller that
   * drives the group decided already (its own heartbeat timeout, or the instance is gone). A
   * later CompleteLifecycleAction for it gets "No active Lifecycle Action found", as on AWS.
   * Returns how many actions ended.
   */
  cancelLifecycleActions(instanceId: string): number {
    let n = 0;
    for (const a of [...this.actions.values()]) {
      if (a.instanceId !== instanceId) continue;
      clearTimeout(a.timer);
      this.actions.delete(a.token);
      n++;
    }
    return n;
  }

  /** Put the group the operators' actions read and act on (the fleet controller's). */
  setGroupApi(api: AutoScalingGroupApi | undefined): void {
    this.groupApi = api;
  }

  /** Register or replace an instance (what DescribeAutoScalingInstances reports). */
  setInstance(rec: AutoScalingInstanceRecord): void {
    if (!rec.instanceId || !rec.group)
      throw new InputError("autoscaling emulator: an instance needs instanceId and group");
    this.instances.set(rec.instanceId, { ...rec });
  }

  getInstance(instanceId: string): AutoScalingInstanceRecord | undefined {
    const r = this.instances.get(instanceId);
    return r ? { ...r } : undefined;
  }

  removeInstance(instanceId: string): void {
    this.instances.delete(instanceId);
  }

  /** Subscribe to completions; returns an unsubscribe function. */
  onComplete(listener: (c: LifecycleCompletion) => void): () => void {
    this.on("complete", listener);
    return () => this.off("complete", listener);
  }

  async setFault(fault: AutoScalingFault | undefined): Promise<void> {
    if (fault?.kind === "down" && fault.mode === "refuse" && fault.action) {
      throw new InputError("autoscaling emulator: a refusing down fault applies to the whole emulator");
    }
    if (fault?.kind === "slow" && !(Number.isFinite(fault.delayMs) && fault.delayMs >= 0)) {
      throw new InputError("autoscaling emulator: a slow fault needs delayMs >= 0");
    }
    this.fault = fault;
    if (this.closed) return;
    const refuse = fault?.kind === "down" && fault.mode === "refuse";
    if (refuse && this.listening) await this.stopListening();
    else if (!refuse && !this.listening) await this.listen(this.boundPort);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const a of this.actions.values()) clearTimeout(a.timer);
    for (const t of this.delays) clearTimeout(t);
    this.delays.clear();
    await this.stopListening();
  }

  // ---- internals ----

  private async listen(port: number): Promise<void> {
    this.boundPort = await listenOn(this.server, this.host, port, "autoscaling emulator");
    this.listening = true;
  }

  private stopListening(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.listening) return resolve();
      this.listening = false;
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private arm(action: ActionState, ms: number): void {
    clearTimeout(action.timer);
    action.timer = setTimeout(() => {
      if (this.closed || !this.actions.has(action.token)) return;
      const hook = this.hooks.get(key(action.group, action.hook));
      this.finish(action, hook?.defaultResult ?? "ABANDON", "timeout");
    }, ms);
    action.timer.unref();
  }

  private finish(action: ActionState, result: LifecycleResult, via: "api" | "timeout"): LifecycleCompletion {
    clearTimeout(action.timer);
    this.actions.delete(action.token);
    const inst = this.instances.get(action.instanceId);
    if (inst) {
      if (launching(action.transition))
        inst.lifecycleState = result === "CONTINUE" ? "Pending:Proceed" : "Terminating";
      else inst.lifecycleState = "Terminating:Proceed";
    }
    const completion: LifecycleCompletion = {
      group: action.group,
      hook: action.hook,
      instanceId: action.instanceId,
      token: action.token,
      result,
      via,
      time: this.now(),
    };
    this.emit("complete", completion);
    return completion;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on("error", () => req.socket.destroy());
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      this.dispatch(req, res, body, tooBig);
    });
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, body: string, tooBig: boolean): void {
    const url = new URL(req.url ?? "/", "http://emulator");
    const all = new URLSearchParams(url.search);
    const contentType = String(req.headers["content-type"] ?? "");
    if (req.method === "POST" && contentType.startsWith("application/x-www-form-urlencoded")) {
      for (const [k, v] of new URLSearchParams(body)) all.set(k, v);
    }
    const action = all.get("Action") ?? "";
    const version = all.get("Version") ?? "";
    const params: Record<string, string> = {};
    for (const [k, v] of all) if (k !== "Action" && k !== "Version") params[k] = v;
    const auth = String(req.headers.authorization ?? "");
    const scope = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/[^/]+\/aws4_request/.exec(auth);
    const call: AutoScalingCall = {
      time: this.now(),
      action,
      params,
      status: 0,
      remoteAddress: stripV4Mapped(req.socket.remoteAddress),
      ...(scope ? { accessKeyId: scope[1], region: scope[2] } : {}),
    };
    const requestId = randomUUID();
    const record = () => {
      this.calls.push(call);
      this.emit("call", call);
    };
    const send = (status: number, xml: string) => {
      call.status = status;
      record();
      if (res.destroyed) return;
      res.writeHead(status, {
        "content-type": "text/xml",
        "content-length": String(Buffer.byteLength(xml)),
        "x-amzn-requestid": requestId,
        date: new Date().toUTCString(),
      });
      res.end(xml);
    };
    const sendError = (e: QueryError) => {
      call.errorCode = e.code;
      send(e.status, queryError(e.type, e.code, e.message, requestId));
    };

    const fault = this.fault && (!this.fault.action || this.fault.action === action) ? this.fault : undefined;
    if (fault?.kind === "down") {
      call.status = "destroyed";
      record();
      req.socket.destroy();
      return;
    }
    const answer = async () => {
      if (fault?.kind === "error") {
        const status = fault.status ?? 500;
        return sendError(
          new QueryError(
            status,
            fault.code ?? "InternalFailure",
            fault.message ??
              "The request processing has failed because of an unknown error, exception or failure.",
            status >= 500 ? "Receiver" : "Sender",
          ),
        );
      }
      if (fault?.kind === "throttle") return sendError(new QueryError(400, "Throttling", "Rate exceeded"));
      try {
        if (tooBig) throw new QueryError(413, "RequestEntityTooLarge", "Request body is too large");
        if (req.method !== "POST" && req.method !== "GET") {
          throw new QueryError(405, "MethodNotAllowed", `Method ${req.method} is not allowed`);
        }
        const signer = await this.auth.authenticate({
          method: req.method,
          url: req.url ?? "/",
          headers: req.headers,
          body,
        });
        if (!signer.ok) throw new QueryError(signer.status, signer.code, signer.message);
        call.principal = signer.principal.arn;
        if (!action) throw new QueryError(400, "MissingAction", "Missing Action");
        if (version !== AUTOSCALING_VERSION) {
          throw new QueryError(
            400,
            "InvalidAction",
            `Could not find operation ${action} for version ${version || "NO_VERSION_SPECIFIED"}`,
          );
        }
        const denied = this.auth.authorize(signer.principal, action, params, (id) => this.groupOf(id));
        if (denied) throw new QueryError(denied.status, denied.code, denied.message);
        send(200, this.perform(action, params, requestId));
      } catch (err) {
        if (err instanceof QueryError) return sendError(err);
        sendError(
          new QueryError(
            500,
            "InternalFailure",
            err instanceof Error ? err.message : String(err),
            "Receiver",
          ),
        );
      }
    };
    if (fault?.kind === "slow") {
      const t = setTimeout(() => {
        this.delays.delete(t);
        if (!this.closed) void answer();
      }, fault.delayMs);
      this.delays.add(t);
      return;
    }
    void answer();
  }

  private perform(action: string, params: Record<string, string>, requestId: string): string {
    switch (action) {
      case "CompleteLifecycleAction": {
        requireParams(params, ["LifecycleHookName", "AutoScalingGroupName", "LifecycleActionResult"]);
        const result = params.LifecycleActionResult;
        if (result !== "CONTINUE" && result !== "ABANDON") {
          throw validation(`Invalid LifecycleActionResult "${result}": must be CONTINUE or ABANDON`);
        }
        const pending = this.findAction(params);
        this.finish(pending, result, "api");
        return queryResponse(action, undefined, requestId);
      }
      case "RecordLifecycleActionHeartbeat": {
        requireParams(params, ["LifecycleHookName", "AutoScalingGroupName"]);
        const pending = this.findAction(params);
        const hook = this.hooks.get(key(pending.group, pending.hook))!;
        pending.heartbeats++;
        pending.timeoutAt = this.now() + hook.heartbeatTimeoutMs;
        this.arm(pending, hook.heartbeatTimeoutMs);
        this.emit("heartbeat", {
          group: pending.group,
          hook: pending.hook,
          instanceId: pending.instanceId,
          token: pending.token,
          time: this.now(),
        });
        return queryResponse(action, undefined, requestId);
      }
      default: {
        const handler = Object.hasOwn(AUTOSCALING_ACTIONS, action) ? AUTOSCALING_ACTIONS[action] : undefined;
        if (!handler)
          throw new QueryError(
            400,
            "InvalidAction",
            `Could not find operation ${action} for version ${AUTOSCALING_VERSION}`,
          );
        return queryResponse(action, handler(this.groupApi ?? this.recordsApi(), params), requestId);
      }
    }
  }

  /** The group an instance is in, for the actions that name only the instance. */
  private groupOf(instanceId: string): string | undefined {
    const api = this.groupApi ?? this.recordsApi();
    return api.groups().find((g) => g.instances.some((i) => i.instanceId === instanceId))?.name;
  }

  private findAction(params: Record<string, string>): ActionState {
    const group = params.AutoScalingGroupName!;
    const hookName = params.LifecycleHookName!;
    const token = params.LifecycleActionToken;
    const instanceId = params.InstanceId;
    if (!token && !instanceId) {
      throw validation("Either LifecycleActionToken or InstanceId must be specified");
    }
    const groupKnown =
      [...this.hooks.values()].some((h) => h.group === group) ||
      [...this.instances.values()].some((i) => i.group === group);
    if (!groupKnown)
      throw validation(`AutoScalingGroup name not found - AutoScalingGroup '${group}' not found`);
    if (!this.hooks.has(key(group, hookName))) {
      throw validation(`No Lifecycle Hook found with name '${hookName}' for AutoScalingGroup '${group}'`);
    }
    const matches = [...this.actions.values()].filter(
      (a) =>
        a.group === group &&
        a.hook === hookName &&
        (!token || a.token === token) &&
        (!instanceId || a.instanceId === instanceId),
    );
    if (matches.length === 0) {
      throw validation(
        token
          ? `No active Lifecycle Action found with token ${token}`
          : `No active Lifecycle Action found with instance ID ${instanceId}`,
      );
    }
    return matches[0]!;
  }

  /** Without a group: the registered instances and hooks, read-only. */
  private recordsApi(): AutoScalingGroupApi {
    const names = new Set([
      ...[...this.hooks.values()].map((h) => h.group),
      ...[...this.instances.values()].map((i) => i.group),
    ]);
    const groups = [...names].map((name): AutoScalingGroupView => {
      const instances = [...this.instances.values()].filter((i) => i.group === name);
      return {
        name,
        arn: `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${name}`,
        min: 0,
        max: instances.length,
        desired: instances.length,
        defaultCooldownSec: 300,
        availabilityZones: [...new Set(instances.map((i) => i.availabilityZone ?? "us-east-1a"))],
        healthCheckType: "EC2",
        healthCheckGracePeriodSec: 0,
        targetGroupARNs: [],
        createdTime: 0,
        tags: [],
        terminationPolicies: ["Default"],
        hooks: [...this.hooks.values()]
          .filter((h) => h.group === name)
          .map((h) => ({
            name: h.hook,
            group: name,
            transition: h.transition,
            heartbeatTimeoutSec: Math.round(h.heartbeatTimeoutMs / 1000),
            globalTimeoutSec: Math.round(Math.min(100 * h.heartbeatTimeoutMs, 48 * 3600_000) / 1000),
            defaultResult: h.defaultResult,
          })),
        instances: instances.map((i) => ({
          instanceId: i.instanceId,
          group: name,
          availabilityZone: i.availabilityZone ?? "us-east-1a",
          lifecycleState: i.lifecycleState ?? "InService",
          health: i.healthStatus === "UNHEALTHY" ? "Unhealthy" : "Healthy",
          instanceType: i.instanceType ?? "t3.micro",
          launchTemplate: i.launchTemplate,
          protectedFromScaleIn: i.protectedFromScaleIn ?? false,
        })),
      };
    });
    const readOnly = (): never => {
      throw validation("This emulator fronts no group: it takes no changes (start it with a group).");
    };
    return {
      groups: () => groups,
      activities: () => [],
      setDesiredCapacity: readOnly,
      setInstanceHealth: readOnly,
      terminateInstance: readOnly,
    };
  }
}

function launching(t: LifecycleTransition): boolean {
  return t === "autoscaling:EC2_INSTANCE_LAUNCHING";
}

function publicAction(a: ActionState): PendingLifecycleAction {
  const { timer: _timer, ...rest } = a;
  return { ...rest };
}

/** Start an emulator on `host` (default 127.0.0.1), port 0 by default. */
export function startAutoScalingEmulator(
  opts: AutoScalingEmulatorOptions = {},
): Promise<AutoScalingEmulator> {
  return AutoScalingEmulator.start(opts);
}
