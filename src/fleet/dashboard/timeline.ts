/**
 * Boot timelines, PURE: where each instance's boot spent its time, as bars on one time axis
 * shared by every instance (0 = the boot process started), so a slow fetch on one instance
 * stands out against the others. The boot record keeps each stage's duration, not its start:
 * the bars are laid end to end from the pipeline's start, after a "start" bar for node's start
 * and module loading (the time between the process start and the pipeline's).
 */

export interface BootStages {
  /** when the boot process was started (ms since the epoch) */
  startedAt?: number;
  /** when the pipeline started, from its record */
  pipelineStartedAt?: number;
  running?: boolean;
  outcome?: string;
  failedStage?: string;
  error?: string;
  stages?: { stage: string; attempt: number; ok: boolean; durationMs: number }[];
}

export interface TimelineBar {
  stage: string;
  /** the stage as operators name it (open-gate: "gate") */
  label: string;
  attempt: number;
  ok: boolean;
  /** ms after the boot process started */
  startMs: number;
  durationMs: number;
}

export interface TimelineRow {
  instanceId: string;
  bars: TimelineBar[];
  /** ms from the boot's start to the end of its last bar */
  totalMs: number;
  failed?: { stage: string; error?: string };
  running: boolean;
}

export interface TimelineLayout {
  /** the shared axis: 0 to this many ms */
  axisMs: number;
  rows: TimelineRow[];
}

const LABELS: Record<string, string> = {
  "open-gate": "gate",
  "close-gate": "close gate",
  "departure-check": "departure check",
};

export function stageLabel(stage: string): string {
  return LABELS[stage] ?? stage;
}

/** The bars of one boot, in the order its stages ran (retried stages once per attempt). */
export function bootBars(boot: BootStages): TimelineBar[] {
  const bars: TimelineBar[] = [];
  let at = 0;
  if (boot.startedAt !== undefined && boot.pipelineStartedAt !== undefined) {
    const startup = Math.max(0, boot.pipelineStartedAt - boot.startedAt);
    if (startup > 0)
      bars.push({ stage: "start", label: "start", attempt: 1, ok: true, startMs: 0, durationMs: startup });
    at = startup;
  }
  for (const s of boot.stages ?? []) {
    const d = Math.max(0, s.durationMs);
    bars.push({
      stage: s.stage,
      label: stageLabel(s.stage),
      attempt: s.attempt,
      ok: s.ok,
      startMs: at,
      durationMs: d,
    });
    at += d;
  }
  return bars;
}

/** One row per instance that has booted (or is booting), on an axis as long as the longest boot. */
export function timelineLayout(instances: { id: string; boot: BootStages }[]): TimelineLayout {
  const rows: TimelineRow[] = [];
  for (const i of instances) {
    const bars = bootBars(i.boot);
    if (bars.length === 0 && !i.boot.running) continue;
    const last = bars[bars.length - 1];
    const failed =
      i.boot.outcome === "failed"
        ? { stage: i.boot.failedStage ?? bars.find((b) => !b.ok)?.stage ?? "?", error: i.boot.error }
        : undefined;
    rows.push({
      instanceId: i.id,
      bars,
      totalMs: last ? last.startMs + last.durationMs : 0,
      failed,
      running: i.boot.running === true,
    });
  }
  // at least a second, so a few fast stages do not fill the whole width
  const axisMs = Math.max(1000, ...rows.map((r) => r.totalMs));
  return { axisMs, rows };
}

/** A bar's place on the axis, in percent of its width. */
export function barPlacement(bar: TimelineBar, axisMs: number): { leftPct: number; widthPct: number } {
  const leftPct = (bar.startMs / axisMs) * 100;
  // a stage of a few ms still gets a visible sliver
  const widthPct = Math.max(0.4, (bar.durationMs / axisMs) * 100);
  return { leftPct, widthPct: Math.min(widthPct, 100 - leftPct) };
}
