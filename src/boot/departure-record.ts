/**
 * The departure's record (STATE/departure.json), beside the boot's: written atomically at the
 * start of a departure and after every step, for `muster status` and for people.
 */
import * as path from "node:path";
import type { RootFs } from "../host/root-fs.ts";
import type { DepartureReason } from "./departure-plan.ts";

export const DEPARTURE_RECORD = "departure.json";

export interface DepartureStepRecord {
  step: "close-gate" | "drain" | "shutdown" | "lifecycle";
  at: string;
  ok: boolean;
  durationMs?: number;
  detail?: string;
}

export interface DepartureRecord {
  bootId: string;
  pid: number;
  instanceId?: string;
  reason: DepartureReason;
  /** what started it: the target lifecycle state, or the spot notice */
  cause: string;
  startedAt: string;
  finishedAt?: string;
  outcome: "running" | "done" | "failed";
  steps: DepartureStepRecord[];
  drain?: { how: "idle" | "timeout" | "not-needed"; waitedMs: number; connectionsLeft: number };
  /** heartbeats recorded on the terminate hook while the departure ran */
  heartbeats: number;
  lifecycle?: { hook: string; result: "CONTINUE"; ok: boolean; error?: string; noAction?: boolean };
  error?: string;
}

export function saveDepartureRecord(fs: RootFs, stateDir: string, r: DepartureRecord): void {
  if (!fs.stat(stateDir)) fs.mkdir(stateDir, 0o755, true);
  fs.writeFileAtomic(path.posix.join(stateDir, DEPARTURE_RECORD), `${JSON.stringify(r, null, 2)}\n`, {
    mode: 0o644,
  });
}

export function readDepartureRecord(fs: RootFs, stateDir: string): DepartureRecord | undefined {
  const text = fs.readText(path.posix.join(stateDir, DEPARTURE_RECORD));
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as Partial<DepartureRecord> | null;
    return r && typeof r.reason === "string" && Array.isArray(r.steps) ? (r as DepartureRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** PURE: the record as lines for `muster status`. */
export function departureLines(r: DepartureRecord): string[] {
  const lines = [`departure (${r.reason}: ${r.cause}): ${r.outcome}, started ${r.startedAt}`];
  for (const s of r.steps)
    lines.push(
      `  ${s.step.padEnd(16)} ${s.ok ? "ok" : "FAILED"}${s.durationMs !== undefined ? ` (${(s.durationMs / 1000).toFixed(2)} s)` : ""}${s.detail ? `: ${s.detail}` : ""}`,
    );
  if (r.heartbeats > 0) lines.push(`  heartbeats:      ${r.heartbeats}`);
  if (r.error) lines.push(`  error:           ${r.error}`);
  return lines;
}
