/**
 * The converge phase: the one choke point for change. Resources run in declaration order, each
 * through its step (step.ts: guards, prepare, read, diff, apply unless a dry run, read again to
 * verify). A failed resource stops the run (fail closed). What a change notifies runs at once
 * or, deduplicated, at the end (notifications.ts decides which and when); consecutive file
 * writes are fsynced together (write-group.ts).
 */
import { randomUUID } from "node:crypto";
import type { DeclaredResource } from "../core/declared.ts";
import type { ResourceContext, ResourceKind } from "../core/resource.ts";
import { resourceKinds } from "../resources/index.ts";
import type { CompiledRun } from "./compile.ts";
import { DryRunModel } from "./dry-run.ts";
import {
  afterNotifiedRun,
  enqueue,
  loopError,
  type NotificationGraph,
  notificationGraph,
  notificationsOf,
  notifiesImmediately,
  type Pending,
  refreshActions,
  unscheduledNote,
  unscheduleRefreshes,
} from "./notifications.ts";
import { changedSomething, type ResourceResult, type RunReport, totals } from "./report.ts";
import { RunStores } from "./run-stores.ts";
import { finishGroupedStep, planGroupedStep, runStep, type StepEnv } from "./step.ts";
import { groupable, WriteGroup } from "./write-group.ts";

export interface ConvergeOptions {
  dryRun: boolean;
  configRevision?: string;
  /** the config repo's directory inside the repository configRevision is a commit of */
  configSubdir?: string;
  runId?: string;
  /** called as each resource finishes (the human reporter prints from it) */
  onResult?: (r: ResourceResult) => void;
}

export async function converge(
  run: CompiledRun,
  ctx: ResourceContext,
  opts: ConvergeOptions,
): Promise<RunReport> {
  const started = Date.now();
  const env: StepEnv = {
    ctx,
    dryRun: opts.dryRun,
    stores: new RunStores(),
    revisions: new Map(),
    dryRunModel: new DryRunModel(),
  };
  const runner = new Converger(run.resources, env, opts.onResult);

  // slow look-ups (a git remote) start now and overlap with the resources declared before them;
  // a guarded resource may never be read, so nothing is started for it
  const prefetches = new AbortController();
  const prefetched: Promise<void>[] = [];
  for (const r of run.resources) {
    const kind = kindOf(r);
    if (kind.prefetch && r.common.onlyIf === undefined && r.common.notIf === undefined) {
      const done = kind.prefetch(ctx, r.props, prefetches.signal, env.stores.of(kind));
      if (done) prefetched.push(done);
    }
  }
  let error: string | undefined;
  try {
    await runner.runAll();
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    error = `${err.result.id} (${err.result.source ?? `recipe ${err.result.recipe}`}): ${err.result.error}`;
    // what was notified before the failure still runs, as Chef runs its queued delayed
    // notifications: the next run finds the changed file up to date and would never notify again
    // (the app would keep its old config for good). The first failure stays the run's error.
    try {
      await runner.runDelayed(err.result.id);
    } catch (again) {
      if (!(again instanceof Stop)) throw again;
    }
  } finally {
    prefetches.abort();
    await runner.discardOpenGroup();
    // nothing a prefetch started outlives the run (it holds the root's lock until it returns)
    await Promise.allSettled(prefetched);
  }

  // the first resource that stands for a revision (the application's git checkout): what it
  // converged to, changed or not
  const appRevision = run.resources
    .filter((r) => kindOf(r).revisionOf)
    .map((r) => env.revisions.get(r.id))[0];
  return {
    runId: opts.runId ?? randomUUID(),
    role: run.role,
    roles: run.roles,
    recipes: run.recipes,
    root: ctx.fs.root,
    dryRun: opts.dryRun,
    configRevision: opts.configRevision,
    ...(opts.configSubdir ? { configSubdir: opts.configSubdir } : {}),
    appRevision,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    outcome: error ? "failed" : "converged",
    error,
    resources: runner.results,
    totals: totals(runner.results),
  };
}

/** A failure that stops the run. */
class Stop extends Error {
  constructor(readonly result: ResourceResult) {
    super(result.error);
  }
}

function kindOf(r: DeclaredResource): ResourceKind {
  return resourceKinds[r.kind] as ResourceKind;
}

/** One run's order of steps: what runs when, and what is reported. */
class Converger {
  readonly results: ResourceResult[] = [];
  private readonly graph: NotificationGraph;
  /** delayed notifications, in the order first notified */
  private delayed: Pending[] = [];
  private readonly group: WriteGroup;
  /** the resources whose own step ran */
  private readonly reached = new Set<string>();
  /** the resource whose failure stopped the run, once the delayed notifications run after it */
  private stoppedAt: string | undefined;

  constructor(
    private readonly resources: readonly DeclaredResource[],
    private readonly env: StepEnv,
    private readonly onResult?: (r: ResourceResult) => void,
  ) {
    this.graph = notificationGraph(resources, (r) => kindOf(r).defaultNotifyAction ?? "refresh");
    this.group = new WriteGroup(
      env.ctx.fs,
      (started, writes) => finishGroupedStep(this.env, started, writes),
      (r, res) => this.settle(r, res),
    );
  }

  async runAll(): Promise<void> {
    for (const r of this.resources) {
      const kind = kindOf(r);
      if (groupable(r, kind, this.env.dryRun, notifiesImmediately(this.graph, r))) {
        const stop = await this.group.add(r, String(r.props[kind.nameProp]), () =>
          planGroupedStep(r, this.env),
        );
        if (stop) throw new Stop(stop);
        continue;
      }
      await this.flushGroup();
      const res = await runStep(r, this.env);
      this.unscheduleRefreshes(r, res);
      const stop = await this.settle(r, res);
      if (stop) throw new Stop(stop);
    }
    await this.flushGroup();
    await this.runDelayed();
  }

  /**
   * The delayed notifications, first notified first; one notified again after it ran (a build
   * that notifies the restart that already ran) runs again.
   */
  async runDelayed(stoppedAt?: string): Promise<void> {
    this.stoppedAt = stoppedAt;
    for (let next = this.delayed.shift(); next; next = this.delayed.shift()) await this.runNotified(next);
  }

  async discardOpenGroup(): Promise<void> {
    await this.group.discard();
  }

  private emit(res: ResourceResult): void {
    if (res.status === "would-update") this.env.dryRunModel.changesBefore++;
    this.results.push(res);
    this.onResult?.(res);
  }

  /** Report a resource's own step and notify what its change asks for; the failure that stops the run. */
  private async settle(r: DeclaredResource, res: ResourceResult): Promise<ResourceResult | undefined> {
    this.reached.add(r.id);
    this.emit(res);
    if (res.status === "failed") return r.common.ignoreFailure ? undefined : res;
    if (changedSomething(res.status)) await this.notify(r);
    return undefined;
  }

  private async flushGroup(): Promise<void> {
    const stop = await this.group.flush();
    if (stop) throw new Stop(stop);
  }

  private async notify(source: DeclaredResource, chain?: readonly string[]): Promise<void> {
    for (const p of notificationsOf(this.graph, source, chain)) {
      if (p.timing === "immediate") await this.runNotified(p);
      else this.delayed = enqueue(this.delayed, p);
    }
  }

  /** Run one notified action (a dry run reads and diffs it, guards included) and what it notifies. */
  private async runNotified(p: Pending): Promise<void> {
    const res = await runStep(p.target, this.env, { action: p.action, by: p.by });
    const next = afterNotifiedRun(p.chain, changedSomething(res.status), this.env.dryRun);
    if (next === "loop") {
      const loop: ResourceResult = { ...res, status: "failed", error: loopError(p.chain) };
      this.emit(loop);
      throw new Stop(loop);
    }
    // a target the failed run never reached lacks what its own step makes (a service's unit):
    // say so, or its error reads as a mistake in its declaration
    if (res.status === "failed" && this.stoppedAt !== undefined && !this.reached.has(p.target.id))
      res.error = `${res.error} (the run stopped at ${this.stoppedAt} before ${p.target.id} itself ran)`;
    // a restart run by a notification is a restart after the changes queued for a delayed one:
    // those are dropped as after the target's own step (an immediate restart, then the end)
    this.unscheduleRefreshes(p.target, res);
    this.emit(res);
    if (res.status === "failed" && !p.target.common.ignoreFailure) throw new Stop(res);
    if (next === "notify-on") await this.notify(p.target, p.chain);
  }

  /** A resource whose own apply did what a refresh does drops the refreshes queued for it. */
  private unscheduleRefreshes(r: DeclaredResource, res: ResourceResult): void {
    const kind = kindOf(r);
    if (!changedSomething(res.status) || !kind.refreshedBy?.(res.changes)) return;
    const { queue, dropped } = unscheduleRefreshes(
      this.delayed,
      r.id,
      refreshActions(kind.defaultNotifyAction),
    );
    if (dropped.length === 0) return;
    this.delayed = queue;
    const verb = res.changes.some((c) => c.key === "restart") ? "restart" : "start";
    const note = unscheduledNote(dropped, verb, this.env.dryRun);
    res.note = res.note ? `${res.note}; ${note}` : note;
  }
}
