/**
 * PURE: the judging and tallying of `npm run trials` (bench/trials.ts): is a run on bad input
 * clean, is a gate open after a killed boot, which requests under churn failed and why, and the
 * results file. Nothing here touches the host, so each rule can be tested on its own.
 */

export interface CliRun {
  /** null when the process was killed (the trial's timeout) */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

/** A file under a trial's temporary directory: its path, kind, size and modification time. */
export type Listing = string[];

/** What appeared, went or changed between two listings. */
export function listingChanges(before: Listing, after: Listing): string[] {
  const b = new Set(before);
  const a = new Set(after);
  return [
    ...after.filter((l) => !b.has(l)).map((l) => `+ ${l}`),
    ...before.filter((l) => !a.has(l)).map((l) => `- ${l}`),
  ];
}

const STACK_LINE = /^\s{4}at /m;
/** Node's own rendering of an uncaught error: "Error: ...", "TypeError: ...", "[Error: ...". */
const NODE_ERROR = /^(\[?\w*Error[:\]]|Uncaught |node:internal)/m;

/** A stderr line longer than this is no "clear line": it echoes an over-long value back. */
export const MAX_LINE = 500;

/**
 * Why a run on bad input is not clean, if it is not (empty: clean). Clean: exit code 2, stderr
 * one line per problem (`problems`, default 1) naming `mentions` (the file, field or resource),
 * each line at most MAX_LINE characters, no stack trace and no Node error prefix on either
 * stream, and nothing written (`changes`). Lines matching `progress` (a command's progress
 * report, such as check's) are not problem lines.
 */
export function badInputProblems(
  run: CliRun,
  expect: { problems?: number; mentions?: string[]; changes: string[]; progress?: RegExp },
): string[] {
  const why: string[] = [];
  if (run.timedOut) why.push("did not finish within the trial's timeout");
  else if (run.code !== 2) why.push(`exit code ${run.code}, not 2`);
  const lines = run.stderr.split("\n").filter((l) => l.trim() !== "" && !expect.progress?.test(l));
  const long = lines.filter((l) => l.length > MAX_LINE);
  if (long.length > 0) why.push(`a stderr line of ${Math.max(...long.map((l) => l.length))} characters`);
  const want = expect.problems ?? 1;
  if (lines.length === 0) why.push("stderr is empty");
  else if (lines.length !== want)
    why.push(`stderr has ${lines.length} lines for ${want} problem${want === 1 ? "" : "s"}`);
  if (STACK_LINE.test(run.stderr) || STACK_LINE.test(run.stdout)) why.push("stack trace");
  if (NODE_ERROR.test(run.stderr)) why.push("Node error prefix on stderr");
  for (const m of expect.mentions ?? [])
    if (!run.stderr.includes(m)) why.push(`stderr does not name ${JSON.stringify(m)}`);
  if (expect.changes.length > 0)
    why.push(
      `wrote ${expect.changes.length} change${expect.changes.length === 1 ? "" : "s"}: ${expect.changes.slice(0, 3).join(", ")}${expect.changes.length > 3 ? ", ..." : ""}`,
    );
  return why;
}

export interface KillTrial {
  killAtMs: number;
  /** false: the boot finished before its kill (not a crash, not counted) */
  killed: boolean;
  /** where the kill landed: "before its record", "at the start", "after <stage>" */
  landed: string;
  /**
   * the gate is open and this very run had passed its checks: the kill landed after the gate
   * opened (while the lifecycle action was completed), an earned gate, not a kill mid-way
   */
  afterGate?: boolean;
  /** `muster gate status` exit code after the kill (0 open, 3 closed or stale) */
  gateStatusCode: number;
  /** what the health endpoint's logic answers after the kill */
  healthStatus: number;
  /** an uninterrupted boot afterwards, when one ran: its exit code and gate status exit code */
  recovery?: { bootCode: number; gateStatusCode: number };
}

export interface KillTally {
  runs: number;
  /** killed before their gate opened */
  killed: number;
  /** killed after their gate opened (earned) */
  killedAfterGate: number;
  finishedFirst: number;
  /** boots killed mid-way after which the gate read open or the health logic answered 200 */
  openGates: number;
  landedIn: Record<string, number>;
  recoveries: number;
  recoveredOpen: number;
}

export function tallyKills(trials: KillTrial[]): KillTally {
  const killed = trials.filter((t) => t.killed && !t.afterGate);
  const landedIn: Record<string, number> = {};
  for (const t of killed) landedIn[t.landed] = (landedIn[t.landed] ?? 0) + 1;
  const recoveries = killed.filter((t) => t.recovery);
  return {
    runs: trials.length,
    killed: killed.length,
    killedAfterGate: trials.filter((t) => t.killed && t.afterGate).length,
    finishedFirst: trials.filter((t) => !t.killed).length,
    openGates: killed.filter((t) => t.gateStatusCode !== 3 || t.healthStatus === 200).length,
    landedIn,
    recoveries: recoveries.length,
    recoveredOpen: recoveries.filter((t) => t.recovery!.bootCode === 0 && t.recovery!.gateStatusCode === 0)
      .length,
  };
}

export interface ChurnInput {
  /** every request the traffic clients sent: when, and the status (0: no answer) */
  requests: { time: number; status: number }[];
  /** the load balancer's access log: when, status, and the target that served it */
  accessLog: { time: number; status: number; targetId: string | null }[];
  /** instances whose boot failed */
  failedBoots: string[];
  /** instances killed with `fleet fault kill`, and when */
  kills: { id: string; at: number }[];
  /** a request counts as in flight to a killed instance from this long before its kill... */
  inFlightBeforeMs: number;
  /** ...to this long after it */
  inFlightAfterMs: number;
}

export interface ChurnTally {
  requests: number;
  errors: number;
  /** errors within the in-flight window of a kill */
  errorsAtKills: number;
  /** errors that no kill explains */
  otherErrors: number;
  /** access-log lines whose target is an instance whose boot failed */
  requestsToFailedBoots: number;
  failedBoots: number;
  kills: number;
}

export function tallyChurn(c: ChurnInput): ChurnTally {
  const atKill = (time: number) =>
    c.kills.some((k) => time >= k.at - c.inFlightBeforeMs && time <= k.at + c.inFlightAfterMs);
  const errors = c.requests.filter((r) => r.status !== 200);
  const failed = new Set(c.failedBoots);
  const errorsAtKills = errors.filter((r) => atKill(r.time)).length;
  return {
    requests: c.requests.length,
    errors: errors.length,
    errorsAtKills,
    otherErrors: errors.length - errorsAtKills,
    requestsToFailedBoots: c.accessLog.filter((e) => e.targetId !== null && failed.has(e.targetId)).length,
    failedBoots: failed.size,
    kills: c.kills.length,
  };
}

export interface BadInputResult {
  name: string;
  command: string;
  problems: string[];
}

export interface SecretsResult {
  token: string;
  /** each place looked in, and whether the token was found there */
  places: { place: string; present: boolean; found: boolean }[];
  /** what each boot did (its outcome, failed stage and error, as recorded) */
  notes: string[];
}

export interface HealthResult {
  record: string;
  status: number;
}

export interface TrialsReport {
  commit: string;
  when: string;
  machine: string;
  seed: number;
  badInputs?: BadInputResult[];
  kills?: { tally: KillTally; trials: KillTrial[] };
  churn?: {
    lb: string;
    tally: ChurnTally;
    durationS: number;
    inFlightMs: { before: number; after: number };
    notes: string[];
  }[];
  secrets?: SecretsResult;
  health?: HealthResult[];
}

export function badInputFigure(results: BadInputResult[]): string {
  const clean = results.filter((r) => r.problems.length === 0).length;
  return `bad inputs: ${clean} of ${results.length} clean`;
}

export function killFigure(t: KillTally): string {
  return `kill trials: ${t.openGates} open gates after ${t.killed} boots killed mid-way (${t.recoveredOpen} of ${t.recoveries} later boots opened)`;
}

export function churnFigure(lb: string, t: ChurnTally): string {
  return `churn (${lb}): ${t.requests} requests, ${t.errors} errors (${t.errorsAtKills} in flight to ${t.kills} killed instances, ${t.otherErrors} other), ${t.requestsToFailedBoots} requests to ${t.failedBoots} failed boots`;
}

export function secretsFigure(s: SecretsResult): string {
  const leaks = s.places.filter((p) => p.found).map((p) => p.place);
  const looked = s.places.filter((p) => p.present).length;
  return `secrets: token ${leaks.length === 0 ? "absent" : `FOUND in ${leaks.join(", ")}`} (${looked} of ${s.places.length} places present)`;
}

export function healthFigure(h: HealthResult[]): string {
  const ok = h.filter((r) => r.status === 200).map((r) => r.record);
  return `health: ${ok.length === 0 ? "never 200" : `200 for ${ok.join(", ")}`} on ${h.length} stale/forged gate records`;
}

/** bench/results/trials.md */
export function trialsMarkdown(r: TrialsReport): string {
  const out: string[] = [
    "# muster trials",
    "",
    `Commit ${r.commit}, ${r.when}; ${r.machine}; seed ${r.seed}. Produced by \`npm run trials\` (bench/trials.ts).`,
    "",
    "## Figures",
    "",
  ];
  if (r.badInputs) out.push(`- ${badInputFigure(r.badInputs)}`);
  if (r.kills) out.push(`- ${killFigure(r.kills.tally)}`);
  for (const c of r.churn ?? []) out.push(`- ${churnFigure(c.lb, c.tally)}`);
  if (r.secrets) out.push(`- ${secretsFigure(r.secrets)}`);
  if (r.health) out.push(`- ${healthFigure(r.health)}`);
  if (r.badInputs) {
    out.push("", "## Bad inputs", "");
    const unclean = r.badInputs.filter((b) => b.problems.length > 0);
    out.push(
      unclean.length === 0
        ? `All ${r.badInputs.length} clean.`
        : `Unclean (${unclean.length} of ${r.badInputs.length}):`,
    );
    if (unclean.length > 0) out.push("");
    for (const u of unclean) out.push(`- **${u.name}** (\`${u.command}\`): ${u.problems.join("; ")}`);
    out.push("", "<details><summary>Every input tried</summary>", "");
    for (const b of r.badInputs)
      out.push(`- ${b.problems.length === 0 ? "clean" : "UNCLEAN"}: ${b.name} (\`${b.command}\`)`);
    out.push("", "</details>");
  }
  if (r.kills) {
    const t = r.kills.tally;
    out.push(
      "",
      "## Kill trials",
      "",
      "PID 1 is not systemd here, so the systemd unit's stop cannot be reproduced; each boot runs in a",
      "process group of its own and the whole group gets SIGKILL, as systemd's KillMode=control-group",
      "final kill does. After each kill, `muster gate status` must exit 3 and the health endpoint's",
      "answer (its own code, healthAnswer) must not be 200.",
      "",
      `${t.runs} boots started: ${t.killed} killed before their gate opened, ${t.killedAfterGate} killed after it opened (its gate earned: checks passed in that run), ${t.finishedFirst} finished before their kill. Open gates after a kill mid-way: ${t.openGates}.`,
      `Later uninterrupted boots: ${t.recoveries}, of which ${t.recoveredOpen} opened the gate.`,
      "",
      '"after X": stage X was the last one the run recorded, so the kill landed in the stage after it (after role: in converge); "before its record": node was still starting, or the run had not yet written its record.',
      "",
      "| where the kill landed | kills |",
      "|---|---|",
      ...Object.entries(t.landedIn)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `| ${k} | ${n} |`),
    );
  }
  if (r.churn) {
    out.push(
      "",
      "## Requests under churn",
      "",
      "| load balancer | seconds | requests | errors | in flight to killed | other errors | failed boots | requests to failed boots |",
      "|---|---|---|---|---|---|---|---|",
      ...r.churn.map(
        (c) =>
          `| ${c.lb} | ${c.durationS} | ${c.tally.requests} | ${c.tally.errors} | ${c.tally.errorsAtKills} | ${c.tally.otherErrors} | ${c.tally.failedBoots} | ${c.tally.requestsToFailedBoots} |`,
      ),
    );
    out.push(
      "",
      `A request counts as in flight to a killed instance from ${r.churn[0]?.inFlightMs.before} ms before its kill to ${r.churn[0]?.inFlightMs.after} ms after it. A failed boot: exit code not 0, outcome failed, or ABANDON sent.`,
      "",
    );
    for (const c of r.churn) for (const n of c.notes) out.push(`- ${c.lb}: ${n}`);
  }
  if (r.secrets) {
    out.push("", "## Secrets", "", `Token \`${r.secrets.token}\` looked for in:`, "");
    for (const p of r.secrets.places)
      out.push(`- ${p.place}: ${!p.present ? "not present" : p.found ? "FOUND" : "absent"}`);
    if (r.secrets.notes.length > 0) out.push("");
    for (const n of r.secrets.notes) out.push(`- ${n}`);
  }
  if (r.health) {
    out.push("", "## Health endpoint on stale and forged gate records", "");
    for (const h of r.health) out.push(`- ${h.record}: ${h.status}`);
  }
  return `${out.join("\n")}\n`;
}
