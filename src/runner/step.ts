/**
 * One resource's step (or one notified action on it), as Chef runs a resource: guards, prepare,
 * read, diff, and apply only when not a dry run; then read + diff again must be empty, or the
 * resource "did not converge". Split in two halves so a write group can fsync the writes of
 * several resources between them (see write-group.ts). Never throws: failures are results.
 */

import type { DeclaredResource } from "../core/declared.ts";
import { errorMessage } from "../core/errors.ts";
import type { Change, Guard, GuardExec, ResourceContext, ResourceKind } from "../core/resource.ts";
import type { StagedWrite } from "../host/root-fs.ts";
import { resourceKinds } from "../resources/index.ts";
import { shellInvocation } from "../resources/shell-command.ts";
import type { DryRunModel } from "./dry-run.ts";
import type { ResourceResult } from "./report.ts";
import type { RunStores } from "./run-stores.ts";

/** What every step of one run shares. */
export interface StepEnv {
  ctx: ResourceContext;
  dryRun: boolean;
  stores: RunStores;
  /** by resource id: the revision its last read stood for (kinds with revisionOf) */
  revisions: Map<string, string | undefined>;
  /** a dry run: what earlier resources would make and remove (see dry-run.ts) */
  dryRunModel: DryRunModel;
}

/** A notified action: which, and who asked. */
export interface Notified {
  action: string;
  by: string;
}

type Out = (
  status: ResourceResult["status"],
  changes: Change[],
  extra?: Partial<ResourceResult>,
) => ResourceResult;

interface Applied {
  r: DeclaredResource;
  kind: ResourceKind;
  props: Record<string, unknown>;
  changes: Change[];
  out: Out;
  notified: boolean;
}

/** The first half of a resource's step: a final result, or an apply still to be checked. */
export type Started = { result: ResourceResult } | { applied: Applied };

/** One whole step. */
export async function runStep(
  r: DeclaredResource,
  env: StepEnv,
  notified?: Notified,
): Promise<ResourceResult> {
  const started = await startStep(r, env, notified);
  return "result" in started ? started.result : verifyStep(env, started.applied);
}

/** Guards, prepare, read, diff and apply. */
export async function startStep(r: DeclaredResource, env: StepEnv, notified?: Notified): Promise<Started> {
  const { ctx, dryRun } = env;
  const kind = resourceKinds[r.kind] as ResourceKind;
  const store = env.stores.of(kind);
  const out = resultMaker(r, notified);
  try {
    // a guard holds for every action, a notified one too (as Chef's): a migration guarded by
    // onlyIf does not run because a file changed
    const skip = await guardSays(ctx, r, kind);
    // Chef's why-run says what it assumed; a command guard in a dry run reads the host as it is,
    // without the changes the dry run reported before it (a guard on a file they would write)
    const assumed =
      dryRun && env.dryRunModel.changesBefore > 0 && hasCommandGuard(r)
        ? `its guard read the host as it is now, without the ${env.dryRunModel.changesBefore} change(s) above, which a dry run does not make`
        : undefined;
    const noted = (...parts: (string | undefined)[]) => {
      const all = [notified ? `notified by ${notified.by}` : undefined, ...parts].filter(Boolean);
      return all.length > 0 ? { note: all.join("; ") } : {};
    };
    if (skip) return { result: out("skipped", [], noted(skip, assumed)) };
    // a notification runs "refresh" through the kind, any other action as the resource's action
    if (notified?.action === "refresh" && kind.refresh) {
      // a stopped service has nothing to refresh: said so, not reported as a change
      const idle = kind.refreshIdle?.(r.props);
      if (idle) return { result: out("up-to-date", [], { note: `notified by ${notified.by}; ${idle}` }) };
      if (!dryRun) await kind.refresh(ctx, r.props, notified.action);
      return { result: out(dryRun ? "would-update" : "updated", [{ key: "refresh", what: "refresh" }]) };
    }
    let props = notified ? { ...r.props, action: notified.action } : r.props;
    if (kind.prepare) props = (await kind.prepare(ctx, props)) as Record<string, unknown>;
    // retries cover reading as well as applying: a git host that is down fails the read (its
    // ls-remote), and that is what a retry is for
    let changes: Change[] = [];
    let current: unknown;
    const done = await withRetries(dryRun ? 0 : (r.common.retries ?? 0), r.common.retryDelay, async () => {
      current = await readResource(env, r, kind, props);
      changes = kind.diff(props, current);
      if (changes.length === 0 || dryRun) return false;
      await kind.apply(ctx, props, changes, current, store);
      return true;
    });
    if (!done && changes.length > 0 && kind.dryRunPaths) {
      const { problem, note } = env.dryRunModel.check(ctx, r.id, kind.dryRunPaths(props, changes, current));
      if (problem) return { result: out("failed", changes, { error: problem }) };
      if (note) return { result: out("would-update", changes, noted(note, assumed)) };
    }
    if (!done)
      return {
        result:
          changes.length === 0
            ? out("up-to-date", [], assumed ? noted(assumed) : {})
            : out("would-update", changes, assumed ? noted(assumed) : {}),
      };
    return { applied: { r, kind, props, changes, out, notified: notified !== undefined } };
  } catch (err) {
    return { result: out("failed", [], { error: firstLine(err) }) };
  }
}

/**
 * A grouped resource (no guard, retry or notification: see groupable) up to its diff: a final
 * result (up to date, or failed), or its changes and the apply still to make, which the write
 * group runs when it may (see ResourceKind.writesOnly).
 */
export type Planned =
  | { result: ResourceResult }
  | { changes: Change[]; writesOnly: boolean; apply(): Promise<Started> };

export async function planGroupedStep(r: DeclaredResource, env: StepEnv): Promise<Planned> {
  const { ctx } = env;
  const kind = resourceKinds[r.kind] as ResourceKind;
  const store = env.stores.of(kind);
  const out = resultMaker(r);
  try {
    let props = r.props;
    if (kind.prepare) props = (await kind.prepare(ctx, props)) as Record<string, unknown>;
    const current = await readResource(env, r, kind, props);
    const changes = kind.diff(props, current);
    if (changes.length === 0) return { result: out("up-to-date", []) };
    return {
      changes,
      writesOnly: kind.writesOnly?.(changes) === true,
      apply: async () => {
        try {
          await kind.apply(ctx, props, changes, current, store);
          return { applied: { r, kind, props, changes, out, notified: false } };
        } catch (err) {
          return { result: out("failed", [], { error: firstLine(err) }) };
        }
      },
    };
  } catch (err) {
    return { result: out("failed", [], { error: firstLine(err) }) };
  }
}

/** After apply: read + diff again must be empty, or the resource did not converge. */
export async function verifyStep(env: StepEnv, a: Applied): Promise<ResourceResult> {
  const { r, kind, props, changes, out } = a;
  try {
    if (kind.runsEveryTime?.(props)) {
      const guarded =
        kind.hasOwnGuard?.(props) === true || r.common.onlyIf !== undefined || r.common.notIf !== undefined;
      const note =
        a.notified || guarded
          ? {}
          : { note: "runs on every converge unless guarded (creates, onlyIf, notIf)" };
      return out("ran", changes, note);
    }
    const after = kind.diff(props, await readResource(env, r, kind, props));
    if (after.length > 0)
      return out("failed", changes, {
        error: `did not converge: still ${after.map((c) => c.what).join("; ")}`,
      });
    return out("updated", changes);
  } catch (err) {
    return out("failed", changes, { error: firstLine(err) });
  }
}

/** A grouped resource once its group is fsynced: publish its writes (rename), then verify it. */
export async function finishGroupedStep(
  env: StepEnv,
  started: Started,
  writes: StagedWrite[],
): Promise<ResourceResult> {
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
    const msg = firstLine(err);
    return out("failed", changes, { error: failed ? `fsync of ${failed.path} failed: ${msg}` : msg });
  }
  return verifyStep(env, started.applied);
}

/** The kind's read, with the revision it stands for noted for the report. */
async function readResource(env: StepEnv, r: DeclaredResource, kind: ResourceKind, props: unknown) {
  const current = await kind.read(env.ctx, props, env.stores.of(kind));
  if (kind.revisionOf) env.revisions.set(r.id, kind.revisionOf(current));
  return current;
}

/** How a step's result is made: timed from now, a sensitive resource's change details left out. */
function resultMaker(r: DeclaredResource, notified?: Notified): Out {
  const startedAt = Date.now();
  return (status, changes, extra = {}) => ({
    ...base(r),
    status,
    changes: r.common.sensitive ? changes.map((c) => ({ key: c.key, what: c.what })) : changes,
    durationMs: Date.now() - startedAt,
    ...(notified ? { note: `notified by ${notified.by}`, notification: true } : {}),
    ...extra,
  });
}

function base(r: DeclaredResource): Pick<ResourceResult, "id" | "kind" | "recipe" | "source"> {
  return {
    id: r.id,
    kind: r.kind,
    recipe: r.recipe,
    source: r.source ? `${r.source.file}:${r.source.line}` : undefined,
  };
}

function firstLine(err: unknown): string {
  return errorMessage(err).split("\n")[0];
}

async function withRetries<T>(retries: number, delaySeconds = 2, fn: () => Promise<T> | T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries) throw err;
      await new Promise((res) => setTimeout(res, delaySeconds * 1000));
    }
  }
}

/** a guard that reads the host (a command); a function's may read anything, and is the recipe's to judge */
function hasCommandGuard(r: DeclaredResource): boolean {
  const command = (g: unknown) => typeof g === "string" || Array.isArray(g);
  return command(r.common.onlyIf) || command(r.common.notIf);
}

/** A reason to skip, or undefined to run. */
async function guardSays(
  ctx: ResourceContext,
  r: DeclaredResource,
  kind: ResourceKind,
): Promise<string | undefined> {
  const where = () =>
    kind.guardExec?.(ctx, r.props) ?? { cwd: ctx.fs.root, env: { ...ctx.env, MUSTER_ROOT: ctx.fs.root } };
  if (r.common.onlyIf !== undefined && !(await evalGuard(ctx, r.common.onlyIf, where, r.common.sensitive)))
    return "skipped: onlyIf guard is false";
  if (r.common.notIf !== undefined && (await evalGuard(ctx, r.common.notIf, where, r.common.sensitive)))
    return "skipped: notIf guard is true";
  return undefined;
}

async function evalGuard(
  ctx: ResourceContext,
  g: Guard,
  where: () => GuardExec,
  sensitive?: boolean,
): Promise<boolean> {
  if (typeof g === "function") return Boolean(await g());
  // a sensitive resource's guard is never on a command line either
  const { argv, shell, input } = shellInvocation(g, sensitive);
  const res = await ctx.exec(argv, { shell, input, ...where(), timeoutMs: 60_000 });
  return res.code === 0;
}
