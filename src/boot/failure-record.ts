/**
 * The record a boot that gave up leaves where it outlives the instance (the serial console,
 * CloudWatch Logs), PURE: what failed, why, after how many attempts, and the last lines of the
 * boot's log, so "why did this instance never reach InService?" has an answer after the
 * instance and its disk are gone.
 *
 * It is compact and bounded: a console line is read back by `aws ec2 get-console-output`
 * (which returns the last 64 KB of output) and a CloudWatch Logs event may be at most 256 KB,
 * so the record is held to FAILURE_RECORD_MAX_BYTES, dropping the oldest log lines first.
 * Credentials are redacted as the log redacts them, and again here with a few patterns more:
 * the record is read by people who never had access to the instance.
 */
import { redactUrl } from "../resources/git-env.ts";

/** The one-line console prefix: `muster: boot failed: {json}`. */
export const CONSOLE_PREFIX = "muster: boot failed: ";
export const FAILURE_RECORD_MAX_BYTES = 8192;
export const FAILURE_RECORD_LOG_LINES = 20;
/** A single log line longer than this is cut (a converge error can carry a whole file). */
export const FAILURE_RECORD_LINE_MAX = 600;

export interface FailureRecord {
  muster: "boot-failure";
  instanceId?: string;
  bootId: string;
  runId: string;
  stage: string;
  cause: string;
  attempts: number;
  /** why the boot stopped trying ("gave up after 3 attempts") */
  gaveUp?: string;
  role?: string;
  configRevision?: string;
  at: string;
  /** the last lines of the boot's log (this run's), oldest first, redacted */
  log: string[];
}

export type FailureInput = Omit<FailureRecord, "muster" | "log"> & {
  /** the tail of the boot log file, as read (JSON lines; other runs' lines are left out) */
  logTail: string[];
};

const SECRET_PATTERNS: [RegExp, string][] = [
  // an Authorization header's signature or bearer value
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, "$1 ***"],
  // AWS access key ids (long-term AKIA.., temporary ASIA..)
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, "$1****************"],
  // key=value and "key":"value" pairs whose key names a secret
  [
    /((?:secret|password|passwd|token|session[_-]?token|api[_-]?key|authorization)[\w-]*"?\s*[:=]\s*"?)([^\s",}&]+)/gi,
    "$1***",
  ],
];

/** PURE: a string with credentials hidden: URLs' user info as the log hides it, and key-like values. */
export function redactSecrets(s: string): string {
  let out = redactUrl(s);
  for (const [re, to] of SECRET_PATTERNS) out = out.replace(re, to);
  return out;
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** PURE: the log lines of this run (a line that names another run id is left out), last `n`. */
export function runLines(lines: string[], runId: string, n = FAILURE_RECORD_LOG_LINES): string[] {
  const mine = lines.filter((l) => {
    if (l.trim() === "") return false;
    const m = /"runId":"([^"]*)"/.exec(l);
    return !m || m[1] === runId;
  });
  return mine.slice(-n);
}

/** PURE: the compact record, redacted, at most FAILURE_RECORD_MAX_BYTES as JSON. */
export function buildFailureRecord(input: FailureInput, maxBytes = FAILURE_RECORD_MAX_BYTES): FailureRecord {
  const record: FailureRecord = {
    muster: "boot-failure",
    ...(input.instanceId ? { instanceId: input.instanceId } : {}),
    bootId: input.bootId,
    runId: input.runId,
    stage: input.stage,
    cause: cut(redactSecrets(input.cause), 1000),
    attempts: input.attempts,
    ...(input.gaveUp ? { gaveUp: input.gaveUp } : {}),
    ...(input.role ? { role: input.role } : {}),
    ...(input.configRevision ? { configRevision: input.configRevision } : {}),
    at: input.at,
    log: runLines(input.logTail, input.runId).map((l) => cut(redactSecrets(l), FAILURE_RECORD_LINE_MAX)),
  };
  // the oldest lines go first: the last ones are nearest the failure
  while (record.log.length > 0 && Buffer.byteLength(JSON.stringify(record)) > maxBytes) record.log.shift();
  return record;
}

/** PURE: the console line (no newline inside: JSON escapes every one). */
export function consoleLine(record: FailureRecord): string {
  return `${CONSOLE_PREFIX}${JSON.stringify(record)}\n`;
}

/** PURE: the last record in console output (the fleet's console file, get-console-output's text). */
export function recordFromConsole(text: string): FailureRecord | undefined {
  const lines = text.split("\n").filter((l) => l.includes(CONSOLE_PREFIX));
  for (let i = lines.length - 1; i >= 0; i--) {
    const r = parseFailureRecord(lines[i]!.slice(lines[i]!.indexOf(CONSOLE_PREFIX) + CONSOLE_PREFIX.length));
    if (r) return r;
  }
  return undefined;
}

/** PURE: a record from its JSON text, or undefined when it is not one. */
export function parseFailureRecord(text: string): FailureRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<FailureRecord> | null;
    if (r?.muster !== "boot-failure" || typeof r.stage !== "string" || typeof r.cause !== "string")
      return undefined;
    return { ...r, log: Array.isArray(r.log) ? r.log.map(String) : [] } as FailureRecord;
  } catch {
    return undefined;
  }
}

/** PURE: one line for a person (an activity's StatusMessage, an event): stage and cause. */
export function failureSummary(r: FailureRecord): string {
  return `boot failed at stage ${r.stage} after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}: ${r.cause}`;
}
