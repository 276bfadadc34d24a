/**
 * The fleet's dashboard: a small HTTP server in the daemon, on 127.0.0.1 only, that serves one
 * page (built into dist/dashboard by scripts/build.mjs: nothing is loaded from the network) and
 * streams the fleet to it as server-sent events: a status snapshot every second and at once
 * after an event, and the event log as it grows. Its actions (scale, fault) take the control
 * socket's path (controlAction), so the page can do only what the CLI can, with the same checks.
 * Who may ask for what is decided in request-guard.ts.
 *
 *   GET  /, /app.js, /app.css, /uplot.css   the page
 *   GET  /api/stream?key=KEY                 text/event-stream: `snapshot` and `events`
 *   POST /api/action/scale {"desired": N}    X-Muster-Key: KEY
 *   POST /api/action/fault {"kind", "value"}  X-Muster-Key: KEY (as `muster fleet fault KIND VALUE`)
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { errorMessage, InputError } from "../../core/errors.ts";
import { controlAction } from "../control/control.ts";
import type { FleetController, FleetEvent, FleetStatus } from "../control/controller.ts";
import { parseFault } from "../control/fault-args.ts";
import { type RateSeries, type RequestSample, rateSeries, recentTotals } from "./rate-series.ts";
import { checkRequest } from "./request-guard.ts";
import { type ScaleProgress, scaleProgress } from "./scale-progress.ts";
import { tailLines } from "./tail.ts";

/** What the page gets every second. */
export interface DashboardSnapshot {
  now: number;
  status: Omit<FleetStatus, "processes">;
  /** the config repository's HEAD: what an instance launched now converges to */
  configRevision?: string;
  rate: RateSeries;
  lastMinute: { requests: number; errors: number; perSecond: number };
  scale?: ScaleProgress;
  /** the last lines of boot.out of every instance whose boot failed */
  bootLogs: Record<string, string[]>;
}

export interface DashboardServer {
  /** http://127.0.0.1:PORT/#key=KEY */
  url: string;
  port: number;
  close(): Promise<void>;
}

const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/uplot.css": { file: "uplot.css", type: "text/css; charset=utf-8" },
};

const HEADERS = {
  // only its own files; never inside another site's frame (the confirm dialog must not be
  // clickable through someone else's page); uPlot sizes its elements with inline styles
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const SAMPLE_WINDOW_MS = 10 * 60_000;
const LOG_LINES = 12;

export async function startDashboard(
  c: FleetController,
  opts: { port?: number; assetsDir: string },
): Promise<DashboardServer> {
  const key = randomBytes(24).toString("base64url");
  const samples: RequestSample[] = [];
  c.lb.on("request", (e) => {
    samples.push({ time: e.time, status: e.status });
    const old = Date.now() - SAMPLE_WINDOW_MS;
    while (samples.length > 0 && samples[0]!.time < old) samples.shift();
  });
  const configRepo = path.join(c.stateDir, "repos/config.git");
  let revision: { value?: string; at: number } = { at: 0 };
  const refreshRevision = () =>
    new Promise<void>((resolve) => {
      if (Date.now() - revision.at < 3000) return resolve();
      revision = { ...revision, at: Date.now() };
      execFile("git", ["--git-dir", configRepo, "rev-parse", "HEAD"], { timeout: 5000 }, (err, out) => {
        if (!err) revision = { value: out.trim(), at: Date.now() };
        resolve();
      });
    });
  await refreshRevision();
  // a failed boot's log does not change once it has ended: read once
  const bootLogs = new Map<string, string[]>();

  const snapshot = (): DashboardSnapshot => {
    void refreshRevision();
    const { processes: _, ...status } = c.status();
    const now = Date.now();
    for (const i of status.instances)
      if (i.boot.outcome === "failed" && !i.boot.running && !bootLogs.has(i.id) && i.root)
        bootLogs.set(i.id, tailLines(path.join(i.root, "var/log/muster/boot.out"), LOG_LINES));
    return {
      now,
      status,
      configRevision: revision.value,
      rate: rateSeries(samples, now, { windowMs: 5 * 60_000, bucketMs: 5000 }),
      lastMinute: recentTotals(samples, now, 60_000),
      scale: scaleProgress({ desired: status.group.desired, instances: status.instances }),
      bootLogs: Object.fromEntries(bootLogs),
    };
  };

  const streams = new Set<ServerResponse>();
  const send = (res: ServerResponse, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const broadcastSnapshot = () => {
    if (streams.size === 0) return;
    let snap: DashboardSnapshot;
    try {
      snap = snapshot();
    } catch {
      return; // the fleet is stopping
    }
    for (const res of streams) send(res, "snapshot", snap);
  };
  const ticker = setInterval(broadcastSnapshot, 1000);
  let soon: NodeJS.Timeout | undefined;
  const onEvent = (e: FleetEvent) => {
    for (const res of streams) send(res, "events", [e]);
    // a transition shows at once, many in a burst as one snapshot
    soon ??= setTimeout(() => {
      soon = undefined;
      broadcastSnapshot();
    }, 150);
  };
  c.on("event", onEvent);

  let port = 0;
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      ...HEADERS,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    const verdict = checkRequest(
      {
        method: req.method ?? "GET",
        pathname: url.pathname,
        host: req.headers.host,
        origin: req.headers.origin,
        keyHeader: header(req, "x-muster-key"),
        keyParam: url.searchParams.get("key"),
      },
      port,
      key,
    );
    if (!verdict.ok) return answer(res, verdict.status, { error: verdict.why });
    const asset = ASSETS[url.pathname];
    if (asset) {
      let body: Buffer;
      try {
        body = readFileSync(path.join(opts.assetsDir, asset.file));
      } catch {
        return answer(res, 500, {
          error: `the dashboard's page is not built (${opts.assetsDir}); run node scripts/build.mjs`,
        });
      }
      res.writeHead(200, { ...HEADERS, "content-type": asset.type, "content-length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    if (url.pathname === "/api/stream") {
      res.writeHead(200, {
        ...HEADERS,
        "content-type": "text/event-stream",
        connection: "keep-alive",
      });
      send(res, "snapshot", snapshot());
      send(res, "events", c.eventsAfter(0).slice(-500));
      streams.add(res);
      req.socket.once("close", () => streams.delete(res));
      return;
    }
    const action = /^\/api\/action\/(scale|fault)$/.exec(url.pathname)?.[1];
    if (!action) return answer(res, 404, { error: `no such request: ${req.method} ${url.pathname}` });
    try {
      const input = await jsonBody(req);
      const result =
        action === "fault"
          ? await controlAction(
              c,
              "fault",
              parseFault(String(input.kind ?? ""), input.value ? String(input.value) : undefined),
            )
          : await controlAction(c, "scale", { desired: wholeNumber(input.desired) });
      return answer(res, 200, result);
    } catch (err) {
      return answer(res, err instanceof InputError ? 400 : 500, { error: errorMessage(err) });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => answer(res, 500, { error: errorMessage(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/#key=${key}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(ticker);
        clearTimeout(soon);
        c.off("event", onEvent);
        for (const res of streams) res.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function wholeNumber(v: unknown): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d+$/.test(v.trim())) return Number(v);
  throw new InputError(`fleet scale ${String(v)}: expected a whole number >= 0`);
}

/** The request's JSON object (at most 4 KiB: an action is a few fields). */
function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
      if (body.length > 4096) {
        reject(new InputError("request body too large"));
        req.destroy();
      }
    });
    req.on("end", () => {
      try {
        const v = body ? JSON.parse(body) : {};
        if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error();
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new InputError("the request body is not a JSON object"));
      }
    });
  });
}
