/** The report an operator reads: one line per resource that changed, its changes indented, a summary. */
import type { ResourceResult, RunReport } from "../runner/report.ts";

export interface Style {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
}

export function style(enabled: boolean): Style {
  const c = (code: number) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { green: c(32), red: c(31), yellow: c(33), dim: c(2) };
}

export function useColour(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

/** Lines for one resource result; nothing for resources that were already up to date. */
export function resourceLines(r: ResourceResult, s: Style): string[] {
  if (r.status === "up-to-date") return [];
  const at = r.source ? s.dim(` (${r.source})`) : "";
  if (r.status === "skipped") return [`  - ${r.id} ${s.dim(r.note ?? "skipped")}`];
  if (r.status === "failed") {
    const lines = [`  ${s.red("x")} ${r.id}${at} ${s.red("failed")}: ${r.error}`];
    for (const c of r.changes) lines.push(`      - ${c.what}`);
    return lines;
  }
  const verb = r.status === "would-update" ? s.yellow("would ") : "";
  const lines = [`  ${s.green("*")} ${r.id}${at}${r.note ? s.dim(` [${r.note}]`) : ""}`];
  for (const c of r.changes) {
    lines.push(`      - ${verb}${c.what}`);
    if (c.detail) for (const d of c.detail.split("\n")) lines.push(`          ${colourDiffLine(d, s)}`);
  }
  return lines;
}

function colourDiffLine(line: string, s: Style): string {
  if (line.startsWith("+")) return s.green(line);
  if (line.startsWith("-")) return s.red(line);
  if (line.startsWith("@@")) return s.dim(line);
  return line;
}

export function summaryLine(report: RunReport, s: Style): string {
  const t = report.totals;
  const secs = (report.durationMs / 1000).toFixed(report.durationMs < 10_000 ? 2 : 1);
  const changed = report.dryRun
    ? `${t.updated}/${t.resources} resources would be updated`
    : `${t.updated}/${t.resources} resources updated`;
  const extra = [t.skipped ? `${t.skipped} skipped` : "", t.failed ? s.red(`${t.failed} failed`) : ""].filter(
    Boolean,
  );
  return `${changed}${extra.length ? ` (${extra.join(", ")})` : ""} in ${secs} s`;
}
