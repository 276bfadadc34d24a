/** What a converge run reports: per resource and in total. The JSON form is a stable contract. */
import type { Change } from "../core/resource.ts";

export type ResourceStatus = "updated" | "ran" | "up-to-date" | "skipped" | "would-update" | "failed";

export interface ResourceResult {
  id: string;
  kind: string;
  recipe: string;
  /** "recipes/web.ts:12" */
  source?: string;
  status: ResourceStatus;
  changes: Change[];
  durationMs: number;
  /** why it was skipped, that it is not idempotent, which notification ran it */
  note?: string;
  error?: string;
  /** a run a notification asked for, not the resource's own */
  notification?: boolean;
}

/** Did the resource's run change something (or, in a dry run, would it)? What notifies on. */
export function changedSomething(status: ResourceStatus): boolean {
  return status === "updated" || status === "ran" || status === "would-update";
}

export interface RunReport {
  runId: string;
  role: string;
  roles: string[];
  recipes: string[];
  root: string;
  dryRun: boolean;
  /** HEAD of the git repository the config repo is (or is inside of) */
  configRevision?: string;
  /** set when the config repo is a directory inside that repository: its path there */
  configSubdir?: string;
  /** commit of the first git resource (the application), when there is one */
  appRevision?: string;
  startedAt: string;
  durationMs: number;
  outcome: "converged" | "failed";
  error?: string;
  resources: ResourceResult[];
  /** per resource (a notified run adds to its resource, not to the count); notifications: runs they asked for */
  totals: {
    resources: number;
    updated: number;
    upToDate: number;
    skipped: number;
    failed: number;
    notifications: number;
  };
}

/**
 * PURE: the run's totals, one status per resource: failed over updated over skipped over up to
 * date, so a resource up to date in its own run and then restarted by a notification counts as
 * updated once, and the resource count is the resources the run went through.
 */
export function totals(results: ResourceResult[]): RunReport["totals"] {
  const rank: Record<ResourceStatus, number> = {
    failed: 4,
    updated: 3,
    ran: 3,
    "would-update": 3,
    skipped: 2,
    "up-to-date": 1,
  };
  const byId = new Map<string, ResourceStatus>();
  for (const r of results) {
    const was = byId.get(r.id);
    if (was === undefined || rank[r.status] > rank[was]) byId.set(r.id, r.status);
  }
  const count = (...s: ResourceStatus[]) => [...byId.values()].filter((v) => s.includes(v)).length;
  return {
    resources: byId.size,
    updated: count("updated", "ran", "would-update"),
    upToDate: count("up-to-date"),
    skipped: count("skipped"),
    failed: count("failed"),
    notifications: results.filter((r) => r.notification).length,
  };
}
