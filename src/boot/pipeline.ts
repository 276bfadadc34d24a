/**
 * The boot pipeline: close gate -> lock -> [identify -> fetch -> verify -> deps -> role ->
 * converge -> checks] -> departure check -> open gate -> complete the lifecycle action (CONTINUE).
 *
 * The departure check asks the metadata service whether the instance was told to leave while it
 * booted; then the gate stays closed and the launch action completes with ABANDON (outcome
 * leaving, not a failure).
 *
 * The bracketed stages form one attempt; a failed attempt is tried again by the retry policy
 * (plan.ts decides), and when it gives up the gate stays closed and the lifecycle action
 * completes with ABANDON, once, after the boot's failure record is written where it outlives the
 * instance (reportFailure). Stages, gate, lock, lifecycle and clock are handed in, so the
 * whole flow runs in tests with fakes; boot.ts wires the real ones.
 */
import type { InstanceIdentity, MetadataSession } from "../cloud/metadata.ts";
import { errorMessage } from "../core/errors.ts";
import { redactUrl } from "../resources/git-env.ts";
import type { RunReport } from "../runner/report.ts";
import {
  type AttemptStage,
  attemptStages,
  decideRetry,
  failureActions,
  finishStages,
  isWarming,
  type PlanInput,
  type RetryPolicy,
  type RunMode,
  type StageName,
} from "./plan.ts";
import type { BootRecord } from "./state.ts";

/** What the stages find out, handed from one stage to the next within an attempt. */
export interface Facts {
  identity?: InstanceIdentity;
  /** identify's metadata session (the departure-check reads through it) */
  metadata?: MetadataSession;
  checkout?: { dir: string; commit: string; transferMs?: number };
  role?: string;
  report?: RunReport;
}

export interface StageContext {
  facts: Facts;
  attempt: number;
  /** ms left before the run's overall deadline (never below 1) */
  remainingMs(): number;
}

export type StageFn = (ctx: StageContext) => Promise<void>;

export interface GatePort {
  close(): void;
  open(facts: Facts): void;
  /** open for the current boot */
  isOpen(): boolean;
}

export interface LifecyclePort {
  /** "none": no lifecycle action was waiting (its heartbeat timeout passed, or no hook launched it) */
  complete(result: "CONTINUE" | "ABANDON", facts: Facts): Promise<"completed" | "none">;
  /** Start heartbeats once the instance is known; returns the stop function. */
  startHeartbeats(facts: Facts): (() => Promise<void>) | undefined;
}

export interface PipelineOptions {
  mode: RunMode;
  runId: string;
  bootId: string;
  pid: number;
  plan: PlanInput;
  policy: RetryPolicy;
  onFailure: "abandon" | "none";
  closeGateOnPeriodicFailure: boolean;
  stages: Record<AttemptStage, StageFn>;
  gate: GatePort;
  /** "busy" when another run holds the lock and this one should not wait (periodic runs) */
  lock(): Promise<{ release(): void } | "busy">;
  lifecycle?: LifecyclePort;
  /**
   * The departure-check (plan.ts): why the instance is leaving, read from the metadata service
   * just before the gate would open, or undefined when it may serve. A failed read fails the boot.
   */
  departing?(facts: Facts): Promise<string | undefined>;
  /**
   * A boot that gives up leaves its failure record where it outlives the instance (the console,
   * CloudWatch Logs), before the ABANDON. Its failure is logged and changes nothing else.
   */
  reportFailure?(record: BootRecord, facts: Facts): Promise<void>;
  save(record: BootRecord): void;
  log(event: string, fields?: Record<string, unknown>): void;
  say(line: string): void;
  now(): number;
  /** CPU time this process has used so far, ms (recorded at the start and the end of the run) */
  cpuMs?(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
  /** errors that trying again cannot fix */
  isPermanent(err: unknown): boolean;
}

class StageFailure extends Error {
  constructor(
    readonly stage: StageName,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** One line, credentials in URLs hidden. */
export function describeError(err: unknown): string {
  return redactUrl(errorMessage(err).split("\n")[0] ?? "");
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export async function runPipeline(o: PipelineOptions): Promise<BootRecord> {
  const t0 = o.now();
  const cpuBeforeRunMs = o.cpuMs?.();
  const record: BootRecord = {
    runId: o.runId,
    mode: o.mode,
    bootId: o.bootId,
    pid: o.pid,
    startedAt: new Date(t0).toISOString(),
    outcome: "running",
    attempts: 0,
    stages: [],
  };
  const facts: Facts = {};
  let lock: { release(): void } | "busy" | undefined;
  let stopHeartbeats: (() => Promise<void>) | undefined;
  const remainingMs = () => Math.max(1, o.policy.deadlineMs - (o.now() - t0));

  // A periodic run that finds the lock held skips: its record must not replace the record of the
  // run holding the lock (a boot in progress would read as a skipped run, exit 0, in `status`).
  // So it writes none until it holds the lock; a boot waits for the lock and records from the start.
  const save = () => {
    if (o.mode === "periodic" && (lock === undefined || lock === "busy")) return;
    try {
      o.save(record);
    } catch (err) {
      o.log("state.error", { error: describeError(err) });
    }
  };

  const timed = async <T>(stage: StageName, attempt: number, fn: () => Promise<T> | T): Promise<T> => {
    const started = o.now();
    o.log("stage.start", { stage, attempt });
    try {
      const value = await fn();
      const durationMs = o.now() - started;
      record.stages.push({ stage, attempt, ok: true, durationMs });
      o.log("stage.end", { stage, attempt, durationMs });
      o.say(`  ${stage} ok (${secs(durationMs)})`);
      return value;
    } catch (err) {
      const durationMs = o.now() - started;
      const error = describeError(err);
      record.stages.push({ stage, attempt, ok: false, durationMs, error });
      o.log("stage.failed", { stage, attempt, durationMs, error });
      o.say(`  ${stage} FAILED: ${error}`);
      throw new StageFailure(stage, error, o.isPermanent(err));
    } finally {
      save();
    }
  };

  const stopBeats = async () => {
    const stop = stopHeartbeats;
    stopHeartbeats = undefined;
    if (stop) await stop();
  };

  /** Stop the heartbeats and complete the lifecycle action (when there is one), once; recorded. */
  const completeLifecycle = async (result: "CONTINUE" | "ABANDON") => {
    await stopBeats();
    const lifecycle = o.lifecycle;
    if (!lifecycle) return;
    try {
      const done = await timed("lifecycle", record.attempts, () => lifecycle.complete(result, facts));
      record.lifecycle = { result, ok: true, ...(done === "none" ? { noAction: true } : {}) };
    } catch (err) {
      record.lifecycle = { result, ok: false, error: (err as Error).message };
    }
  };

  const fail = async (f: StageFailure) => {
    record.outcome = "failed";
    record.failedStage = f.stage;
    record.error = f.message;
    o.say(
      `muster ${o.mode}: failed at stage ${f.stage}: ${f.message}${record.gaveUp ? ` (${record.gaveUp})` : ""}`,
    );
    const acts = failureActions({
      mode: o.mode,
      lifecycle: o.lifecycle !== undefined,
      onFailure: o.onFailure,
      closeGateOnPeriodicFailure: o.closeGateOnPeriodicFailure,
    });
    if (acts.closeGate) {
      try {
        o.gate.close();
        o.log("gate.closed", { why: `stage ${f.stage} failed` });
      } catch (err) {
        o.log("gate.error", { error: describeError(err) });
      }
    }
    if (o.mode === "boot" && o.reportFailure) {
      try {
        await o.reportFailure(record, facts);
      } catch (err) {
        o.log("failure-record.error", { error: describeError(err) });
      }
    }
    if (acts.abandon) await completeLifecycle("ABANDON");
    else await stopBeats();
  };

  /**
   * After a failed `attempt`: true once the retry policy's pause is over (logged and said), false
   * when it gives up (record.gaveUp says why).
   */
  const pauseToRetry = async (err: StageFailure, attempt: number, what: string): Promise<boolean> => {
    const decision = decideRetry({
      policy: o.policy,
      attempt,
      elapsedMs: o.now() - t0,
      permanent: err.permanent,
      random: o.random(),
    });
    if (!decision.retry) {
      record.gaveUp = decision.reason;
      return false;
    }
    o.log("run.retry", { stage: err.stage, attempt, delayMs: decision.delayMs });
    o.say(`muster ${o.mode}: ${what}; trying again in ${secs(decision.delayMs)}`);
    await o.sleep(decision.delayMs);
    return true;
  };

  /**
   * The departure-check, tried again as an attempt is (backoff, attempts, deadline): a metadata
   * service that hiccups for a second must not throw away a server that is built. Only the read
   * is tried again, not the attempt: the converge is done.
   */
  const checkDeparture = async (departing: NonNullable<PipelineOptions["departing"]>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await timed("departure-check", attempt, () => departing(facts));
      } catch (err) {
        if (!(err instanceof StageFailure)) throw err;
        if (!(await pauseToRetry(err, attempt, "departure check failed"))) throw err;
      }
    }
  };

  /**
   * Converged, but told to leave before the gate opened: the gate stays closed (it was closed at
   * the start) and the launch action is abandoned, so the group replaces the instance now instead
   * of putting it in service for the minutes it has left. Not a failure: `muster watch` takes the
   * departure from here (no drain: it never served).
   */
  const leave = async (why: string) => {
    record.outcome = "leaving";
    record.departure = why;
    o.log("boot.leaving", { why });
    o.say(`muster boot: this instance is leaving (${why}): gate kept closed`);
    await completeLifecycle("ABANDON");
  };

  save();
  // the run log carries the mode on every line already
  o.log("run.start", { bootId: o.bootId, pid: o.pid });
  try {
    if (o.mode === "boot") await timed("close-gate", 0, () => o.gate.close());
    await timed("lock", 0, async () => {
      lock = await o.lock();
    });
    if (lock === "busy") {
      record.outcome = "skipped";
      record.gaveUp = "another muster run holds the lock";
      o.say(`muster ${o.mode}: another run holds the lock; skipped`);
      return record;
    }
    const gateWasOpen = o.mode === "periodic" ? o.gate.isOpen() : false;

    for (let attempt = 1; ; attempt++) {
      record.attempts = attempt;
      try {
        for (const stage of attemptStages(o.plan)) {
          await timed(stage, attempt, () => o.stages[stage]({ facts, attempt, remainingMs }));
          noteFacts(record, facts);
          if (stage === "identify" && o.mode === "boot" && o.lifecycle && !stopHeartbeats)
            stopHeartbeats = o.lifecycle.startHeartbeats(facts);
        }
        break;
      } catch (err) {
        if (!(err instanceof StageFailure)) throw err;
        if (!(await pauseToRetry(err, attempt, `attempt ${attempt} failed`))) {
          o.log("run.gave-up", { stage: err.stage, attempt, reason: record.gaveUp });
          await fail(err);
          return record;
        }
      }
    }

    const warming = isWarming(facts.identity?.targetLifecycleState);
    const finish = finishStages({
      mode: o.mode,
      warming,
      lifecycle: o.lifecycle !== undefined,
      metadata: o.plan.metadata && o.departing !== undefined,
      gateWasOpen,
    });
    for (const stage of finish) {
      if (stage === "departure-check" && o.departing) {
        const leaving = await checkDeparture(o.departing);
        if (leaving) {
          await leave(leaving);
          return record;
        }
      } else if (stage === "open-gate") {
        try {
          await timed("open-gate", record.attempts, () => o.gate.open(facts));
        } catch (err) {
          try {
            o.gate.close();
          } catch {}
          if (err instanceof StageFailure) {
            record.gaveUp = "opening the gate failed";
            await fail(err);
            return record;
          }
          throw err;
        }
      } else if (stage === "lifecycle") {
        // a CONTINUE that fails leaves the server set up with its gate open: the hook's own
        // timeout and default result decide then, and exit 1 tells the operator (and systemd)
        await completeLifecycle("CONTINUE");
      }
    }
    record.outcome = o.mode === "periodic" ? "converged" : warming ? "warmed" : "open";
    if (warming)
      o.say(
        `muster boot: instance is being warmed (${facts.identity?.targetLifecycleState}); converged, gate left closed`,
      );
    return record;
  } catch (err) {
    if (err instanceof StageFailure) {
      record.gaveUp ??= `stage ${err.stage} is not retried`;
      await fail(err);
      return record;
    }
    throw err;
  } finally {
    await stopBeats();
    if (lock && lock !== "busy") lock.release();
    const t1 = o.now();
    record.finishedAt = new Date(t1).toISOString();
    record.durationMs = t1 - t0;
    if (o.cpuMs && cpuBeforeRunMs !== undefined)
      record.cpu = { beforeRunMs: cpuBeforeRunMs, totalMs: o.cpuMs() };
    o.log("run.end", {
      outcome: record.outcome,
      failedStage: record.failedStage,
      error: record.error,
      attempts: record.attempts,
      role: record.role,
      configRevision: record.configRevision,
      appRevision: record.appRevision,
      lifecycle: record.lifecycle,
      durationMs: record.durationMs,
    });
    save();
  }
}

function noteFacts(record: BootRecord, facts: Facts): void {
  if (facts.identity) {
    record.instanceId = facts.identity.instanceId;
    record.targetLifecycleState = facts.identity.targetLifecycleState;
  }
  if (facts.checkout) {
    record.configRevision = facts.checkout.commit;
    record.transferMs = facts.checkout.transferMs;
  }
  if (facts.role) record.role = facts.role;
  if (facts.report) record.appRevision = facts.report.appRevision;
}

/** 0 when the run did what it should (served, warmed, left before serving, converged, skipped), else 1. */
export function exitCode(record: BootRecord): number {
  if (record.outcome === "failed" || record.outcome === "running") return 1;
  if (record.lifecycle && !record.lifecycle.ok) return 1;
  return 0;
}
