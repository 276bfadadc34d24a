/**
 * The converge phase: the one choke point for change. Resources run in declaration order; for
 * each: guards, prepare, read, diff, and apply only when not a dry run; then read + diff again
 * must be empty or the resource "did not converge". A failed resource stops the run (fail
 * closed). Notifications run immediately or, deduplicated, at the end.
 */
import { randomUUID } from "node:crypto";
import type { DeclaredResource } from "../core/declared.ts";
import { errorMessage } from "../core/errors.ts";
import type { Change, Guard, ResourceContext, ResourceKind } from "../core/resource.ts";
import type { StagedWrite } from "../host/root-fs.ts";
import { resourceKinds } from "../resources/index.ts";
import { shellInvocation } from "../resources/shell-command.ts";
import type { CompiledRun } from "./compile.ts";
import { notificationTargets } from "./compile.ts";
import { type ResourceResult, type RunReport, totals } from "./report.ts";

export interface ConvergeOptions {
  dryRun: boolean;
  configRevision?: string;
  /** the config repo's directory inside the repository configRevision is a commit of */
  configSubdir?: string;
  runId?: string;
  /** called as each resource finishes (the human reporter prints from it) */
  onResult?: (r: ResourceResult) => void;
}

interface Pending {
  target: DeclaredResource;
  action: string;
  by: string;
  /** the resources whose notifications led to it, it last */
  chain: string[];
}

export async function converge(
  run: CompiledRun,
  ctx: ResourceContext,
  opts: ConvergeOptions,
): Promise<RunReport> {
  const started = Date.now();
  const results: ResourceResult[] = [];
  const byId = new Map<string, DeclaredResource>();
  for (const r of run.resources) if (!byId.has(r.id)) byId.set(r.id, r);
  // subscribes is notifies seen from the other side: turn it around once
  const subscribers = new Map<string, { target: DeclaredResource; action?: string; timing: string }[]>();
  for (const r of run.resources)
    for (const t of notificationTargets(r.common.subscribes)) {
      const list = subscribers.get(t.resource) ?? [];
      list.push({ target: r, action: t.action, timing: t.timing });
      subscribers.set(t.resource, list);
    }
  const delayed: Pending[] = [];
  let error: string | undefined;

  const emit = (r: ResourceResult) => {
    results.push(r);
    opts.onResult?.(r);
  };

  // `chain`: the resources whose notifications led here. A target that ran earlier in its own
  // chain may run again (a second run is often up to date, which ends the chain); if it changes
  // again, the chain would go on for ever (a boot that never ends): that is a loop, and fails.
  const notify = async (source: DeclaredResource, chain: readonly string[] = [source.id]) => {
    const targets = [
      ...notificationTargets(source.common.notifies).map((t) => ({ ...t, target: byId.get(t.resource)! })),
      ...(subscribers.get(source.id) ?? []),
    ];
    for (const t of targets) {
      const action = t.action ?? notifyAction(t.target);
      if (t.timing === "immediate") await runNotified(t.target, action, source.id, [...chain, t.target.id]);
      // once while pending: "execute[x]" and { resource: "execute[x]", action: "run" } are one
      else if (!delayed.some((d) => d.target.id === t.target.id && d.action === action))
        delayed.push({ target: t.target, action, by: source.id, chain: [...chain, t.target.id] });
    }
  };

  /** Run one notified action (a dry run reads and diffs it, guards included) and what it notifies. */
  const runNotified = async (target: DeclaredResource, action: string, by: string, chain: string[]) => {
    const again = chain.slice(0, -1).includes(target.id);
    const res = await runOne(target, ctx, opts, action, by);
    const changed = res.status === "updated" || res.status === "ran" || res.status === "would-update";
    if (again && changed) {
      // a dry run cannot know whether the real run would settle here: it shows no further
      if (opts.dryRun) return emit(res);
      const loop: ResourceResult = {
        ...res,
        status: "failed",
        error: `notification loop: ${chain.join(" -> ")} changed it again; break the loop (notify one way only)`,
      };
      emit(loop);
      throw new Stop(loop);
    }
    emit(res);
    if (res.status === "failed" && !target.common.ignoreFailure) throw new Stop(res);
    if (changed) await notify(target, chain);
  };

  // Consecutive file writes share one write group (see RootFs.openWriteGroup): each is applied
  // up to its fsync, the group fsyncs them together, then each is renamed, checked and reported
  // in declaration order. Only resources nothing else can observe in between are grouped.
  let group: Grouped[] = [];
  const groupPaths = new Set<string>();
  const immediate = (r: DeclaredResource) =>
    notificationTargets(r.common.notifies).some((t) => t.timing === "immediate") ||
    (subscribers.get(r.id) ?? []).some((s) => s.timing === "immediate");
  const groupable = (r: DeclaredResource) =>
    !opts.dryRun &&
    resourceKinds[r.kind].groupsWrites === true &&
    r.common.onlyIf === undefined &&
    r.common.notIf === undefined &&
    !r.common.retries &&
    !immediate(r);

  const flushGroup = async () => {
    if (group.length === 0) return;
    const items = group;
    group = [];
    groupPaths.clear();
    const staged = await ctx.fs.syncWriteGroup();
    let stop: ResourceResult | undefined;
    for (const it of items) {
      const mine = staged.slice(it.from, it.to);
      if (stop) {
        for (const w of mine) w.discard();
        continue;
      }
      const res = await finishGrouped(it.started, mine);
      emit(res);
      if (res.status === "failed") {
        if (!it.r.common.ignoreFailure) stop = res;
        continue;
      }
      if (res.status === "updated" || res.status === "ran") await notify(it.r);
    }
    if (stop) throw new Stop(stop);
  };

  // a resource whose own apply did what a refresh does (a service it started) drops the
  // refreshes notified before it ran; one notified after it still runs at the end
  const unscheduleRefreshes = (r: DeclaredResource, res: ResourceResult) => {
    const kind = resourceKinds[r.kind] as ResourceKind;
    if (!["updated", "ran", "would-update"].includes(res.status) || !kind.refreshedBy?.(res.changes)) return;
    const refreshLike = [undefined, "refresh", "restart", "reload", kind.defaultNotifyAction];
    const dropped = delayed.filter((d) => d.target.id === r.id && refreshLike.includes(d.action));
    if (dropped.length === 0) return;
    for (const d of dropped) delayed.splice(delayed.indexOf(d), 1);
    const by = [...new Set(dropped.map((d) => d.by))].join(", ");
    const verb = res.changes.some((c) => /^restart /.test(c.what)) ? "restart" : "start";
    const note = `no refresh for ${by}: it ${opts.dryRun ? `would ${verb}` : `${verb}ed`} after that change`;
    res.note = res.note ? `${res.note}; ${note}` : note;
  };

  // delayed notifications, in the order first notified; one notified again after it ran (a
  // build that notifies the restart that already ran) runs again
  const runDelayed = async () => {
    while (delayed.length > 0) {
      const d = delayed.shift()!;
      await runNotified(d.target, d.action, d.by, d.chain);
    }
  };

  // slow look-ups (a git remote) start now and overlap with the resources declared before them;
  // a guarded resource may never be read, so nothing is started for it
  const prefetches = new AbortController();
  for (const r of run.resources) {
    const kind = resourceKinds[r.kind] as ResourceKind;
    if (kind.prefetch && r.common.onlyIf === undefined && r.common.notIf === undefined)
      kind.prefetch(ctx, r.props, prefetches.signal);
  }

  try {
    for (const r of run.resources) {
      if (groupable(r)) {
        const target = String(r.props[resourceKinds[r.kind].nameProp]);
        if (groupPaths.has(target)) await flushGroup();
        if (group.length === 0) ctx.fs.openWriteGroup();
        const from = ctx.fs.groupSize;
        const started = await startOne(r, ctx, opts, undefined, undefined);
        group.push({ r, started, from, to: ctx.fs.groupSize });
        groupPaths.add(target);
        if (("result" in started && started.result.status === "failed") || group.length >= GROUP_MAX)
          await flushGroup();
        continue;
      }
      await flushGroup();
      const res = await runOne(r, ctx, opts, undefined, undefined);
      unscheduleRefreshes(r, res);
      emit(res);
      if (res.status === "failed") {
        if (r.common.ignoreFailure) continue;
        throw new Stop(res);
      }
      if (res.status === "updated" || res.status === "ran" || res.status === "would-update") await notify(r);
    }
    await flushGroup();
    await runDelayed();
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    error = `${err.result.id} (${err.result.source ?? `recipe ${err.result.recipe}`}): ${err.result.error}`;
    // what was notified before the failure still runs, as Chef runs its queued delayed
    // notifications: the next run finds the changed file up to date and would never notify again
    // (the app would keep its old config for good). The first failure stays the run's error.
    try {
      await runDelayed();
    } catch (again) {
      if (!(again instanceof Stop)) throw again;
    }
  } finally {
    prefetches.abort();
    // only after an unexpected error can a group still be open: nothing of it is published
    if (group.length > 0) for (const w of await ctx.fs.syncWriteGroup()) w.discard();
  }

  // what the first git resource checked out (a clone may take a newer tip than read saw), or
  // the commit it found up to date
  const appRevision = run.resources
    .filter((r) => r.kind === "git")
    .map((r) => ctx.shared.get(`git:${r.props.destination}`) ?? ctx.shared.get(`git-head:${r.id}`))[0] as
    | string
    | undefined;
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
    resources: results,
    totals: totals(results),
  };
}

class Stop extends Error {
  constructor(readonly result: ResourceResult) {
    super(result.error);
  }
}

function notifyAction(r: DeclaredResource): string {
  return resourceKinds[r.kind].defaultNotifyAction ?? "refresh";
}

function base(r: DeclaredResource): Pick<ResourceResult, "id" | "kind" | "recipe" | "source"> {
  return {
    id: r.id,
    kind: r.kind,
    recipe: r.recipe,
    source: r.source ? `${r.source.file}:${r.source.line}` : undefined,
  };
}

/** Converge one resource (or run one notified action on it). Never throws: failures are results. */
async function runOne(
  r: DeclaredResource,
  ctx: ResourceContext,
  opts: ConvergeOptions,
  notifiedAction: string | undefined,
  notifiedBy: string | undefined,
): Promise<ResourceResult> {
  const started = await startOne(r, ctx, opts, notifiedAction, notifiedBy);
  return "result" in started ? started.result : finishOne(started.applied);
}

/** The most writes one group holds: each keeps its temporary file open until it is renamed. */
const GROUP_MAX = 128;

interface Applied {
  ctx: ResourceContext;
  kind: ResourceKind;
  props: Record<string, unknown>;
  changes: Change[];
  out: (
    status: ResourceResult["status"],
    changes: Change[],
    extra?: Partial<ResourceResult>,
  ) => ResourceResult;
  notified: boolean;
  /** has an onlyIf or notIf */
  guarded: boolean;
}

/** The first half of a resource's run: a final result, or an apply still to be checked. */
type Started = { result: ResourceResult } | { applied: Applied };

interface Grouped {
  r: DeclaredResource;
  started: Started;
  /** its writes in the write group: [from, to) */
  from: number;
  to: number;
}

/** Guards, prepare, read, diff and apply. Never throws: failures are results. */
async function startOne(
  r: DeclaredResource,
  ctx: ResourceContext,
  opts: ConvergeOptions,
  notifiedAction: string | undefined,
  notifiedBy: string | undefined,
): Promise<Started> {
  const kind = resourceKinds[r.kind] as ResourceKind;
  const startedAt = Date.now();
  const out = (status: ResourceResult["status"], changes: Change[], extra: Partial<ResourceResult> = {}) => ({
    ...base(r),
    status,
    changes: r.common.sensitive ? changes.map((c) => ({ what: c.what })) : changes,
    durationMs: Date.now() - startedAt,
    ...(notifiedBy ? { note: `notified by ${notifiedBy}`, notification: true } : {}),
    ...extra,
  });
  try {
    // a guard holds for every action, a notified one too (as Chef's): a migration guarded by
    // onlyIf does not run because a file changed
    const skip = await guardSays(ctx, r);
    if (skip)
      return {
        result: out("skipped", [], { note: notifiedBy ? `notified by ${notifiedBy}; ${skip}` : skip }),
      };
    // a notification runs "refresh" through the kind, any other action as the resource's action
    if (notifiedAction === "refresh" && kind.refresh) {
      if (!opts.dryRun) await kind.refresh(ctx, r.props, notifiedAction);
      return { result: out(opts.dryRun ? "would-update" : "updated", [{ what: "refresh" }]) };
    }
    let props = notifiedAction ? { ...r.props, action: notifiedAction } : r.props;
    if (kind.prepare) props = (await kind.prepare(ctx, props)) as Record<string, unknown>;
    // retries cover reading as well as applying: a git host that is down fails the read (its
    // ls-remote), and that is what a retry is for
    let changes: Change[] = [];
    const done = await withRetries(
      opts.dryRun ? { ...r, common: { ...r.common, retries: 0 } } : r,
      async () => {
        const current = await kind.read(ctx, props);
        // the application's revision is what a git resource converges to, changed or not
        if (r.kind === "git") ctx.shared.set(`git-head:${r.id}`, (current as { target?: string }).target);
        changes = kind.diff(props, current);
        if (changes.length === 0 || opts.dryRun) return false;
        await kind.apply(ctx, props, changes, current);
        return true;
      },
    );
    if (!done) return { result: changes.length === 0 ? out("up-to-date", []) : out("would-update", changes) };
    const guarded = r.common.onlyIf !== undefined || r.common.notIf !== undefined;
    return { applied: { ctx, kind, props, changes, out, notified: notifiedBy !== undefined, guarded } };
  } catch (err) {
    return { result: out("failed", [], { error: errorMessage(err).split("\n")[0] }) };
  }
}

/** After apply: read + diff again must be empty, or the resource did not converge. */
async function finishOne(a: Applied): Promise<ResourceResult> {
  const { kind, props, changes, out } = a;
  try {
    if (kind.runsEveryTime?.(props)) {
      const guarded = props.creates !== undefined || a.guarded;
      const note =
        a.notified || guarded
          ? {}
          : { note: "runs on every converge unless guarded (creates, onlyIf, notIf)" };
      return out("ran", changes, note);
    }
    const after = kind.diff(props, await kind.read(a.ctx, props));
    if (after.length > 0)
      return out("failed", changes, {
        error: `did not converge: still ${after.map((c) => c.what).join("; ")}`,
      });
    return out("updated", changes);
  } catch (err) {
    return out("failed", changes, { error: errorMessage(err).split("\n")[0] });
  }
}

/** A grouped resource once its group is fsynced: publish its writes (rename), then check it. */
async function finishGrouped(started: Started, writes: StagedWrite[]): Promise<ResourceResult> {
  if ("result" in started) {
    for (const w of writes) w.discard(); // an apply that failed half way
    return started.result;
  }
  const { out, changes } = started.applied;
  const failed = writes.find((w) => w.error);
  try {
    if (failed) throw failed.error;
    for (const w of writes) w.publish();
  } catch (err) {
    for (const w of writes) w.discard();
    const msg = errorMessage(err).split("\n")[0];
    return out("failed", changes, { error: failed ? `fsync of ${failed.path} failed: ${msg}` : msg });
  }
  return finishOne(started.applied);
}

async function withRetries<T>(r: DeclaredResource, fn: () => Promise<T> | T): Promise<T> {
  const retries = r.common.retries ?? 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries) throw err;
      await new Promise((res) => setTimeout(res, (r.common.retryDelay ?? 2) * 1000));
    }
  }
}

/** A reason to skip, or undefined to run. */
async function guardSays(ctx: ResourceContext, r: DeclaredResource): Promise<string | undefined> {
  if (r.common.onlyIf !== undefined && !(await evalGuard(ctx, r.common.onlyIf, r.common.sensitive)))
    return "skipped: onlyIf guard is false";
  if (r.common.notIf !== undefined && (await evalGuard(ctx, r.common.notIf, r.common.sensitive)))
    return "skipped: notIf guard is true";
  return undefined;
}

async function evalGuard(ctx: ResourceContext, g: Guard, sensitive?: boolean): Promise<boolean> {
  if (typeof g === "function") return Boolean(await g());
  // a sensitive resource's guard is never on a command line either
  const { argv, shell, input } = shellInvocation(g, sensitive);
  const res = await ctx.exec(argv, {
    shell,
    input,
    cwd: ctx.fs.root,
    env: { ...ctx.env, MUSTER_ROOT: ctx.fs.root },
    timeoutMs: 60_000,
  });
  return res.code === 0;
}
