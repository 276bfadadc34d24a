/// <reference lib="dom" />
/**
 * The dashboard's page script (bundled with uPlot into dist/dashboard/app.js for the browser).
 * It reads the fleet's key from the URL's fragment, follows the daemon's event stream and draws
 * the group, its instances, their boot timelines and the event log. Every state is a word next
 * to its colour. Actions ask first (a dialog) and send the key as a header.
 */
import uPlot from "uplot";
import type { FleetEvent, InstanceStatus } from "../../control/controller.ts";
import type { DashboardSnapshot } from "../server.ts";
import { barPlacement, type TimelineRow, timelineLayout } from "../timeline.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const key = new URLSearchParams(location.hash.slice(1)).get("key") ?? "";

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const clock = (t: number) => new Date(t).toISOString().slice(11, 19);

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function stateClass(state: string): string {
  if (state === "InService") return "ok";
  if (state === "Terminated") return "gone";
  if (state.startsWith("Terminat")) return "bad";
  return "wait";
}

// ---- state kept across snapshots ----
let last: DashboardSnapshot | undefined;
const events: FleetEvent[] = [];
const seenSeq = new Set<number>();
/** boots seen, kept when an instance leaves the status */
const boots = new Map<string, InstanceStatus>();
const logs = new Map<string, string[]>();
let chart: uPlot | undefined;

function renderGroup(s: DashboardSnapshot): void {
  const g = s.status.group;
  $("group-name").textContent = g.name;
  const facts: [string, string][] = [
    ["Desired", String(g.desired)],
    ["Min / max", `${g.min} / ${g.max}`],
    ["InService", String(g.counts.InService)],
    ["Requests (last minute)", `${s.lastMinute.perSecond.toFixed(1)}/s`],
    ["Errors (last minute)", String(s.lastMinute.errors)],
    ["Config revision", s.configRevision?.slice(0, 7) ?? "-"],
    ["Load balancer", `${s.status.loadBalancer.url} (${s.status.loadBalancer.state ?? "up"})`],
  ];
  const faults: string[] = [];
  if (s.status.gitServer.fault?.down) faults.push("git server down");
  if (s.status.gitServer.fault?.delayMs) faults.push(`git slow ${s.status.gitServer.fault.delayMs} ms`);
  if (s.status.metadataFault?.kind === "slow")
    faults.push(`metadata slow ${s.status.metadataFault.delayMs} ms`);
  facts.push(["Faults", faults.length ? faults.join(", ") : "none"]);
  $("group-facts").replaceChildren(
    ...facts.flatMap(([k, v]) => [
      el("dt", {}, k),
      el("dd", k === "Faults" && faults.length ? { class: "bad" } : {}, v),
    ]),
  );
  const desired = $<HTMLInputElement>("desired-input");
  desired.min = String(g.min);
  desired.max = String(g.max);
  if (document.activeElement !== desired && desired.value === "") desired.value = String(g.desired);

  const scale = $("scale");
  if (s.scale) {
    const pct = Math.round(s.scale.fraction * 100);
    scale.replaceChildren(
      el("label", { for: "scale-progress" }, s.scale.text),
      el("progress", { id: "scale-progress", max: "100", value: String(pct) }, `${pct}%`),
    );
  } else scale.replaceChildren(el("span", { class: "ok-text" }, `steady at ${g.desired}`));
  renderChart(s);
}

function renderChart(s: DashboardSnapshot): void {
  const data: uPlot.AlignedData = [s.rate.times, s.rate.rate, s.rate.errors];
  if (chart) {
    chart.setData(data);
    return;
  }
  chart = new uPlot(
    {
      width: 460,
      height: 170,
      series: [
        {},
        { label: "requests/s", stroke: "#1f5fa8", width: 2 },
        { label: "errors", stroke: "#b00020", width: 2, scale: "err" },
      ],
      axes: [{}, { label: "req/s" }, { side: 1, scale: "err", label: "errors", grid: { show: false } }],
      scales: { err: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      legend: { show: true },
    },
    data,
    $("chart"),
  );
}

function revisionCell(i: InstanceStatus, current?: string): HTMLTableCellElement {
  const rev = i.boot.configRevision;
  if (!rev) return el("td", {}, "-");
  const same = current !== undefined && rev === current;
  return el(
    "td",
    { class: same ? "ok-text" : "wait-text" },
    el("code", {}, rev.slice(0, 7)),
    ` ${current === undefined ? "" : same ? "(current)" : "(not the group's)"}`,
  );
}

function bootWord(i: InstanceStatus): string {
  const b = i.boot;
  if (b.running) return "booting";
  if (b.outcome === "open") return `gate open in ${seconds(b.durationMs ?? 0)}`;
  if (b.outcome === "failed") return `FAILED at ${b.failedStage ?? "?"}`;
  return b.outcome ?? "-";
}

function renderInstances(s: DashboardSnapshot): void {
  const live = s.status.instances.filter((i) => i.state !== "Terminated");
  const gone = s.status.instances
    .filter((i) => i.state === "Terminated")
    .sort((a, b) => (b.terminatedAt ?? 0) - (a.terminatedAt ?? 0));
  const rows = [...live, ...gone].map((i) => {
    const hookLeft =
      i.lifecycleTimeoutAt !== undefined
        ? el("span", { class: "hook" }, ` (hook: ${age(i.lifecycleTimeoutAt - s.now)} left)`)
        : undefined;
    const ended = i.state === "Terminated";
    const target = ended ? "-" : (i.targetState ?? "-");
    return el(
      "tr",
      { class: ended ? "terminated" : "", "data-instance": i.id },
      el("th", { scope: "row" }, i.id),
      el("td", {}, el("span", { class: `badge ${stateClass(i.state)}` }, i.state), hookLeft),
      el(
        "td",
        {},
        el(
          "span",
          { class: `badge ${target === "healthy" ? "ok" : target === "unhealthy" ? "bad" : "wait"}` },
          target,
        ),
      ),
      revisionCell(i, s.configRevision),
      el("td", {}, i.address),
      el("td", {}, age((i.terminatedAt ?? s.now) - i.launchedAt)),
      el("td", { class: i.boot.outcome === "failed" ? "bad-text" : "" }, bootWord(i)),
      el("td", {}, i.state.startsWith("Terminat") ? (i.cause ?? "") : ""),
    );
  });
  $("instances")
    .querySelector("tbody")!
    .replaceChildren(...rows);
}

function timelineRow(r: TimelineRow, axisMs: number): HTMLElement {
  const bars = r.bars.map((b) => {
    const { leftPct, widthPct } = barPlacement(b, axisMs);
    const failed = !b.ok;
    return el(
      "li",
      {
        class: `bar ${failed ? "failed" : "ok"} stage-${b.stage}`,
        style: `left:${leftPct}%;width:${widthPct}%`,
        title: `${b.label}${b.attempt > 1 ? ` (attempt ${b.attempt})` : ""}: ${seconds(b.durationMs)}${failed ? ", failed" : ""}`,
      },
      el("span", { class: "stage" }, b.label),
      " ",
      el("span", { class: "dur" }, `${seconds(b.durationMs)}${failed ? " failed" : ""}`),
    );
  });
  const i = boots.get(r.instanceId);
  const state = i ? ` (${i.state})` : "";
  const total = r.running
    ? "booting..."
    : r.failed
      ? `failed at ${r.failed.stage}`
      : `done in ${seconds(r.totalMs)}`;
  const children: (Node | undefined)[] = [
    el("h3", {}, `${r.instanceId}${state}: ${total}`),
    el("ol", { class: "bars", "aria-label": `boot stages of ${r.instanceId}` }, ...bars),
  ];
  if (r.failed) {
    children.push(
      el(
        "p",
        { class: "cause" },
        el("strong", {}, `FAILED at ${r.failed.stage}`),
        r.failed.error ? `: ${r.failed.error}` : "",
      ),
    );
    const lines = logs.get(r.instanceId);
    if (lines?.length)
      children.push(
        el("p", { class: "log-title" }, "The last lines of its boot log:"),
        el(
          "pre",
          { class: "log", tabindex: "0", "aria-label": `boot log of ${r.instanceId}` },
          lines.join("\n"),
        ),
      );
  }
  return el(
    "article",
    { class: `timeline${r.failed ? " has-failure" : ""}`, "data-instance": r.instanceId },
    ...children,
  );
}

function renderTimelines(s: DashboardSnapshot): void {
  for (const i of s.status.instances) boots.set(i.id, i);
  for (const [id, lines] of Object.entries(s.bootLogs)) logs.set(id, lines);
  const all = [...boots.values()].sort((a, b) => b.launchedAt - a.launchedAt);
  const layout = timelineLayout(all.map((i) => ({ id: i.id, boot: i.boot })));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    el("span", { style: `left:${f * 100}%` }, seconds(f * layout.axisMs)),
  );
  $("timeline-axis").replaceChildren(...ticks);
  $("timelines").replaceChildren(...layout.rows.map((r) => timelineRow(r, layout.axisMs)));
}

function renderEvents(): void {
  const filter = $<HTMLSelectElement>("event-filter");
  const ids = [...new Set(events.map((e) => e.instanceId).filter((x): x is string => !!x))].sort();
  const have = [...filter.options].map((o) => o.value);
  for (const id of ids) if (!have.includes(id)) filter.append(el("option", { value: id }, id));
  const shown = events
    .filter((e) => !filter.value || e.instanceId === filter.value)
    .slice(-200)
    .reverse();
  $("events")
    .querySelector("tbody")!
    .replaceChildren(
      ...shown.map((e) =>
        el(
          "tr",
          { class: `ev-${e.kind}` },
          el("td", {}, clock(e.time)),
          el("td", {}, e.instanceId ?? ""),
          el("td", {}, e.kind),
          el("td", {}, e.message),
        ),
      ),
    );
}

function render(s: DashboardSnapshot): void {
  last = s;
  renderGroup(s);
  renderInstances(s);
  renderTimelines(s);
}

// ---- actions ----

function confirmAction(text: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-ok").focus();
  });
}

async function act(action: "scale" | "fault", body: Record<string, unknown>): Promise<void> {
  const result = $("action-result");
  try {
    const res = await fetch(`/api/action/${action}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-muster-key": key },
      body: JSON.stringify(body),
    });
    const data = (await res.json()) as { error?: string; message?: string; from?: number; to?: number };
    if (!res.ok) {
      result.className = "bad-text";
      result.textContent = `refused: ${data.error ?? res.status}`;
      return;
    }
    result.className = "ok-text";
    result.textContent =
      action === "scale" ? `desired capacity ${data.from} -> ${data.to}` : (data.message ?? "done");
  } catch (err) {
    result.className = "bad-text";
    result.textContent = `failed: ${String(err)}`;
  }
}

$("scale-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const desired = $<HTMLInputElement>("desired-input").value.trim();
  const from = last?.status.group.desired;
  if (await confirmAction(`Set the group's desired capacity from ${from ?? "?"} to ${desired}?`))
    await act("scale", { desired });
});

$("fault-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const kind = $<HTMLSelectElement>("fault-kind").value;
  const value = $<HTMLInputElement>("fault-value").value.trim();
  if (await confirmAction(`Apply the fault "${kind}${value ? ` ${value}` : ""}" to the fleet?`))
    await act("fault", { kind, value: value || undefined });
});

$("event-filter").addEventListener("change", renderEvents);

// ---- the stream ----

function connect(): void {
  const status = $("connection");
  if (!key) {
    status.className = "bad-text";
    status.textContent =
      "This page needs the fleet's key: open the dashboard URL muster printed (also dashboard.url in `muster fleet status --json`).";
    return;
  }
  const source = new EventSource(`/api/stream?key=${encodeURIComponent(key)}`);
  source.addEventListener("open", () => {
    status.className = "ok-text";
    status.textContent = "live";
  });
  source.addEventListener("error", () => {
    status.className = "bad-text";
    status.textContent = "disconnected (the fleet stopped?); retrying";
  });
  source.addEventListener("snapshot", (m) => render(JSON.parse((m as MessageEvent<string>).data)));
  source.addEventListener("events", (m) => {
    for (const e of JSON.parse((m as MessageEvent<string>).data) as FleetEvent[]) {
      if (seenSeq.has(e.seq)) continue;
      seenSeq.add(e.seq);
      events.push(e);
    }
    if (events.length > 2000) events.splice(0, events.length - 2000);
    renderEvents();
  });
}

connect();
