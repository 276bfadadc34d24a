/**
 * `muster watch` (muster-watch.service): the other half of a server's life. It polls the metadata
 * service every `watch.interval` (IMDSv2: `autoscaling/target-lifecycle-state` and
 * `spot/instance-action`, each poll bounded) and, when the server is leaving, carries out what
 * departure-plan.ts decides: close the gate, wait for the drain, converge the role's shutdown run
 * list, complete the terminate hook with CONTINUE, with heartbeats meanwhile. Each step lands in
 * STATE/departure.json and ROOT/var/log/muster/watch.log.
 */
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { completeLifecycleAction, type LifecycleTarget, startHeartbeats } from "../cloud/lifecycle.ts";
import {
  type InstanceIdentity,
  openMetadataSession,
  readDepartureSignals,
  readIdentity,
} from "../cloud/metadata.ts";
import { InputError, RunError } from "../core/errors.ts";
import { currentBootId } from "../gate/boot-id.ts";
import { closeGate, readGate } from "../gate/gate-file.ts";
import { establishedConnections } from "../host/connections.ts";
import { pathExists } from "../host/host-files.ts";
import { RootFs } from "../host/root-fs.ts";
import { openRunLog, type RunLog } from "../runner/run-log.ts";
import { hookTarget } from "./boot.ts";
import { type BootConfig, loadBootConfig } from "./boot-config.ts";
import {
  awaitsGroupTermination,
  type DepartureState,
  type DepartureTrigger,
  departureTrigger,
  nextDepartureAction,
  parseSpotNotice,
  stepAfter,
} from "./departure-plan.ts";
import { type DepartureRecord, type DepartureStepRecord, saveDepartureRecord } from "./departure-record.ts";
import { describeError } from "./pipeline.ts";
import { readRecord } from "./state.ts";

export interface WatchOptions {
  root: string;
  config?: string;
  bootId?: string;
  say?: (line: string) => void;
  env?: Record<string, string | undefined>;
  /** stop watching (tests; a service is stopped by SIGTERM) */
  signal?: AbortSignal;
  /**
   * take SIGTERM/SIGINT as a stop (the command does): a departure then records the step in
   * flight before the watch ends, instead of dying between CONTINUE's answer and its record
   */
  handleSignals?: boolean;
}

/**
 * How long CompleteLifecycleAction is tried again while no action waits yet. Auto Scaling puts
 * the instance in Terminating:Wait only after its target has been deregistered, which takes up
 * to the target group's deregistration delay (300 s by default, 3600 s at most: "Deregistration
 * delay", Elastic Load Balancing user guide); a minute gave up on most of them.
 */
const COMPLETE_WAIT_MS = 3_600_000;
/** between tries: 1 s at first, doubling up to this (a fleet scaled in at once must not be throttled) */
const COMPLETE_RETRY_MAX_MS = 15_000;

/** Wait `ms`, or until `signal` aborts; the listener goes with the wait (a watch polls for days). */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    if (signal?.aborted) return r();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      r();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** Watch until the server departs (exit 0 when every step worked, 1 otherwise). */
export async function runWatch(o: WatchOptions): Promise<number> {
  const fs = new RootFs(o.root);
  const cfg = loadBootConfig(fs.root, o.config);
  if (cfg.endpoints.metadata === "off")
    throw new InputError(
      `${cfg.file}: endpoints.metadata is "off": \`muster watch\` reads the target lifecycle state and spot notices from the metadata service; remove muster-watch.service on this host`,
    );
  const env = o.env ?? process.env;
  const bootId = currentBootId(o.bootId, env);
  // Once CONTINUE is taken the group terminates the instance at once: its shutdown sends this
  // service SIGTERM, maybe before CONTINUE's answer has been recorded. Node would die there and
  // leave a departure "running" for ever; a stop instead lets the step in flight end and be
  // recorded (the unit's stop timeout bounds how long), then ends the watch.
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => stop.abort(sig);
  const onAbort = () => stop.abort(o.signal?.reason);
  const say = o.say ?? (() => {});
  const log = openRunLog(fs.root, "watch.log", { runId: randomUUID() });
  const endpoint = cfg.endpoints.metadata;
  const timeoutMs = cfg.timeouts.metadataMs;
  let served = false;
  let lastError: string | undefined;
  let lastState: string | undefined;
  /** a spot departure done, whose terminate hook the group may still start (awaitsGroupTermination) */
  let spotDeparted: DepartureRecord | undefined;
  o.signal?.addEventListener("abort", onAbort, { once: true });
  if (o.handleSignals) for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  try {
    // one session for the whole watch: a token that lasts (renewed when the service rejects it)
    const session = await openMetadataSession({
      endpoint,
      timeoutMs,
      retries: 1,
      backoffMs: Math.min(200, timeoutMs),
      deadlineMs: Math.max(2000, timeoutMs * 3),
      tokenTtlSeconds: 21_600,
    });
    say(`muster watch: polling ${session.endpoint} every ${cfg.watch.intervalMs / 1000} s (boot ${bootId})`);
    log.event("watch.start", { bootId, intervalMs: cfg.watch.intervalMs });
    while (!stop.signal.aborted) {
      served ||= readGate(fs, cfg.gate.file, bootId).state === "open";
      try {
        const signals = await readDepartureSignals(session);
        lastError = undefined;
        if (signals.targetLifecycleState !== lastState) {
          lastState = signals.targetLifecycleState;
          log.event("target-state", { state: lastState ?? null });
        }
        const trigger = departureTrigger({
          targetState: signals.targetLifecycleState,
          spot: parseSpotNotice(signals.spotInstanceAction),
          served,
        });
        const departNow = (t: DepartureTrigger, done?: DepartureRecord) =>
          depart(cfg, fs, env, bootId, t, signals.targetLifecycleState, log, say, stop.signal, done);
        if (trigger && spotDeparted) {
          // the spot departure is done; only the group's own termination is awaited
          if (trigger.hookAction) return (await departNow(trigger, spotDeparted)).code;
        } else if (trigger) {
          const { code, record } = await departNow(trigger);
          if (stop.signal.aborted) return code;
          if (code === 0 && awaitsGroupTermination(trigger, cfg.lifecycle?.terminateHook !== undefined)) {
            spotDeparted = record;
            say("muster watch: waiting for the group to terminate it, to complete its terminate hook");
            log.event("departure.awaiting-group", { hook: cfg.lifecycle?.terminateHook });
          }
          // back in a warm pool the instance may serve again later: keep watching
          else if (trigger.reason !== "warm-pool") return code;
          else served = false;
        }
      } catch (err) {
        const e = describeError(err);
        if (e !== lastError) log.event("poll.error", { error: e });
        lastError = e;
      }
      await sleep(cfg.watch.intervalMs, stop.signal);
    }
    return 0;
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    o.signal?.removeEventListener("abort", onAbort);
    log.event("watch.end", {});
    log.close();
  }
}

async function depart(
  cfg: BootConfig,
  fs: RootFs,
  env: Record<string, string | undefined>,
  bootId: string,
  trigger: DepartureTrigger,
  targetState: string | undefined,
  log: RunLog,
  say: (l: string) => void,
  stopped: AbortSignal,
  /** a spot departure done before: only its terminate hook is left (awaitsGroupTermination) */
  done?: DepartureRecord,
): Promise<{ code: number; record: DepartureRecord }> {
  const boot = readRecord(fs, cfg.stateDir);
  const record: DepartureRecord = done
    ? { ...done, outcome: "running", finishedAt: undefined }
    : {
        bootId,
        pid: process.pid,
        instanceId: boot?.instanceId,
        reason: trigger.reason,
        cause: trigger.cause,
        startedAt: new Date().toISOString(),
        outcome: "running",
        steps: [],
        heartbeats: 0,
      };
  const save = () => {
    try {
      saveDepartureRecord(fs, cfg.stateDir, record);
    } catch (err) {
      log.event("state.error", { error: describeError(err) });
    }
  };
  const step = (s: Omit<DepartureStepRecord, "at">) => {
    record.steps.push({ ...s, at: new Date().toISOString() });
    log.event(`departure.${s.step}`, { ok: s.ok, durationMs: s.durationMs, detail: s.detail });
    say(`  ${s.step} ${s.ok ? "ok" : "FAILED"}${s.detail ? `: ${s.detail}` : ""}`);
    save();
  };
  if (done) {
    say("muster watch: the group is terminating it too: completing its terminate hook");
    log.event("departure.resume", { after: done.reason, cause: trigger.cause });
  } else {
    say(`muster watch: departing (${trigger.cause})`);
    log.event("departure.start", { reason: trigger.reason, cause: trigger.cause, drain: trigger.drain });
  }
  save();

  // the facts the boot gave recipes (node.instance), as they are now
  let identity: InstanceIdentity | undefined;
  try {
    identity = await readIdentity({
      endpoint: cfg.endpoints.metadata === "off" ? undefined : cfg.endpoints.metadata,
      timeoutMs: cfg.timeouts.metadataMs,
      retries: 1,
      deadlineMs: Math.max(5000, cfg.timeouts.metadataMs * 4),
      userData: false,
    });
    record.instanceId = identity.instanceId;
  } catch (err) {
    log.event("identity.error", { error: describeError(err) });
  }

  const hook = cfg.lifecycle?.terminateHook;
  let target: LifecycleTarget | undefined;
  if (hook) {
    try {
      target = hookTarget(cfg, fs, env, hook, identity);
    } catch (err) {
      record.error = describeError(err);
      log.event("lifecycle.error", { error: record.error });
    }
  }
  let stopBeats: (() => Promise<void>) | undefined;
  if (target)
    stopBeats = startHeartbeats(target, Math.max(1, cfg.lifecycle!.heartbeatIntervalMs), {
      onBeat: () => {
        record.heartbeats++;
        log.event("heartbeat", { hook });
        save();
      },
      onError: (err) => log.event("heartbeat.error", { error: describeError(err) }),
    });

  const state: DepartureState = {
    trigger,
    // gate closed, drained and shut down already: the hook is what is left
    step: done ? "shut-down" : "started",
    connections: 0,
    now: Date.now(),
    drainTimeoutMs: cfg.drain.timeoutMs,
    hook: hook !== undefined,
  };
  let failed = record.error !== undefined;
  const count = () =>
    cfg.drain.port === undefined ? 0 : establishedConnections(cfg.drain.port, cfg.drain.address);
  let lastCount = -1;
  try {
    for (;;) {
      state.now = Date.now();
      state.connections = state.step === "gate-closed" ? count() : 0;
      const a = nextDepartureAction(state);
      if (a.kind === "done") break;
      if (stopped.aborted) {
        // stopped before the departure's end: say where, rather than leave it "running"
        failed = true;
        record.error = `stopped (${String(stopped.reason)}) before its ${a.kind} step`;
        log.event("departure.stopped", { before: a.kind, signal: String(stopped.reason) });
        break;
      }
      const started = Date.now();
      switch (a.kind) {
        case "close-gate":
          try {
            closeGate(fs, cfg.gate.file);
            step({ step: "close-gate", ok: true, detail: cfg.gate.file });
          } catch (err) {
            failed = true;
            step({ step: "close-gate", ok: false, detail: describeError(err) });
          }
          state.drainStartedAt = Date.now();
          break;
        case "wait-drain":
          if (a.connections !== lastCount) log.event("drain.waiting", { connections: a.connections });
          lastCount = a.connections;
          await sleep(Math.min(500, cfg.watch.intervalMs), stopped);
          continue;
        case "drained": {
          const waitedMs = Date.now() - (state.drainStartedAt ?? Date.now());
          record.drain = { how: a.how, waitedMs, connectionsLeft: state.connections };
          step({
            step: "drain",
            ok: true,
            durationMs: waitedMs,
            detail:
              a.how === "idle"
                ? "no connection left"
                : a.how === "timeout"
                  ? `${state.connections} connection(s) left when the drain's time ran out`
                  : "never in service: nothing to drain",
          });
          break;
        }
        case "shutdown":
          try {
            const detail = await shutdownRunList(cfg, fs, env, bootId, identity, targetState, log);
            step({ step: "shutdown", ok: true, durationMs: Date.now() - started, detail });
          } catch (err) {
            failed = true;
            step({
              step: "shutdown",
              ok: false,
              durationMs: Date.now() - started,
              detail: describeError(err),
            });
          }
          break;
        case "complete": {
          await stopBeats?.();
          stopBeats = undefined;
          const result = await completeWhenWaiting(target!, log, stopped);
          record.lifecycle = { hook: hook!, result: "CONTINUE", ...result };
          if (!result.ok) failed = true;
          // the last step: once CONTINUE is taken the group terminates the instance at once, and
          // this process may not get to the end of the loop, so the outcome goes in with the step
          record.outcome = failed ? "failed" : "done";
          record.finishedAt = new Date().toISOString();
          step({
            step: "lifecycle",
            ok: result.ok,
            durationMs: Date.now() - started,
            detail: result.ok
              ? result.noAction
                ? "no action was waiting: the group's default result decided"
                : `CONTINUE sent on ${hook}`
              : result.error,
          });
          break;
        }
      }
      state.step = stepAfter(a, state.step);
    }
  } finally {
    await stopBeats?.();
  }
  record.outcome = failed ? "failed" : "done";
  record.finishedAt = new Date().toISOString();
  save();
  log.event("departure.end", { outcome: record.outcome, heartbeats: record.heartbeats });
  say(`muster watch: departure ${record.outcome}`);
  return { code: failed ? 1 : 0, record };
}

/**
 * CONTINUE on the terminate hook. The action may not wait yet: Auto Scaling puts the instance in
 * Terminating:Wait only once the load balancer has finished deregistering it, so "No active
 * Lifecycle Action" is tried again for a while before it counts as none.
 */
async function completeWhenWaiting(
  target: LifecycleTarget,
  log: RunLog,
  stopped: AbortSignal,
): Promise<{ ok: boolean; error?: string; noAction?: boolean }> {
  const until = Date.now() + COMPLETE_WAIT_MS;
  let tries = 0;
  for (;;) {
    try {
      await completeLifecycleAction({ ...target, result: "CONTINUE" });
      log.event("lifecycle.complete", {
        result: "CONTINUE",
        hook: target.hook,
        instanceId: target.instanceId,
      });
      return { ok: true };
    } catch (err) {
      const e = describeError(err);
      if (!/No active Lifecycle Action/i.test(e)) {
        log.event("lifecycle.error", { error: e });
        return { ok: false, error: e };
      }
      if (Date.now() > until) {
        log.event("lifecycle.none", { error: e });
        return { ok: true, noAction: true };
      }
      if (stopped.aborted) return { ok: false, error: `stopped while no action waited yet: ${e}` };
      await sleep(Math.min(COMPLETE_RETRY_MAX_MS, 1000 * 2 ** tries++), stopped);
    }
  }
}

/** Converge the role's shutdown run list on the checkout the boot converged from. */
async function shutdownRunList(
  cfg: BootConfig,
  fs: RootFs,
  env: Record<string, string | undefined>,
  bootId: string,
  identity: InstanceIdentity | undefined,
  targetState: string | undefined,
  log: RunLog,
): Promise<string> {
  const boot = readRecord(fs, cfg.stateDir);
  const checkout = fs.hostPath(path.posix.join(cfg.stateDir, "config"));
  if (!boot?.role || boot.bootId !== bootId || !pathExists(checkout))
    return "no role was converged on this boot: nothing to shut down";
  const { convergeSession } = await import("../runner/session.ts");
  const report = await convergeSession({
    repoDir: checkout,
    role: boot.role,
    root: fs.root,
    environment: cfg.environment,
    attrFlags: cfg.attributes ? [cfg.attributes] : [],
    instance: identity
      ? {
          instanceId: identity.instanceId,
          availabilityZone: identity.availabilityZone,
          region: identity.region,
          securityGroups: identity.securityGroups,
          tags: identity.tags,
          targetLifecycleState: targetState ?? identity.targetLifecycleState,
        }
      : undefined,
    runList: "shutdown",
    reserved: [
      { path: cfg.gate.file, why: `is the gate file (gate.file in ${cfg.file}), which only the boot writes` },
    ],
    lockWaitMs: 60_000,
    env,
  });
  log.event("shutdown.report", { outcome: report.outcome, totals: report.totals });
  if (report.outcome !== "converged") {
    const bad = report.resources.find((r) => r.status === "failed");
    throw new RunError(
      bad ? `${bad.id} failed: ${bad.error}` : `shutdown run list: ${report.error ?? "failed"}`,
    );
  }
  return `role ${boot.role}: ${report.resources.length} resource(s), ${report.totals.updated ?? 0} updated`;
}
