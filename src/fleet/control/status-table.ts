/**
 * The fleet's status as lines for people, PURE: a header (group, load balancer, faults) and one
 * row per instance (address, lifecycle state, target state, boot, gate, requests served).
 * `muster fleet status` prints it; `muster demo` redraws it as instances move.
 */
import type { Style } from "../../cli/human-report.ts";
import { type RequestSample, recentTotals } from "../dashboard/rate-series.ts";
import { scaleProgress } from "../dashboard/scale-progress.ts";
import type { FleetStatus, InstanceStatus } from "./controller.ts";

const PLAIN: Style = { green: (s) => s, red: (s) => s, yellow: (s) => s, dim: (s) => s };

function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s.padEnd(n);
}

/** "; CONTINUE NOT sent (AccessDenied)": the AWS error code the boot's lifecycle call got, if it failed. */
function lifecycleTrouble(b: InstanceStatus["boot"]): string {
  const l = b.lifecycle;
  if (!l || l.ok) return "";
  const code = /: ([A-Z][A-Za-z]+): /.exec(l.error ?? "")?.[1];
  return `; ${l.result} NOT sent${code ? ` (${code})` : ""}`;
}

function bootText(i: InstanceStatus, now: number): string {
  const b = i.boot;
  if (b.running) {
    const secs = b.startedAt ? ` ${((now - b.startedAt) / 1000).toFixed(1)} s` : "";
    const last = b.stages?.[b.stages.length - 1];
    return `running${secs}${last ? `, ${last.stage} ${last.ok ? "ok" : "failed"}` : ""}${b.attempts && b.attempts > 1 ? ` (attempt ${b.attempts})` : ""}`;
  }
  if (b.outcome === "open")
    return `open, app ${b.appRevision?.slice(0, 7) ?? "?"} in ${((b.durationMs ?? 0) / 1000).toFixed(1)} s${lifecycleTrouble(b)}`;
  if (b.outcome === "failed")
    return `FAILED at ${b.failedStage}${b.lifecycle ? ` (${b.lifecycle.result})` : ""}${lifecycleTrouble(b)}`;
  if (b.outcome === "running") return "interrupted";
  if (b.outcome) return b.outcome;
  return i.state === "Pending" ? "starting" : "-";
}

function stateColour(state: string, s: Style): (x: string) => string {
  if (state === "InService") return s.green;
  if (state.startsWith("Terminat")) return state === "Terminated" ? s.dim : s.red;
  return s.yellow;
}

function loadBalancerLine(lb: FleetStatus["loadBalancer"], s: Style): string {
  const head = `load balancer ${lb.url} (${lb.kind}${lb.pid ? `, pid ${lb.pid}` : ""})`;
  const restarts = lb.restarts ? `, restarted ${lb.restarts}x` : "";
  if (lb.state === "down") {
    const since = lb.downSince ? ` since ${new Date(lb.downSince).toISOString().slice(11, 19)}` : "";
    return `${head} ${s.red(`DOWN${since}, restarting`)}${restarts}`;
  }
  return `${head}${restarts}`;
}

/**
 * An instance's config: the revision it booted (short), "=" when it is the group's (its launch
 * template's ref, resolved), "!" when not; "vN" while its boot has not recorded one.
 */
export function configText(i: InstanceStatus): string {
  const rev = i.boot.configRevision;
  if (!rev) return i.launchTemplateVersion ? `v${i.launchTemplateVersion}` : "-";
  return `${rev.slice(0, 8)} ${i.configMatches === false ? "!" : i.configMatches ? "=" : "?"}`;
}

/** The group's launch template (config ref) and its newest instance refresh. */
function refreshLines(st: FleetStatus, s: Style): string[] {
  const lt = st.group.launchTemplate;
  if (!lt) return [];
  const lines = [
    `config: launch template version ${lt.version}, ref ${lt.ref}${lt.commit ? ` (${lt.commit.slice(0, 8)})` : ""}`,
  ];
  const r = st.instanceRefresh;
  if (r) {
    const bad = r.status === "Failed" || r.status.startsWith("Rollback");
    lines.push(
      `instance refresh ${r.id}: ${(bad ? s.red : (x: string) => x)(r.status)} ${r.percentageComplete}% (${r.instancesToUpdate} to update)${r.statusReason ? `: ${r.statusReason}` : ""}`,
    );
  }
  return lines;
}

/** Lines for the status; `history` terminated instances are shown (most recent first), default 5. */
export function statusLines(
  st: FleetStatus,
  opts: { style?: Style; now?: number; history?: number } = {},
): string[] {
  const s = opts.style ?? PLAIN;
  const now = opts.now ?? Date.now();
  const g = st.group;
  const faults: string[] = [];
  if (st.gitServer.fault?.down) faults.push("git server DOWN");
  if (st.gitServer.fault?.delayMs) faults.push(`git slow ${st.gitServer.fault.delayMs} ms`);
  if (st.metadataFault?.kind === "slow") faults.push(`metadata slow ${st.metadataFault.delayMs} ms`);
  const lines = [
    `fleet ${g.name}: desired ${g.desired} (min ${g.min}, max ${g.max}), InService ${g.counts.InService}` +
      `${faults.length ? `  ${s.red(`faults: ${faults.join(", ")}`)}` : ""}`,
    loadBalancerLine(st.loadBalancer, s),
    ...refreshLines(st, s),
    s.dim(
      `${pad("INSTANCE", 20)}${pad("ADDRESS", 16)}${pad("STATE", 17)}${pad("TARGET", 10)}${pad("GATE", 7)}${pad("REQS", 6)}${pad("CONFIG", 13)}BOOT`,
    ),
  ];
  const live = st.instances.filter((i) => i.state !== "Terminated");
  const allEnded = st.instances
    .filter((i) => i.state === "Terminated")
    .sort((a, b) => (b.terminatedAt ?? 0) - (a.terminatedAt ?? 0));
  const ended = allEnded.slice(0, opts.history ?? 5);
  for (const i of [...live, ...ended]) {
    const colour = stateColour(i.state, s);
    const gone = i.state === "Terminated";
    const row =
      pad(i.id, 20) +
      pad(i.address, 16) +
      colour(pad(i.state, 17)) +
      pad(gone ? "-" : (i.targetState ?? "-"), 10) +
      pad(gone ? "-" : i.gate.state, 7) +
      pad(String(i.requests), 6) +
      pad(configText(i), 13) +
      bootText(i, now) +
      (i.state.startsWith("Terminat") && i.cause ? s.dim(`  (${i.cause})`) : "");
    lines.push(gone ? s.dim(row) : row);
  }
  if (allEnded.length > ended.length)
    lines.push(
      s.dim(
        `(${allEnded.length - ended.length} more Terminated; \`muster fleet status --json\` has them all)`,
      ),
    );
  return lines;
}

/**
 * PURE: when `after` launches in a row have ended before InService, what to tell someone waiting
 * for the group (`muster fleet up --wait`): how many, and why the last one ended (its boot's
 * failure, else the cause of its termination), with the instance whose logs say more. Undefined
 * while launches still succeed, or fail fewer times in a row.
 */
export function launchTrouble(
  st: FleetStatus,
  after = 3,
): { message: string; instance?: InstanceStatus } | undefined {
  const n = st.group.launchFailures;
  if (n < after) return undefined;
  const last = st.instances
    .filter((i) => i.inServiceAt === undefined && i.state.startsWith("Terminat"))
    .sort((a, b) => b.launchedAt - a.launchedAt)[0];
  const b = last?.boot;
  const why =
    b?.outcome === "failed"
      ? `its boot failed at ${b.failedStage}${b.error ? `: ${b.error}` : ""}`
      : (last?.cause ?? "no cause recorded");
  return {
    message: `${n} launches in a row ended before InService${last ? `; the last, ${last.id}: ${why}` : ""}`,
    instance: last,
  };
}

/**
 * PURE: what `muster fleet status --watch` shows, the dashboard's essentials in a terminal: the
 * status lines, the dashboard's URL, the request rate and errors of the last minute, a scale in
 * progress, and each failed boot with its stage and cause (kept after the instance is gone).
 */
export function watchLines(
  st: FleetStatus,
  requests: readonly RequestSample[],
  opts: { style?: Style; now?: number } = {},
): string[] {
  const s = opts.style ?? PLAIN;
  const now = opts.now ?? Date.now();
  const lines = statusLines(st, { style: s, now });
  const last = recentTotals(requests, now, 60_000);
  lines.splice(
    2,
    0,
    `requests ${last.perSecond.toFixed(1)}/s over the last minute, ${last.errors ? s.red(`${last.errors} errors`) : "0 errors"}` +
      (st.dashboard ? `; dashboard ${st.dashboard.url}` : ""),
  );
  const scale = scaleProgress({ desired: st.group.desired, instances: st.instances });
  if (scale) lines.splice(3, 0, s.yellow(`${scale.text} (${Math.round(scale.fraction * 100)}%)`));
  const failed = st.instances.filter((i) => i.boot.outcome === "failed");
  if (failed.length > 0) lines.push("", "failed boots:");
  for (const i of failed)
    lines.push(
      `  ${i.id}: ${s.red(`FAILED at ${i.boot.failedStage ?? "?"}`)}${i.boot.error ? `: ${i.boot.error}` : ""}`,
    );
  return lines;
}

/** `muster fleet why`: an instance's boot failure record for people, PURE. */
export function failureLines(i: InstanceStatus): string[] {
  const f = i.failure;
  if (!f) return [];
  return [
    `${i.id} (${i.state}${i.terminatedAt ? ` since ${new Date(i.terminatedAt).toISOString()}` : ""}): boot failed at stage ${f.stage}`,
    `  cause:    ${f.cause}`,
    `  attempts: ${f.attempts}${f.gaveUp ? ` (${f.gaveUp})` : ""}`,
    `  boot:     ${f.bootId}, run ${f.runId}, at ${f.at}${f.role ? `, role ${f.role}` : ""}${f.configRevision ? `, config ${f.configRevision.slice(0, 12)}` : ""}`,
    `  last ${f.log.length} log line${f.log.length === 1 ? "" : "s"}:`,
    ...f.log.map((l) => `    ${l}`),
  ];
}
