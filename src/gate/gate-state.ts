/**
 * Is the gate open for this boot? PURE decision code: the gate file's content and the current
 * boot id in, a verdict out. Anything but a well-formed record of this very boot reads as closed.
 */

/** What an open gate file holds (and what the health endpoint answers with). */
export interface GateRecord {
  gate: "open";
  bootId: string;
  role: string;
  configRevision?: string;
  appRevision?: string;
  instanceId?: string;
  runId: string;
  /** ISO time the gate was opened */
  openedAt: string;
}

export type GateVerdict =
  | { state: "open"; record: GateRecord }
  | { state: "closed"; reason: string }
  | { state: "stale"; reason: string; record: GateRecord };

export function gateContent(record: GateRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

export function judgeGate(content: string | Buffer | undefined, bootId: string): GateVerdict {
  if (content === undefined) return { state: "closed", reason: "no gate file" };
  let data: unknown;
  try {
    data = JSON.parse(content.toString());
  } catch {
    return { state: "closed", reason: "the gate file is not a gate record (not JSON)" };
  }
  const r = data as Partial<GateRecord> | null;
  if (
    !r ||
    typeof r !== "object" ||
    r.gate !== "open" ||
    typeof r.bootId !== "string" ||
    r.bootId === "" ||
    typeof r.role !== "string" ||
    typeof r.runId !== "string" ||
    typeof r.openedAt !== "string"
  )
    return { state: "closed", reason: "the gate file is not a complete gate record" };
  const record = r as GateRecord;
  if (record.bootId !== bootId)
    return {
      state: "stale",
      reason: `the gate was opened on another boot (${record.bootId}, this boot is ${bootId})`,
      record,
    };
  return { state: "open", record };
}
