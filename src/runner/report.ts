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
}

export interface RunReport {
  runId: string;
  role: string;
  roles: string[];
  recipes: string[];
  root: string;
  dryRun: boolean;
  configRevision?: string;
  /** commit of the first git resource (the application), when there is one */
  appRevision?: string;
  startedAt: string;
  durationMs: number;
  outcome: "converged" | "failed";
  error?: string;
  resources: ResourceResult[];
  totals: { resources: number; updated: number; upToDate: number; skipped: number; failed: number };
}

export function totals(results: ResourceResult[]): RunReport["totals"] {
  const count = (...s: ResourceStatus[]) => results.filter((r) => s.includes(r.status)).length;
  return {
    resources: results.length,
    updated: count("updated", "ran", "would-update"),
    upToDate: count("up-to-date"),
    skipped: count("skipped"),
    failed: count("failed"),
  };
}
