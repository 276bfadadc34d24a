/**
 * Notifications, PURE (as Chef's notifies/subscribes): whom a changed resource notifies, the
 * delayed queue, loops along a chain of notifications, and the refreshes a resource's own apply
 * made unnecessary. The runner (converge.ts) runs what these decide.
 */
import type { DeclaredResource } from "../core/declared.ts";
import type { NotificationSpec, Timing } from "../core/resource.ts";

/** A notification spec in one shape: "service[app]" is a delayed one with the default action. */
export function notificationTargets(spec: NotificationSpec | NotificationSpec[] | undefined) {
  const list = spec === undefined ? [] : Array.isArray(spec) ? spec : [spec];
  return list.map((s) =>
    typeof s === "string"
      ? { resource: s, action: undefined, timing: "delayed" as const }
      : { resource: s.resource, action: s.action, timing: s.timing ?? ("delayed" as const) },
  );
}

/** A notified action waiting to run, or about to. */
export interface Pending {
  target: DeclaredResource;
  action: string;
  timing: Timing;
  /** the resource whose change notified it */
  by: string;
  /** the resources whose notifications led to it, it last */
  chain: string[];
}

export interface NotificationGraph {
  byId: Map<string, DeclaredResource>;
  /** subscribes is notifies seen from the other side: turned around once, by the notifier's id */
  subscribers: Map<string, { target: DeclaredResource; action?: string; timing: Timing }[]>;
  /** the action a notification that names none runs on `r` (its kind's default) */
  defaultAction: (r: DeclaredResource) => string;
}

export function notificationGraph(
  resources: readonly DeclaredResource[],
  defaultAction: (r: DeclaredResource) => string,
): NotificationGraph {
  const byId = new Map<string, DeclaredResource>();
  for (const r of resources) if (!byId.has(r.id)) byId.set(r.id, r);
  const subscribers: NotificationGraph["subscribers"] = new Map();
  for (const r of resources)
    for (const t of notificationTargets(r.common.subscribes)) {
      const list = subscribers.get(t.resource) ?? [];
      list.push({ target: r, action: t.action, timing: t.timing });
      subscribers.set(t.resource, list);
    }
  return { byId, subscribers, defaultAction };
}

/**
 * What a change of `source` notifies, in order: its own notifies, then its subscribers. `chain`
 * is how the runner got to `source` (just `source` for its own run).
 */
export function notificationsOf(
  g: NotificationGraph,
  source: DeclaredResource,
  chain: readonly string[] = [source.id],
): Pending[] {
  const targets = [
    ...notificationTargets(source.common.notifies).map((t) => ({ ...t, target: g.byId.get(t.resource)! })),
    ...(g.subscribers.get(source.id) ?? []),
  ];
  return targets.map((t) => ({
    target: t.target,
    action: t.action ?? g.defaultAction(t.target),
    timing: t.timing,
    by: source.id,
    chain: [...chain, t.target.id],
  }));
}

/** True when a change of `r` would run something at once (so its write cannot wait in a group). */
export function notifiesImmediately(g: NotificationGraph, r: DeclaredResource): boolean {
  return (
    notificationTargets(r.common.notifies).some((t) => t.timing === "immediate") ||
    (g.subscribers.get(r.id) ?? []).some((s) => s.timing === "immediate")
  );
}

/**
 * The delayed queue with `p` added: once while pending, so "execute[x]" and
 * { resource: "execute[x]", action: "run" } are one. Order: first notified, first run.
 */
export function enqueue(queue: readonly Pending[], p: Pending): Pending[] {
  return queue.some((d) => d.target.id === p.target.id && d.action === p.action) ? [...queue] : [...queue, p];
}

/**
 * What to do after a notified run, by its chain: a target that ran earlier in its own chain may
 * run again (a second run is often up to date, which ends the chain); if it changed again, the
 * chain would go on for ever (a boot that never ends): a loop, which fails. A dry run cannot know
 * whether the real run would settle there: it only stops showing more.
 */
export function afterNotifiedRun(
  chain: readonly string[],
  changed: boolean,
  dryRun: boolean,
): "notify-on" | "end" | "loop" {
  if (!changed) return "end";
  const again = chain.slice(0, -1).includes(chain[chain.length - 1]);
  if (!again) return "notify-on";
  return dryRun ? "end" : "loop";
}

export function loopError(chain: readonly string[]): string {
  return `notification loop: ${chain.join(" -> ")} changed it again; break the loop (notify one way only)`;
}

/**
 * A resource whose own apply did what a refresh does (a service it started) drops the
 * refreshes notified before it ran (as puppet unschedules them); one notified after it still
 * runs at the end. `refreshActions`: the actions that count as a refresh of it.
 */
export function unscheduleRefreshes(
  queue: readonly Pending[],
  targetId: string,
  refreshActions: readonly (string | undefined)[],
): { queue: Pending[]; dropped: Pending[] } {
  const isRefresh = (d: Pending) => d.target.id === targetId && refreshActions.includes(d.action);
  return { queue: queue.filter((d) => !isRefresh(d)), dropped: queue.filter(isRefresh) };
}

/** The actions a notification may name that are a refresh of a kind with this default. */
export function refreshActions(defaultNotifyAction: string | undefined): (string | undefined)[] {
  return [undefined, "refresh", "restart", "reload", defaultNotifyAction];
}

/** The report's note for refreshes dropped: "no refresh for file[/a]: it started after that change". */
export function unscheduledNote(dropped: readonly Pending[], verb: "start" | "restart", dryRun: boolean) {
  const by = [...new Set(dropped.map((d) => d.by))].join(", ");
  return `no refresh for ${by}: it ${dryRun ? `would ${verb}` : `${verb}ed`} after that change`;
}
