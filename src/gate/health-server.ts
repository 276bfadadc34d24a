/**
 * muster's own health endpoint: 503 until the gate is open for the current boot, then 200 with
 * the gate record. With an app check, the app's own check URL must also answer 2xx/3xx on every
 * request. The gate file is read on every request, so closing it takes effect at once.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { errorMessage } from "../core/errors.ts";
import { listenOn } from "../host/listen.ts";
import { RootFs } from "../host/root-fs.ts";
import { readGate } from "./gate-file.ts";

export interface HealthServerOptions {
  root: string;
  /** gate file inside the root */
  gateFile: string;
  bootId: string;
  port: number;
  host?: string;
  /** default /health */
  path?: string;
  appCheck?: string;
  appCheckTimeoutMs?: number;
  /**
   * The server failed after it started listening. Without it such an error ends the process (a
   * health endpoint of its own is restarted by its init); a host process that serves the endpoint
   * among other things (the supervisor) handles it instead.
   */
  onError?: (err: Error) => void;
}

export interface HealthServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface HealthAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One health answer: the gate's verdict, then (when open) the app check. */
export async function healthAnswer(fs: RootFs, opts: HealthServerOptions): Promise<HealthAnswer> {
  const verdict = readGate(fs, opts.gateFile, opts.bootId);
  if (verdict.state !== "open") return { status: 503, body: { gate: verdict.state, reason: verdict.reason } };
  if (opts.appCheck) {
    const problem = await appCheckProblem(opts.appCheck, opts.appCheckTimeoutMs ?? 2000);
    if (problem)
      return { status: 503, body: { ...verdict.record, gate: "open", app: "failing", reason: problem } };
  }
  return { status: 200, body: { ...verdict.record } };
}

/**
 * GET the app's own check: 2xx and 3xx pass (redirects are not followed). node:http rather than
 * fetch: fetch loads undici on its first call, about 15 ms and 10 MB more in a process that only
 * ever makes this one kind of request (the endpoint runs on every instance, often inside the
 * supervisor's process). One connection per check, closed after it: nothing stays open.
 */
async function appCheckProblem(url: string, timeoutMs: number): Promise<string | undefined> {
  const u = new URL(url);
  const request = u.protocol === "https:" ? (await import("node:https")).request : httpRequest;
  return new Promise((resolve) => {
    let done = false;
    const finish = (problem: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(problem);
    };
    const req = request(u, { method: "GET", agent: false, headers: { connection: "close" } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      finish(status >= 200 && status < 400 ? undefined : `app check ${url} answered ${status}`);
    });
    const timer = setTimeout(
      () => finish(`app check ${url} did not answer within ${timeoutMs} ms`),
      timeoutMs,
    );
    req.on("error", (err) => finish(`app check ${url} failed: ${errorMessage(err)}`));
    req.end();
  });
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const fs = new RootFs(opts.root);
  const want = opts.path ?? "/health";
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const reqPath = (req.url ?? "/").split("?")[0];
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const text = `${JSON.stringify(body)}\n`;
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
        "cache-control": "no-store",
        ...extra,
      });
      res.end(req.method === "HEAD" ? undefined : text);
    };
    if (reqPath !== want) return send(404, { error: `not found; the health check is ${want}` });
    // a 405 names the methods the resource takes (RFC 9110, 15.5.6)
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(405, { error: "GET or HEAD only" }, { allow: "GET, HEAD" });
    try {
      const a = await healthAnswer(fs, opts);
      send(a.status, a.body);
    } catch (err) {
      send(503, { gate: "closed", reason: `cannot read the gate: ${errorMessage(err)}` });
    }
  };
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5000;
  const port = await listenOn(server, opts.host ?? "0.0.0.0", opts.port, "health endpoint");
  if (opts.onError) server.on("error", opts.onError);
  const host = opts.host ?? "0.0.0.0";
  const shownHost = host === "0.0.0.0" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}${want}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
