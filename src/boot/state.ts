/**
 * What a boot leaves in its state directory for `muster status` and for people: the record of
 * the last run (last-run.json, written atomically at the start, after every stage and at the
 * end), the last failed run (last-failure.json), the last converge report (last-converge.json),
 * and the gate record of the last gate opened (opened-gate.json).
 */
import * as path from "node:path";
import { errorMessage } from "../core/errors.ts";
import type { GateRecord } from "../gate/gate-state.ts";
import { replaceFile } from "../host/replace-file.ts";
import type { RootFs } from "../host/root-fs.ts";
import type { RunReport } from "../runner/report.ts";
import type { RunMode, StageName } from "./plan.ts";

export interface StageRun {
  stage: StageName;
  attempt: number;
  ok: boolean;
  durationMs: number;
  error?: string;
}

/** leaving: converged, but the instance was told to leave before its gate opened (kept closed) */
export type RunOutcome = "running" | "open" | "warmed" | "leaving" | "converged" | "skipped" | "failed";

export interface BootRecord {
  runId: string;
  mode: RunMode;
  bootId: string;
  pid: number;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  outcome: RunOutcome;
  attempts: number;
  instanceId?: string;
  targetLifecycleState?: string;
  role?: string;
  configRevision?: string;
  appRevision?: string;
  /** time the fetch spent in git's network step, ms */
  transferMs?: number;
  failedStage?: StageName;
  error?: string;
  /** why the run stopped trying ("gave up after 3 attempts") */
  gaveUp?: string;
  /** outcome leaving: what said so ("target lifecycle state Terminated", a spot notice) */
  departure?: string;
  stages: StageRun[];
  /** noAction: nothing waited to be completed (a heartbeat timeout passed, no hook launched it) */
  lifecycle?: { result: "CONTINUE" | "ABANDON"; ok: boolean; error?: string; noAction?: boolean };
  /**
   * CPU time of the muster process (not of the git and esbuild it ran), ms: used before the run
   * started (Node's start, loading muster, reading the config) and in all when it ended
   */
  cpu?: { beforeRunMs: number; totalMs: number };
}

export const LAST_RUN = "last-run.json";
export const LAST_FAILURE = "last-failure.json";
export const LAST_CONVERGE = "last-converge.json";
export const OPENED_GATE = "opened-gate.json";

function ensureDir(fs: RootFs, dir: string): void {
  if (!fs.stat(dir)) fs.mkdir(dir, 0o755, true);
}

/**
 * A directory of the state directory that only root may enter: the config checkout (a key under
 * files/, a template holding a secret: a `sensitive` file's diff is hidden, and its source must
 * not lie open to every local user either) and npm's cache of its dependencies. Made 0700, or
 * closed to others when an older muster made it open.
 */
export function ensurePrivateDir(fs: RootFs, dir: string): void {
  const st = fs.stat(dir);
  if (!st) fs.mkdir(dir, 0o700, true);
  else if (st.type === "directory" && (st.mode & 0o077) !== 0) fs.chmod(dir, 0o700);
}

/**
 * Save the run's record: after every stage while it runs (replaced atomically, no fsync: a
 * progress record, written a dozen times a boot), and durably once it has an outcome.
 */
export function saveRecord(fs: RootFs, stateDir: string, record: BootRecord): void {
  ensureDir(fs, stateDir);
  const text = `${JSON.stringify(record, null, 2)}\n`;
  if (record.outcome === "running") {
    replaceFile(fs, path.posix.join(stateDir, LAST_RUN), text);
    return;
  }
  fs.writeFileAtomic(path.posix.join(stateDir, LAST_RUN), text, { mode: 0o644 });
  if (record.outcome === "failed")
    fs.writeFileAtomic(path.posix.join(stateDir, LAST_FAILURE), text, { mode: 0o644 });
}

export function saveConvergeReport(fs: RootFs, stateDir: string, report: RunReport): void {
  ensureDir(fs, stateDir);
  fs.writeFileAtomic(path.posix.join(stateDir, LAST_CONVERGE), `${JSON.stringify(report, null, 2)}\n`, {
    mode: 0o644,
  });
}

export function readRecord(fs: RootFs, stateDir: string, file = LAST_RUN): BootRecord | undefined {
  const r = readRecordChecked(fs, stateDir, file);
  return "record" in r ? r.record : undefined;
}

/**
 * The record, none, or why it cannot be read: `muster status` tells a damaged record (a full
 * disk, a hand edit) from no run at all. The record is written atomically, so damage is rare.
 */
export function readRecordChecked(
  fs: RootFs,
  stateDir: string,
  file = LAST_RUN,
): { record: BootRecord } | { none: true } | { damaged: string } {
  const where = path.posix.join(stateDir, file);
  let text: string | undefined;
  try {
    text = fs.readText(where);
  } catch (err) {
    // a directory or some other thing at the record's path is a damaged record, said as one
    return {
      damaged: `${where} cannot be read as a record (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
    };
  }
  if (text === undefined) return { none: true };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { damaged: `${where} is not valid JSON` };
  }
  const r = data as Partial<BootRecord> | null;
  const missing = (["outcome", "mode", "startedAt", "stages"] as const).filter((k) => r?.[k] === undefined);
  if (missing.length > 0) return { damaged: `${where} has no ${missing.join(", ")}` };
  return { record: r as BootRecord };
}

/** PURE: what became of the lifecycle action, for a report line. */
export function lifecycleOutcome(
  l: NonNullable<BootRecord["lifecycle"]>,
  /** the run's outcome: a boot told to leave finds its launch action ended by the group */
  outcome?: RunOutcome,
): string {
  if (!l.ok) return `${l.result} NOT sent: ${l.error}`;
  if (l.noAction && outcome === "leaving")
    return `${l.result} not taken: no action was waiting (the group ended it as it began terminating the instance, or its heartbeat timeout passed)`;
  if (l.noAction)
    return `${l.result} not taken: no action was waiting (its heartbeat timeout passed, or no hook launched it)`;
  return `${l.result} sent`;
}

/**
 * Keep the record of the gate about to be opened where only root can write: a periodic run
 * re-applies the config commit the gate was opened on, and the gate file itself is no source for
 * that. It sits where the load balancer's check reads it, often a web root that an app or deploy
 * user may write, and a record forged there (the boot id is world-readable) would choose which
 * commit root converges: an old one, another branch. Written before the gate, durably.
 */
export function saveOpenedGate(fs: RootFs, stateDir: string, record: GateRecord): void {
  ensureDir(fs, stateDir);
  fs.writeFileAtomic(path.posix.join(stateDir, OPENED_GATE), `${JSON.stringify(record, null, 2)}\n`, {
    mode: 0o644,
  });
}

/** The config commit this boot (`bootId`) opened its gate on, from the state directory's copy. */
export function openedOn(fs: RootFs, stateDir: string, bootId: string): string | undefined {
  const text = fs.readText(path.posix.join(stateDir, OPENED_GATE));
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as Partial<GateRecord> | null;
    if (r?.bootId !== bootId || typeof r.configRevision !== "string") return undefined;
    return r.configRevision;
  } catch {
    return undefined; // damaged: the run fetches repo.ref, as with no gate opened
  }
}
