/**
 * src/fleet/control/: the control at the top of the local fleet: this controller, which starts the
 * parts from aws/, balancing/ and instances/ and runs the group; the daemon that keeps it running
 * (daemon.ts) and its control endpoint and client (control.ts); fleet.yaml (fleet-config.ts); the
 * state directory (state-dir.ts); the checks before `fleet up` starts anything (preflight.ts); the
 * status table (status-table.ts); the git server the instances fetch from (git-server.ts); and the
 * whole-fleet tests with their helpers (fleet-testing.ts); launch template versions and instance
 * refreshes (instance-refresh-runner.ts). What steers a whole fleet lands here next (the group read
 * from a synthesized template).
 *
 * The fleet controller: starts the rehearsal's parts on loopback (the git server, the Auto Scaling
 * emulator, the load balancer, one metadata listener per instance) and runs the autoscaling group.
 * asg-model.ts decides; this module feeds it real events and carries out its actions:
 *
 *   events in:  timer ticks at nextDeadline, CompleteLifecycleAction / heartbeats (emulator),
 *               target health changes (load balancer), instance deaths (their init exits),
 *               launches finished, scale requests, request-rate samples (access log)
 *   actions out: launch / terminate instances (instance.ts), register / deregister targets,
 *               start / end lifecycle actions in the emulator, publish lifecycle states in the
 *               metadata service and the emulator, record everything in the event log
 *
 * Events are handled one at a time, in arrival order (a queue), so the model always sees one
 * consistent history. The event log is STATE/events.jsonl; every process started is recorded
 * with its start time in STATE/pids.json, so `muster fleet down` can prove nothing is left.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import {
  type FailureRecord,
  failureSummary,
  parseFailureRecord,
  recordFromConsole,
} from "../../boot/failure-record.ts";
import { lifecycleOutcome } from "../../boot/state.ts";
import { errorMessage, InputError } from "../../core/errors.ts";
import { bareRepoFrom } from "../../demo/example-repos.ts";
import { execOk } from "../../host/exec.ts";
import { appendNoFollow, replaceNoFollow } from "../../host/write-no-follow.ts";
import { foldActivities, type ScalingActivity } from "../aws/asg-activities.ts";
import {
  type AsgAction,
  type AsgEvent,
  type AsgState,
  countByState,
  createGroup,
  instanceIdFor,
  type LifecycleHookConfig,
  type LifecycleState,
  nextDeadline,
  step,
} from "../aws/asg-model.ts";
import { type AutoScalingEmulator, startAutoScalingEmulator } from "../aws/autoscaling-emulator.ts";
import { groupArns, modelGroupApi } from "../aws/autoscaling-group-api.ts";
import { QueryError } from "../aws/autoscaling-xml.ts";
import { CredentialsIssuer } from "../aws/credentials-issuer.ts";
import type { InstanceRefreshView, StartRefreshRequest } from "../aws/instance-refresh-actions.ts";
import { type LogsEmulator, startLogsEmulator } from "../aws/logs-emulator.ts";
import { type InstanceProfile, type MetadataFault, regionOfZone } from "../aws/metadata-emulator.ts";
import { targetLifecycleState } from "../aws/target-lifecycle-state.ts";
import {
  builtinFleetLoadBalancer,
  type FleetLoadBalancer,
  type FleetTarget,
  type LoadBalancerProcess,
} from "../balancing/fleet-lb.ts";
import { HaproxyLoadBalancer } from "../balancing/haproxy.ts";
import { slotCount } from "../balancing/haproxy-slots.ts";
import { startLoadBalancer } from "../balancing/load-balancer.ts";
import { requestsPerTarget } from "../balancing/metrics.ts";
import type { TargetGroupSettings } from "../balancing/target-health.ts";
import { FleetInstance } from "../instances/instance.ts";
import { type PidRecord, procStart, signal, stillRunning, waitGone } from "../instances/processes.ts";
import { addressAt, type FleetConfig, failureLogGroup } from "./fleet-config.ts";
import { type GitServer, type GitServerFault, startGitServer } from "./git-server.ts";
import { InstanceRefreshRunner, type LaunchTemplateVersion } from "./instance-refresh-runner.ts";
import { readOperatorKeys, writeOperatorKeys } from "./operator-keys.ts";
import { ensureStateDir, FLEET_FILES } from "./state-dir.ts";

export type FleetEventKind =
  | "fleet"
  | "transition"
  | "desired"
  | "note"
  | "boot"
  | "lifecycle"
  | "target"
  | "fault"
  | "error";

export interface FleetEvent {
  seq: number;
  time: number;
  kind: FleetEventKind;
  instanceId?: string;
  message: string;
  from?: string;
  to?: string;
}

export interface InstanceStatus {
  id: string;
  address: string;
  state: LifecycleState;
  health: "Healthy" | "Unhealthy";
  targetState?: string;
  launchedAt: number;
  inServiceAt?: number;
  terminatedAt?: number;
  cause?: string;
  /** when the lifecycle hook it waits on times out (ms since the epoch), while one does */
  lifecycleTimeoutAt?: number;
  /** the launch template version it was launched from, and the config ref that version carries */
  launchTemplateVersion?: number;
  configRef?: string;
  /** its booted config revision is the group's (the group's launch template ref, resolved) */
  configMatches?: boolean;
  root: string;
  bootId: string;
  boot: {
    running: boolean;
    /** when the boot process was started (ms since the epoch) */
    startedAt?: number;
    /** when the pipeline itself started, from its record (node's start and module loading before it) */
    pipelineStartedAt?: number;
    exitCode?: number | null;
    outcome?: string;
    failedStage?: string;
    error?: string;
    attempts?: number;
    appRevision?: string;
    configRevision?: string;
    durationMs?: number;
    transferMs?: number;
    /** the boot process's CPU time, from its record */
    cpu?: { beforeRunMs: number; totalMs: number };
    stages?: { stage: string; attempt: number; ok: boolean; durationMs: number }[];
    lifecycle?: { result: string; ok: boolean; error?: string };
  };
  gate: { state: string; openedAt?: string; reason?: string };
  /**
   * the record its boot left when it gave up (CloudWatch Logs, else its console): kept after the
   * instance is terminated
   */
  failure?: FailureRecord;
  /** requests the load balancer sent it */
  requests: number;
  firstRequestAt?: number;
  lastRequestAt?: number;
}

export interface FleetStatus {
  pid: number;
  startedAt: number;
  stateDir: string;
  source: string;
  loadBalancer: {
    kind: string;
    url: string;
    accessLog?: string;
    targets: FleetTarget[];
  } & LoadBalancerProcess;
  gitServer: { url: string; fault?: GitServerFault };
  autoscalingUrl: string;
  /** the CloudWatch Logs API (boot failure records) */
  logsUrl: string;
  /** the log group the instances put their failure records in */
  failureLogGroup: string;
  /** the region its Auto Scaling API signs for */
  region: string;
  metadataFault?: MetadataFault;
  group: {
    name: string;
    min: number;
    max: number;
    desired: number;
    counts: Record<LifecycleState, number>;
    /** launches in a row that ended before InService (reset by one that gets there) */
    launchFailures: number;
    /** the group's launch template version and the config ref (and commit) it carries */
    launchTemplate: LaunchTemplateVersion;
    healthCheckType: "ELB" | "EC2";
    healthCheckGracePeriodMs: number;
    launchHook?: LifecycleHookConfig;
    terminateHook?: LifecycleHookConfig;
  };
  /** the newest instance refresh, if any */
  instanceRefresh?: InstanceRefreshView;
  /** the target group's health check and deregistration delay */
  targetGroup: TargetGroupSettings;
  /** `fleet up --from-template`: the template, its group, what of it is not rehearsed */
  template?: FleetConfig["template"];
  instances: InstanceStatus[];
  /** processes of the fleet that run now */
  processes: PidRecord[];
  /** the daemon's dashboard, unless it is off */
  dashboard?: { url: string };
}

export type FleetFault =
  | { kind: "git-down" }
  | { kind: "git-up" }
  | { kind: "git-slow"; ms: number }
  | { kind: "metadata-slow"; ms: number }
  | { kind: "kill"; instance: string }
  | { kind: "break-health"; instance: string }
  | { kind: "spot-interrupt"; instance: string };

export interface ControllerOptions {
  node?: string;
  /** muster's bin/muster.js */
  musterBin: string;
  /** human lines as things happen */
  say?: (line: string) => void;
}

const MAX_EVENTS = 5000;

/** The account and region the rehearsal's ARNs name, and the facts an ARN does not use. */
const GROUP_FACTS = {
  instanceType: "",
  defaultZone: "",
  tags: {},
  createdTime: 0,
  accountId: "123456789012",
  region: "us-east-1",
};

/**
 * Parse an instance name: the full id; its launch number in decimal, as people count ("10" is
 * the tenth instance, i-0000000000000000a); or, after "i-", the end of its id in hex.
 */
export function resolveInstanceId(name: string, known: string[]): string | undefined {
  const n = name.trim();
  if (known.includes(n)) return n;
  if (/^\d+$/.test(n)) {
    const id = instanceIdFor(Number(n));
    return known.includes(id) ? id : undefined;
  }
  const m = /^i-0*([0-9a-f]+)$/i.exec(n);
  if (!m) return undefined;
  return known.find((id) => id.replace(/^i-0*/, "") === m[1]!.toLowerCase());
}

export class FleetController extends EventEmitter<{ event: [FleetEvent] }> {
  readonly startedAt = Date.now();
  private state!: AsgState;
  /** The group's scaling activities (DescribeScalingActivities), oldest first. */
  private activities: ScalingActivity[] = [];
  private readonly instances = new Map<string, FleetInstance>();
  private readonly addressOf = new Map<string, string>();
  private nextAddress = 0;
  private readonly events: FleetEvent[] = [];
  /** an append to the event log failed: said once, not for each event */
  private eventLogUnwritable = false;
  private seq = 0;
  private readonly queue: AsgEvent[] = [];
  private busy = false;
  private tickTimer?: NodeJS.Timeout;
  private metricTimer?: NodeJS.Timeout;
  private readonly requestTimes: number[] = [];
  private readonly served = new Map<string, { count: number; first: number; last: number }>();
  private readonly pids: PidRecord[] = [];
  private pidsTimer?: NodeJS.Timeout;
  private lbRestartTimer?: NodeJS.Timeout;
  private metadataFault?: MetadataFault;
  private lastNote?: { key: string; time: number };
  private closing?: Promise<PidRecord[]>;
  private imageDir?: string;
  private readonly node: string;
  private git!: GitServer;
  private asg!: AutoScalingEmulator;
  private logs!: LogsEmulator;
  /** every instance's boot failure record, as it reached CloudWatch Logs (kept after termination) */
  private readonly failures = new Map<string, FailureRecord>();
  private issuer!: CredentialsIssuer;
  private refresh!: InstanceRefreshRunner;
  lb!: FleetLoadBalancer;
  /** set by the daemon once its dashboard listens (status() carries it) */
  dashboardUrl?: string;

  private constructor(
    readonly cfg: FleetConfig,
    private readonly opts: ControllerOptions,
  ) {
    super();
    this.node = opts.node ?? process.execPath;
  }

  /** Start every part and launch the group's first instances. */
  static async start(cfg: FleetConfig, opts: ControllerOptions): Promise<FleetController> {
    const c = new FleetController(cfg, opts);
    try {
      await c.startParts();
    } catch (err) {
      await c.shutdown().catch(() => {});
      throw err;
    }
    return c;
  }

  get stateDir(): string {
    return this.cfg.stateDir;
  }

  /** The Auto Scaling API emulator (its recorded calls show what the instances sent). */
  get autoscaling(): AutoScalingEmulator {
    return this.asg;
  }

  /** The CloudWatch Logs emulator (the failed boots' records). */
  get cloudWatchLogs(): LogsEmulator {
    return this.logs;
  }

  /** The git server (its request records show what the instances fetched). */
  get gitServer(): GitServer {
    return this.git;
  }

  private async startParts(): Promise<void> {
    const { cfg } = this;
    ensureStateDir(cfg.stateDir);
    this.recordPid(process.pid, "daemon");
    const reposDir = path.join(cfg.stateDir, "repos");
    mkdirSync(reposDir, { recursive: true });
    for (const [name, src] of [
      ["config", cfg.repositories.config],
      ["app", cfg.repositories.app],
    ] as const) {
      const bare = path.join(reposDir, `${name}.git`);
      if (src.bare) symlinkSync(src.bare, bare);
      else await bareRepoFrom(src.dir!, bare, `${name}: committed by muster fleet`);
    }
    this.imageDir = await this.prepareImage();

    this.git = await startGitServer({ projectRoot: reposDir, host: "127.0.0.1" });
    const hook = cfg.group.launchHook;
    // the keys its Auto Scaling API accepts: the operator's (kept in the state directory for
    // `muster fleet env`), and each instance's role keys, served by its metadata service
    this.issuer = new CredentialsIssuer({ roleLifetimeMs: cfg.instances.iamRole.credentialLifetimeMs });
    const kept = readOperatorKeys(cfg.stateDir);
    const operator = this.issuer.operatorKeys(kept);
    if (!kept) writeOperatorKeys(cfg.stateDir, operator);
    this.asg = await startAutoScalingEmulator({
      host: "127.0.0.1",
      issuer: this.issuer,
      region: cfg.group.region,
      // the group model owns the hooks' timeouts; the emulator's own timer never fires first
      hooks: [hook, cfg.group.terminateHook].flatMap((h) =>
        h
          ? [
              {
                group: cfg.group.name,
                hook: h.name,
                defaultResult: h.defaultResult,
                heartbeatTimeoutMs: 48 * 3600_000,
              },
            ]
          : [],
      ),
    });
    this.asg.on("complete", (c) => {
      if (c.via !== "api") return;
      this.record("lifecycle", `CompleteLifecycleAction ${c.result} (hook ${c.hook})`, c.instanceId);
      this.dispatch({ type: "lifecycle-action-completed", instanceId: c.instanceId, result: c.result });
    });
    // the boots' failure records: started before any instance, so none is lost
    this.logs = await startLogsEmulator({ host: "127.0.0.1", issuer: this.issuer, region: cfg.group.region });
    this.logs.ensureLogGroup(failureLogGroup(cfg.group.name));
    this.logs.on("put", (p) => this.onLogEvents(p.logStreamName, p.events));
    this.asg.on("heartbeat", (h) => this.dispatch({ type: "lifecycle-heartbeat", instanceId: h.instanceId }));
    // a completion after the group decided (the heartbeat timeout passed, the instance is gone)
    // is refused as AWS refuses it; the event log says so, or the instance's fate looks unexplained
    this.asg.on("call", (call) => {
      if (call.action !== "CompleteLifecycleAction" || call.status === "destroyed" || call.status < 400)
        return;
      if (call.status === 403) {
        // signature or permissions: the instance's role, as AWS would refuse it
        this.record(
          "note",
          `CompleteLifecycleAction ${call.params.LifecycleActionResult ?? ""} refused: ${call.errorCode}${call.principal ? ` (${call.principal})` : ""}`,
          call.params.InstanceId,
        );
        return;
      }
      this.record(
        "note",
        `CompleteLifecycleAction ${call.params.LifecycleActionResult ?? ""} refused: no lifecycle action is waiting for this instance (its heartbeat timeout passed, or it is terminating)`,
        call.params.InstanceId,
      );
    });

    const accessLogPath = path.join(cfg.stateDir, FLEET_FILES.accessLog);
    if (cfg.loadBalancer.kind === "haproxy") {
      const lb = await HaproxyLoadBalancer.start({
        dir: path.join(cfg.stateDir, "lb"),
        host: cfg.loadBalancer.host,
        port: cfg.loadBalancer.port,
        backend: cfg.group.name,
        settings: cfg.loadBalancer.settings,
        binary: cfg.loadBalancer.haproxy,
        accessLogPath,
        slots: slotCount(cfg.group.max),
      });
      for (const pid of lb.pids()) this.recordPid(pid, "haproxy");
      this.lb = lb;
    } else {
      this.lb = builtinFleetLoadBalancer(
        await startLoadBalancer({
          host: cfg.loadBalancer.host,
          port: cfg.loadBalancer.port,
          settings: cfg.loadBalancer.settings,
          accessLogPath,
        }),
      );
    }
    this.lb.on("health", (e) => {
      this.record(
        "target",
        `target ${e.from} -> ${e.to}${e.description ? ` (${e.description})` : ""}`,
        e.targetId,
        e.from,
        e.to,
      );
      if (e.to === "unused") this.dispatch({ type: "target-removed", instanceId: e.targetId });
      else this.dispatch({ type: "target-health", instanceId: e.targetId, state: e.to });
    });
    this.lb.on("down", (e) => this.onLoadBalancerDown(e.pid));
    this.lb.on("request", (e) => {
      this.requestTimes.push(e.time);
      if (e.targetId) {
        const s = this.served.get(e.targetId);
        if (s) {
          s.count++;
          s.last = e.time;
        } else this.served.set(e.targetId, { count: 1, first: e.time, last: e.time });
      }
    });

    this.record(
      "fleet",
      `fleet up: group ${cfg.group.name} (min ${cfg.group.min}, max ${cfg.group.max}, desired ${cfg.group.desired}), ` +
        `load balancer ${this.lb.url} (${this.lb.kind}), git ${this.git.url}, Auto Scaling API ${this.asg.url}, CloudWatch Logs ${this.logs.url}`,
    );
    const tt = cfg.group.targetTracking;
    if (tt) this.metricTimer = setInterval(() => this.sampleMetric(tt.samplePeriodMs), tt.samplePeriodMs);

    // the group's config is validated and resolved by fleet-config; the model keeps its own copy
    // launch template version 1 carries fleet.yaml's repositories.ref
    this.refresh = new InstanceRefreshRunner(
      {
        group: cfg.group.name,
        template: {
          id: groupArns({ ...GROUP_FACTS, launchTemplate: cfg.group.launchTemplate }, cfg.group.name)
            .launchTemplateId,
          name: cfg.group.launchTemplate.name,
        },
        state: () => this.state,
        dispatch: (e) => this.dispatch(e),
        note: (m) => this.record("note", m),
      },
      {
        ref: cfg.repositories.ref,
        commit: await this.resolveConfigRef(cfg.repositories.ref).catch(() => undefined),
        label: cfg.group.launchTemplate.version,
      },
    );
    const now = Date.now();
    const created = createGroup(cfg.group, now, cfg.group.desired);
    // the first instances come from launch template version 1 (the model's state is new, ours)
    created.state.launchVersion = 1;
    for (const i of created.state.instances) i.version = 1;
    this.activities = foldActivities([], {
      before: { ...created.state, desired: 0, instances: [] },
      after: created.state,
      actions: created.actions,
      now,
      newId: randomUUID,
    });
    this.state = created.state;
    // the operators' actions of the Auto Scaling API read and change this group, not a copy
    this.asg.setGroupApi({
      ...modelGroupApi(
        {
          state: () => this.state,
          activities: () => this.activities,
          dispatch: (e) => this.dispatch(e),
          closing: () => this.closing !== undefined,
          launchTemplateVersion: (v) => this.refresh.label(v ?? this.refresh.groupVersion),
        },
        {
          instanceType: cfg.group.instanceType,
          launchTemplate: cfg.group.launchTemplate,
          defaultZone: cfg.group.availabilityZones[0]!,
          tags: cfg.role.tags,
          createdTime: this.startedAt,
          accountId: GROUP_FACTS.accountId,
          region: regionOfZone(cfg.group.availabilityZones[0]!),
        },
      ),
      instanceRefresh: this.refresh,
    });
    for (const a of created.actions) this.perform(a);
    this.schedule();
  }

  /**
   * The load balancer's process died: say so, then start it again with the current targets,
   * trying again (1 s, 2 s, ... up to 30 s apart) until it runs or the fleet stops.
   */
  private onLoadBalancerDown(pid: number): void {
    const targets = this.lb.describeTargets().length;
    this.record(
      "error",
      `load balancer ${this.lb.kind} (pid ${pid}) is gone; restarting it on ${this.lb.url} with ${targets} targets`,
    );
    const attempt = (delayMs: number): void => {
      if (this.closing) return;
      this.lb.restart().then(
        (newPid) => {
          if (newPid !== undefined) this.recordPid(newPid, this.lb.kind);
          this.record(
            "fleet",
            `load balancer ${this.lb.kind} restarted (pid ${newPid}) on ${this.lb.url} with ${this.lb.describeTargets().length} targets`,
          );
        },
        (err) => {
          if (this.closing) return;
          this.record(
            "error",
            `load balancer restart failed: ${errorMessage(err)}; trying again in ${delayMs / 1000} s`,
          );
          this.lbRestartTimer = setTimeout(() => attempt(Math.min(delayMs * 2, 30_000)), delayMs);
        },
      );
    };
    attempt(1000);
  }

  /** The image instances are copied from: the configured tree, or a prepared copy of it. */
  private async prepareImage(): Promise<string | undefined> {
    const { dir, prepare } = this.cfg.image;
    if (!dir || !prepare) return dir;
    const copy = path.join(this.cfg.stateDir, "image");
    const run = path.join(dir, "run");
    cpSync(dir, copy, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => src !== run && !src.startsWith(`${run}/`),
    });
    const r = await execOk([this.node, this.opts.musterBin, "image", "prepare", "--root", copy], {
      timeoutMs: 60_000,
    });
    const removed = r.stdout.trim().split("\n").pop() ?? "";
    this.record("fleet", `image prepared: ${removed}`);
    return copy;
  }

  // ---- events and the model ----

  private record(
    kind: FleetEventKind,
    message: string,
    instanceId?: string,
    from?: string,
    to?: string,
  ): void {
    const e: FleetEvent = { seq: ++this.seq, time: Date.now(), kind, message };
    if (instanceId) e.instanceId = instanceId;
    if (from !== undefined) e.from = from;
    if (to !== undefined) e.to = to;
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    let unwritten: string | undefined;
    const file = path.join(this.cfg.stateDir, FLEET_FILES.events);
    try {
      appendNoFollow(file, `${JSON.stringify(e)}\n`);
    } catch (err) {
      unwritten =
        (err as NodeJS.ErrnoException).code === "ELOOP"
          ? "a symbolic link is in its place"
          : errorMessage(err);
    }
    this.opts.say?.(formatEvent(e));
    this.emit("event", e);
    // said once (then events are kept in memory only), after the event it lost
    if (unwritten && !this.eventLogUnwritable) {
      this.eventLogUnwritable = true;
      this.record(
        "error",
        `the event log ${file} cannot be written (${unwritten}); events are kept in memory only`,
      );
    }
  }

  eventsAfter(seq: number): FleetEvent[] {
    return this.events.filter((e) => e.seq > seq);
  }

  get lastSeq(): number {
    return this.seq;
  }

  private dispatch(event: AsgEvent): void {
    if (this.closing) return;
    this.queue.push(event);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const e = this.queue.shift()!;
        let r: ReturnType<typeof step>;
        const now = Date.now();
        try {
          r = step(this.state, e, now);
        } catch (err) {
          this.record("error", `${e.type}: ${errorMessage(err)}`);
          continue;
        }
        this.activities = foldActivities(this.activities, {
          before: this.state,
          after: r.state,
          actions: r.actions,
          now,
          newId: randomUUID,
          failureOf: (id) => {
            const f = this.failureOf(id);
            return f ? failureSummary(f) : undefined;
          },
        });
        this.state = r.state;
        for (const a of r.actions) this.perform(a);
        // the refresh looks at the group once its events are all in (its commands queue more)
        if (this.queue.length === 0) this.refresh?.advance();
      }
    } finally {
      this.busy = false;
    }
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.tickTimer);
    if (this.closing) return;
    const dues = [nextDeadline(this.state), this.refresh?.nextDeadline()].filter((d) => d !== undefined);
    if (dues.length === 0) return;
    const due = Math.min(...dues);
    this.tickTimer = setTimeout(() => this.dispatch({ type: "tick" }), Math.max(0, due - Date.now()) + 5);
  }

  private perform(a: AsgAction): void {
    try {
      switch (a.type) {
        case "launch":
          this.launch(a.instanceId);
          return;
        case "transition":
          this.publishTransition(a.instanceId, a.from, a.to, a.cause);
          return;
        case "start-lifecycle-action":
          this.asg.startLifecycleAction({
            group: this.cfg.group.name,
            hook: a.hook,
            instanceId: a.instanceId,
          });
          return;
        case "end-lifecycle-action":
          if (a.via !== "api") {
            this.asg.cancelLifecycleActions(a.instanceId);
            this.record("lifecycle", `lifecycle action ended: ${a.result} (${a.via})`, a.instanceId);
          }
          return;
        case "register-target": {
          const inst = this.instances.get(a.instanceId);
          if (!inst) return;
          this.lb.registerTarget({
            id: a.instanceId,
            host: inst.address,
            port: this.cfg.instances.trafficPort,
          });
          return;
        }
        case "deregister-target":
          this.lb.deregisterTarget(a.instanceId);
          return;
        case "terminate":
          this.terminate(a.instanceId);
          return;
        case "desired-changed":
          this.record("desired", `desired capacity ${a.from} -> ${a.to}: ${a.cause}`);
          return;
        case "note": {
          // the same note at every metric sample says nothing new: once a minute is enough
          const key = `${a.instanceId ?? ""} ${a.message}`;
          const now = Date.now();
          if (this.lastNote?.key === key && now - this.lastNote.time < 60_000) return;
          this.lastNote = { key, time: now };
          this.record("note", a.message, a.instanceId);
          return;
        }
      }
    } catch (err) {
      this.record("error", `${a.type}: ${errorMessage(err)}`, "instanceId" in a ? a.instanceId : undefined);
    }
  }

  private publishTransition(
    id: string,
    from: LifecycleState | null,
    to: LifecycleState,
    cause: string,
  ): void {
    this.record("transition", `${from ?? "(new)"} -> ${to}: ${cause}`, id, from ?? undefined, to);
    const inst = this.instances.get(id);
    // the metadata item is the steady state the instance is headed for (Terminated as soon as its
    // termination starts), and its listener stays up until the instance's processes are gone
    inst?.setTargetLifecycleState(targetLifecycleState(to));
    if (to === "Terminated") {
      this.asg.removeInstance(id);
      this.issuer.revokeSession(id);
    } else
      this.asg.setInstance({
        instanceId: id,
        group: this.cfg.group.name,
        lifecycleState: to,
        healthStatus:
          this.state.instances.find((i) => i.id === id)?.health === "Unhealthy" ? "UNHEALTHY" : "HEALTHY",
      });
  }

  private allocateAddress(id: string): string | undefined {
    const range = this.cfg.instances.addresses;
    const used = new Set(this.addressOf.values());
    for (let k = 0; k < range.count; k++) {
      const i = (this.nextAddress + k) % range.count;
      const a = addressAt(range, i);
      if (used.has(a)) continue;
      this.nextAddress = (i + 1) % range.count;
      this.addressOf.set(id, a);
      return a;
    }
    return undefined;
  }

  private launch(id: string): void {
    const address = this.allocateAddress(id);
    if (!address) {
      queueMicrotask(() =>
        this.dispatch({
          type: "launch-failed",
          instanceId: id,
          reason: "no free address in instances.addresses",
        }),
      );
      return;
    }
    // the instance boots the config ref of the launch template version the group launched it from
    const template = this.refresh.version(this.state.instances.find((i) => i.id === id)?.version);
    const ref = template.version > 1 && template.commit ? template.commit : template.ref;
    const inst = new FleetInstance({
      id,
      address,
      bootId: randomUUID(),
      dir: path.join(this.cfg.stateDir, "instances", id),
      cfg:
        ref === this.cfg.repositories.ref
          ? this.cfg
          : { ...this.cfg, repositories: { ...this.cfg.repositories, ref } },
      imageDir: this.imageDir,
      autoscalingUrl: this.asg.url,
      logsUrl: this.logs.url,
      availabilityZone: this.state.instances.find((i) => i.id === id)?.zone,
      instanceProfile: this.instanceProfile(id),
      configRepoUrl: this.git.repoUrl("config.git"),
      appRepoUrl: this.git.repoUrl("app.git"),
      node: this.node,
      musterBin: this.opts.musterBin,
      metadataFault: this.metadataFault,
      onProcess: (r) => this.recordPid(r.pid, r.role, r.start),
      onBootExit: (code, sig) => this.onBootExit(inst, code, sig),
      onDied: (reason) => this.dispatch({ type: "instance-died", instanceId: id, reason }),
      log: (m) => this.record("note", m, id),
    });
    this.instances.set(id, inst);
    this.record("fleet", `launching on ${address} (root ${inst.root})`, id);
    inst.launch().then(
      () => {
        if (this.closing) return;
        this.dispatch({ type: "instance-launched", instanceId: id });
        inst.startBoot();
      },
      (err) => this.dispatch({ type: "launch-failed", instanceId: id, reason: errorMessage(err) }),
    );
  }

  /** The instance's role, as its metadata service serves it. */
  private instanceProfile(id: string): InstanceProfile {
    const role = this.cfg.instances.iamRole;
    return { roleName: role.name, credentials: () => this.issuer.roleKeys(role.name, id, role.policy) };
  }

  private onBootExit(inst: FleetInstance, code: number | null, sig: string | null): void {
    const r = inst.bootRecord();
    const how = sig ? `killed by ${sig}` : `exit ${code}`;
    const what =
      r?.outcome === "open"
        ? `gate open (role ${r.role}, app ${r.appRevision?.slice(0, 7)}) in ${((r.durationMs ?? 0) / 1000).toFixed(2)} s${r.lifecycle && !r.lifecycle.ok ? `; lifecycle ${r.lifecycle.result} NOT sent: ${r.lifecycle.error}` : ""}`
        : r?.outcome === "failed"
          ? `FAILED at ${r.failedStage}: ${r.error}${r.lifecycle ? `; lifecycle ${r.lifecycle.result}${r.lifecycle.ok ? "" : " NOT sent"}` : ""}`
          : r?.outcome === "leaving"
            ? `told to leave before its gate opened (${r.departure}); gate kept closed${r.lifecycle ? `; lifecycle ${lifecycleOutcome(r.lifecycle, r.outcome)}` : ""}`
            : (r?.outcome ?? "no record");
    this.record("boot", `muster boot ${how}: ${what}`, inst.id);
  }

  private terminate(id: string): void {
    const inst = this.instances.get(id);
    if (!inst) {
      queueMicrotask(() => this.dispatch({ type: "instance-died", instanceId: id, reason: "never started" }));
      return;
    }
    inst
      .stop()
      .catch((err) => this.record("error", errorMessage(err), id))
      .finally(() => {
        this.addressOf.delete(id);
        this.dispatch({ type: "instance-died", instanceId: id, reason: "stopped" });
      });
  }

  /** A failure record reached CloudWatch Logs: kept by instance, and said in the event log. */
  private onLogEvents(stream: string, events: { message: string }[]): void {
    for (const e of events) {
      const r = parseFailureRecord(e.message);
      if (!r) continue;
      const id = r.instanceId ?? stream;
      this.failures.set(id, r);
      this.record("boot", `failure record: ${failureSummary(r)}`, this.instances.has(id) ? id : undefined);
    }
  }

  /** The instance's boot failure record: from CloudWatch Logs, else the last one on its console. */
  failureOf(id: string): FailureRecord | undefined {
    const logged = this.failures.get(id);
    if (logged) return logged;
    const text = this.instances.get(id)?.consoleOutput();
    return text ? recordFromConsole(text) : undefined;
  }

  private sampleMetric(periodMs: number): void {
    const now = Date.now();
    while (this.requestTimes.length > 0 && this.requestTimes[0]! <= now - 2 * periodMs)
      this.requestTimes.shift();
    const healthy = this.lb.describeTargets().filter((t) => t.state === "healthy").length;
    const sample = requestsPerTarget(
      this.requestTimes.map((time) => ({ time })),
      now - periodMs,
      now,
      healthy,
    );
    if (sample.requestsPerTarget !== undefined)
      this.dispatch({ type: "metric", requestsPerTarget: sample.requestsPerTarget });
  }

  private recordPid(pid: number, role: string, start?: string): void {
    // one record per process (pid and start time): an in-process service (muster-health in its
    // supervisor) is not a process of its own, and a reused pid is another process
    const at = start ?? procStart(pid);
    if (this.pids.some((p) => p.pid === pid && p.start === at)) return;
    this.pids.push({ pid, start: at, role });
    clearTimeout(this.pidsTimer);
    this.pidsTimer = setTimeout(() => this.savePids(), 200);
  }

  private savePids(): void {
    try {
      replaceNoFollow(
        path.join(this.cfg.stateDir, FLEET_FILES.pids),
        `${JSON.stringify(this.pids, null, 2)}\n`,
      );
    } catch {}
  }

  /** Every process the fleet started, running or not (the daemon included). */
  startedProcesses(): PidRecord[] {
    for (const inst of this.instances.values())
      for (const p of inst.processes) this.recordPid(p.pid, p.role, p.start);
    return [...this.pids];
  }

  // ---- requests from the CLI ----

  /** The commit a config ref names in the fleet's config repository. */
  private async resolveConfigRef(ref: string): Promise<string> {
    const gitDir = path.join(this.cfg.stateDir, "repos", "config.git");
    const r = await execOk(
      ["git", "--git-dir", gitDir, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`],
      { timeoutMs: 10_000 },
    ).catch(() => undefined);
    const commit = r?.stdout.trim();
    if (!commit)
      throw new InputError(
        `fleet refresh --ref ${ref}: the fleet's config repository has no branch, tag or commit "${ref}"; \`git log\` in it lists them`,
      );
    return commit;
  }

  /**
   * `muster fleet refresh --ref REV`: a new launch template version carrying REV (resolved to a
   * commit), and an instance refresh to it, as StartInstanceRefresh with that DesiredConfiguration.
   */
  async startRefresh(
    ref: string,
    preferences: StartRefreshRequest["preferences"],
  ): Promise<{ id: string; version: number; commit: string }> {
    const commit = await this.resolveConfigRef(ref);
    const active = this.refresh.active();
    if (active)
      throw new InputError(
        `fleet refresh: instance refresh ${active.id} is ${active.status}; wait for it to end, or cancel it (aws autoscaling cancel-instance-refresh)`,
      );
    const v = this.refresh.addVersion(ref, commit);
    try {
      const id = this.refresh.start({
        group: this.cfg.group.name,
        preferences,
        desiredConfiguration: {
          launchTemplate: {
            name: this.cfg.group.launchTemplate.name,
            version: this.refresh.label(v.version),
          },
        },
      });
      return { id, version: v.version, commit };
    } catch (err) {
      throw err instanceof QueryError ? new InputError(`fleet refresh: ${err.message}`) : err;
    }
  }

  /** The group's instance refreshes, newest first. */
  instanceRefreshes(): InstanceRefreshView[] {
    return this.refresh.list(this.cfg.group.name);
  }

  scale(desired: number): { from: number; to: number } {
    if (!Number.isInteger(desired) || desired < 0)
      throw new InputError(`fleet scale ${desired}: expected a whole number >= 0`);
    // as SetDesiredCapacity answers (ValidationError), not clamped: a typo is no scale-out to max
    const { min, max } = this.state.config;
    if (desired > max || desired < min)
      throw new InputError(
        `fleet scale ${desired}: ${desired > max ? `above the group's max ${max}` : `below the group's min ${min}`}; scale within [${min}, ${max}], or change group.min/max in fleet.yaml`,
      );
    const from = this.state.desired;
    this.dispatch({ type: "set-desired", desired });
    return { from, to: this.state.desired };
  }

  private instanceFor(name: string): FleetInstance {
    const id = resolveInstanceId(name, [...this.instances.keys()]);
    const inst = id ? this.instances.get(id) : undefined;
    if (!inst) throw new InputError(`no instance "${name}" in the fleet; \`muster fleet status\` lists them`);
    // as EC2 answers an action on a terminated instance: an error, not a success about nothing
    const state = this.state.instances.find((x) => x.id === inst.id)?.state;
    if (state === "Terminated")
      throw new InputError(`${inst.id} is Terminated; \`muster fleet status\` lists the running instances`);
    return inst;
  }

  async fault(f: FleetFault): Promise<string> {
    let msg: string;
    switch (f.kind) {
      case "git-down":
        await this.git.setFault({ ...this.git.fault, down: true });
        msg = "git server down (connections refused)";
        break;
      case "git-up":
        await this.git.setFault({});
        msg = "git server up";
        break;
      case "git-slow":
        await this.git.setFault(f.ms > 0 ? { delayMs: f.ms } : {});
        msg = f.ms > 0 ? `git server slow: every request waits ${f.ms} ms` : "git server no longer slow";
        break;
      case "metadata-slow":
        this.metadataFault = f.ms > 0 ? { kind: "slow", delayMs: f.ms } : undefined;
        await Promise.all([...this.instances.values()].map((i) => i.setMetadataFault(this.metadataFault)));
        msg =
          f.ms > 0
            ? `metadata service slow: every answer waits ${f.ms} ms`
            : "metadata service no longer slow";
        break;
      case "kill": {
        const inst = this.instanceFor(f.instance);
        inst.kill();
        msg = `killed every process of ${inst.id} (SIGKILL)`;
        break;
      }
      case "break-health": {
        const inst = this.instanceFor(f.instance);
        inst.breakHealth();
        msg = `closed the gate of ${inst.id}: its health check fails from now on`;
        break;
      }
      case "spot-interrupt":
        msg = this.spotInterrupt(this.instanceFor(f.instance));
        break;
    }
    this.record("fault", msg, "instance" in f ? this.instanceFor(f.instance).id : undefined);
    return msg;
  }

  /**
   * EC2 interrupts a spot instance: the notice in its metadata now, and the instance terminated
   * (its processes stopped, as a shutdown stops them) when the notice's time comes. The group
   * hears of it as the instance's death and replaces it, as Auto Scaling does.
   */
  private spotInterrupt(inst: FleetInstance): string {
    const noticeMs = this.cfg.instances.spotNoticeMs;
    const time = new Date(Date.now() + noticeMs).toISOString().replace(/\.\d{3}Z$/, "Z");
    inst.announceSpotInterruption({ action: "terminate", time });
    const timer = setTimeout(() => {
      if (this.closing) return;
      this.record("fault", "spot interruption: EC2 terminates the instance", inst.id);
      this.terminate(inst.id);
    }, noticeMs);
    timer.unref();
    return `spot interruption announced for ${inst.id}: terminated at ${time} (in ${noticeMs / 1000} s)`;
  }

  status(): FleetStatus {
    const s = this.state;
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      stateDir: this.cfg.stateDir,
      source: this.cfg.source,
      loadBalancer: {
        kind: this.lb.kind,
        url: this.lb.url,
        accessLog: this.lb.accessLogPath,
        targets: this.lb.describeTargets(),
        ...this.lb.processState(),
      },
      gitServer: { url: this.git.url, fault: this.git.fault },
      autoscalingUrl: this.asg.url,
      logsUrl: this.logs.url,
      failureLogGroup: failureLogGroup(this.cfg.group.name),
      region: this.cfg.group.region,
      metadataFault: this.metadataFault,
      group: {
        name: s.config.name,
        min: s.config.min,
        max: s.config.max,
        desired: s.desired,
        counts: countByState(s),
        launchFailures: s.launchFailures ?? 0,
        launchTemplate: this.refresh.version(this.refresh.groupVersion),
        healthCheckType: s.config.healthCheckType,
        healthCheckGracePeriodMs: s.config.healthCheckGracePeriodMs,
        launchHook: s.config.launchHook,
        terminateHook: s.config.terminateHook,
      },
      instanceRefresh: this.refresh.list(s.config.name)[0],
      targetGroup: this.cfg.loadBalancer.settings,
      template: this.cfg.template,
      instances: s.instances.map((i) => this.instanceStatus(i.id)),
      processes: stillRunning(this.startedProcesses()),
      dashboard: this.dashboardUrl ? { url: this.dashboardUrl } : undefined,
    };
  }

  private instanceStatus(id: string): InstanceStatus {
    const i = this.state.instances.find((x) => x.id === id)!;
    const inst = this.instances.get(id);
    const rec = inst?.bootRecord();
    const gate = inst ? safeGate(inst) : { state: "closed" };
    const served = this.served.get(id);
    return {
      id,
      address: inst?.address ?? this.addressOf.get(id) ?? "",
      state: i.state,
      health: i.health,
      targetState: i.targetState,
      launchedAt: i.launchedAt,
      inServiceAt: i.inServiceAt,
      terminatedAt: i.terminatedAt,
      cause: i.cause,
      lifecycleTimeoutAt: i.lifecycleAction?.timeoutAt,
      launchTemplateVersion: i.version ?? 1,
      configRef: this.refresh.version(i.version).ref,
      configMatches: rec?.configRevision
        ? rec.configRevision === this.refresh.version(this.refresh.groupVersion).commit
        : undefined,
      root: inst?.root ?? "",
      bootId: inst?.bootId ?? "",
      boot: {
        running: inst?.bootRunning ?? false,
        startedAt: inst?.bootStartedAt,
        pipelineStartedAt: rec?.startedAt ? Date.parse(rec.startedAt) : undefined,
        exitCode: inst?.bootExit?.code,
        outcome: rec?.outcome,
        failedStage: rec?.failedStage,
        error: rec?.error,
        attempts: rec?.attempts,
        appRevision: rec?.appRevision,
        configRevision: rec?.configRevision,
        durationMs: rec?.durationMs,
        transferMs: rec?.transferMs,
        cpu: rec?.cpu,
        stages: rec?.stages.map(({ stage, attempt, ok, durationMs }) => ({ stage, attempt, ok, durationMs })),
        lifecycle: rec?.lifecycle
          ? { result: rec.lifecycle.result, ok: rec.lifecycle.ok, error: rec.lifecycle.error }
          : undefined,
      },
      gate,
      failure: this.failureOf(id),
      requests: served?.count ?? 0,
      firstRequestAt: served?.first,
      lastRequestAt: served?.last,
    };
  }

  /**
   * Stop everything: every instance (all their processes), the load balancer, the emulators and
   * the git server. Resolves with the processes still running afterwards (none, normally).
   */
  shutdown(): Promise<PidRecord[]> {
    this.closing ??= this.doShutdown();
    return this.closing;
  }

  private async doShutdown(): Promise<PidRecord[]> {
    clearTimeout(this.tickTimer);
    clearInterval(this.metricTimer);
    clearTimeout(this.lbRestartTimer);
    this.record("fleet", "fleet down: stopping every instance and service");
    const stops = await Promise.allSettled([...this.instances.values()].map((i) => i.stop()));
    for (const s of stops) if (s.status === "rejected") this.record("error", errorMessage(s.reason));
    await this.lb?.close().catch((err) => this.record("error", `load balancer: ${errorMessage(err)}`));
    await this.git?.close().catch(() => {});
    await this.asg?.close().catch(() => {});
    await this.logs?.close().catch(() => {});
    const started = this.startedProcesses().filter((p) => p.pid !== process.pid);
    let left = stillRunning(started);
    for (const p of left) signal(p.pid, "SIGKILL");
    left = await waitGone(left, 3000);
    clearTimeout(this.pidsTimer);
    this.savePids();
    this.record(
      "fleet",
      left.length === 0
        ? `fleet down: ${started.length + 1} processes started (this daemon included), none left`
        : `fleet down: ${left.length} processes left: ${left.map((p) => `${p.pid} (${p.role})`).join(", ")}`,
    );
    return left;
  }
}

function safeGate(inst: FleetInstance): InstanceStatus["gate"] {
  try {
    const v = inst.gate();
    if (v.state === "open") return { state: "open", openedAt: v.record.openedAt };
    return { state: v.state, reason: v.reason };
  } catch (err) {
    return { state: "closed", reason: errorMessage(err) };
  }
}

/** One event as a human line: `12:00:01.234 i-00000000000000003  Pending -> Pending:Wait: ...`. */
export function formatEvent(e: FleetEvent): string {
  const t = new Date(e.time).toISOString().slice(11, 23);
  return `${t} ${(e.instanceId ?? "").padEnd(19)} ${e.kind.padEnd(10)} ${e.message}`;
}
