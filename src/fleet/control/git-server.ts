/**
 * A git host for the local fleet: local bare repositories under `projectRoot` served over HTTP
 * (git's smart protocol) by running `git http-backend` as CGI behind a small node:http server.
 *
 * Clients use plain `http://127.x.y.z:PORT/<repo>.git` URLs, exactly as they would a real git
 * host, so the boot pipeline's fetch stage runs unchanged. Only fetches (upload-pack) are needed;
 * pushes stay off because http-backend refuses receive-pack without an authenticated user.
 *
 * Faults on demand, for rehearsing a git host outage:
 * - down: the listening socket is closed and every open connection destroyed, so a client gets
 *   "connection refused" at once (like a host whose daemon is gone); clearing it listens again on
 *   the same port.
 * - delayMs: every request waits that long before it is answered (a slow or overloaded host).
 * - status: every request is answered with that HTTP status (e.g. 500, 503) instead of git data.
 *
 * Written by hand on node:http because no library runs a CGI program with streaming in both
 * directions; the CGI contract itself is a dozen environment variables and a header block.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import * as path from "node:path";
import { InputError, RunError } from "../../core/errors.ts";
import { listenOn } from "../../host/listen.ts";

export interface GitServerOptions {
  /** Directory holding the bare repositories (GIT_PROJECT_ROOT). */
  projectRoot: string;
  /** Loopback address to listen on, default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** The `git` binary, default "git" from PATH. */
  gitBinary?: string;
  /** Longest a single http-backend run may take before it is killed, default 10 minutes. */
  requestTimeoutMs?: number;
  /** Clock for request records, default Date.now. */
  now?: () => number;
}

export interface GitServerFault {
  /** Refuse connections (listening socket closed, open connections destroyed). */
  down?: boolean;
  /** Delay before every answer, ms. */
  delayMs?: number;
  /** Answer every request with this HTTP status instead of serving git. */
  status?: number;
}

export interface GitRequestRecord {
  /** ms since the epoch when the request arrived. */
  time: number;
  method: string;
  /** PATH_INFO, e.g. "/app.git/info/refs". */
  path: string;
  /** The query string without "?", e.g. "service=git-upload-pack". */
  query: string;
  /** "git-upload-pack" or "git-receive-pack" when the request names one. */
  service?: string;
  /** The git protocol version the client asked for (Git-Protocol header), e.g. "version=2". */
  gitProtocol?: string;
  remoteAddress: string;
  /** HTTP status sent; 0 when the client went away before any answer. */
  status: number;
  durationMs: number;
  /** Which fault shaped the answer, if any. */
  fault?: "delay" | "status";
}

export interface GitServer {
  /** Base URL, e.g. http://127.0.0.1:34567 ; a repository is `${url}/<name>.git`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly projectRoot: string;
  /** Every answered request, oldest first. */
  readonly requests: GitRequestRecord[];
  /** The URL of a repository under projectRoot (e.g. "app.git"). */
  repoUrl(name: string): string;
  /** Replace the current fault ({} or undefined clears it). Resolves once it is in effect. */
  setFault(fault: GitServerFault | undefined): Promise<void>;
  readonly fault: Readonly<GitServerFault>;
  /** Stop listening, end every connection and kill every running http-backend. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** A CGI header block larger than this is not a header block. */
const MAX_CGI_HEADER = 64 * 1024;

/** Split a CGI response's header block from its body; `undefined` until the block is complete. */
export function splitCgiHeaders(buf: Buffer): { head: string; body: Buffer } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  let end = -1;
  let sep = 0;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    end = crlf;
    sep = 4;
  } else if (lf !== -1) {
    end = lf;
    sep = 2;
  }
  if (end === -1) return undefined;
  return { head: buf.subarray(0, end).toString("latin1"), body: buf.subarray(end + sep) };
}

/**
 * Parse a CGI header block: `Status: 404 Not Found` becomes the status (default 200, or 302 when
 * only a Location is given, as RFC 3875 says); every other line is a response header.
 */
export function parseCgiHeaders(head: string): {
  status: number;
  statusText?: string;
  headers: Array<[string, string]>;
} {
  let status: number | undefined;
  let statusText: string | undefined;
  const headers: Array<[string, string]> = [];
  for (const line of head.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new RunError(`git http-backend: malformed CGI header line "${line}"`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const m = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (!m) throw new RunError(`git http-backend: malformed CGI Status "${value}"`);
      status = Number(m[1]);
      statusText = m[2] || undefined;
    } else {
      headers.push([name, value]);
    }
  }
  const hasLocation = headers.some(([n]) => n.toLowerCase() === "location");
  return { status: status ?? (hasLocation ? 302 : 200), statusText, headers };
}

/** The CGI environment for one request (RFC 3875 plus git's GIT_* variables). */
export function cgiEnvironment(
  req: { method: string; url: string; headers: IncomingMessage["headers"]; remoteAddress: string },
  projectRoot: string,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const u = new URL(req.url, "http://git.invalid");
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
  const env: NodeJS.ProcessEnv = {
    // Only what git needs from the parent: a user's git config or credentials must not leak in.
    PATH: base.PATH,
    HOME: base.HOME,
    LANG: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_METHOD: req.method,
    PATH_INFO: decodePath(u.pathname),
    QUERY_STRING: u.search.startsWith("?") ? u.search.slice(1) : u.search,
    REMOTE_ADDR: req.remoteAddress,
  };
  const contentType = header("content-type");
  if (contentType !== undefined) env.CONTENT_TYPE = contentType;
  // Absent for a chunked body: http-backend then reads until end of input.
  const contentLength = header("content-length");
  if (contentLength !== undefined) env.CONTENT_LENGTH = contentLength;
  const protocol = header("git-protocol");
  if (protocol !== undefined) env.GIT_PROTOCOL = protocol;
  // A gzip-compressed request body (git sends one for large negotiations): http-backend inflates it.
  const encoding = header("content-encoding");
  if (encoding !== undefined) env.HTTP_CONTENT_ENCODING = encoding;
  return env;
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function serviceOf(pathInfo: string, query: string): string | undefined {
  const q = new URLSearchParams(query).get("service");
  if (q) return q;
  const last = pathInfo.split("/").pop() ?? "";
  return last === "git-upload-pack" || last === "git-receive-pack" ? last : undefined;
}

function stripV4Mapped(addr: string | undefined): string {
  if (!addr) return "";
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}

function validateFault(f: GitServerFault): void {
  if (f.delayMs !== undefined && !(Number.isFinite(f.delayMs) && f.delayMs >= 0)) {
    throw new InputError("git server: fault delayMs must be a number >= 0");
  }
  if (f.status !== undefined && !(Number.isInteger(f.status) && f.status >= 100 && f.status <= 599)) {
    throw new InputError("git server: fault status must be an HTTP status between 100 and 599");
  }
}

export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const projectRoot = path.resolve(opts.projectRoot ?? "");
  let isDir = false;
  try {
    isDir = statSync(projectRoot).isDirectory();
  } catch {}
  if (!opts.projectRoot || !isDir) {
    throw new InputError(
      `git server: projectRoot "${opts.projectRoot ?? ""}" is not a directory; give the directory that holds the bare repositories`,
    );
  }
  const host = opts.host ?? "127.0.0.1";
  const gitBinary = opts.gitBinary ?? "git";
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = opts.now ?? Date.now;
  const requests: GitRequestRecord[] = [];
  const sockets = new Set<Socket>();
  const children = new Set<ChildProcessWithoutNullStreams>();
  const timers = new Set<NodeJS.Timeout>();
  let fault: GitServerFault = {};
  let listening = false;
  let closed = false;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = now();
    const t0 = performance.now();
    const method = req.method ?? "GET";
    const rawUrl = req.url ?? "/";
    const u = new URL(rawUrl, "http://git.invalid");
    const pathInfo = decodePath(u.pathname);
    const query = u.search.startsWith("?") ? u.search.slice(1) : u.search;
    const remoteAddress = stripV4Mapped(req.socket.remoteAddress);
    const protocolHeader = req.headers["git-protocol"];
    const base: Omit<GitRequestRecord, "status" | "durationMs"> = {
      time: started,
      method,
      path: pathInfo,
      query,
      service: serviceOf(pathInfo, query),
      gitProtocol: typeof protocolHeader === "string" ? protocolHeader : undefined,
      remoteAddress,
    };
    let recorded = false;
    const record = (status: number, shapedBy?: GitRequestRecord["fault"]) => {
      if (recorded) return;
      recorded = true;
      requests.push({
        ...base,
        status,
        durationMs: Math.round(performance.now() - t0),
        ...(shapedBy ? { fault: shapedBy } : {}),
      });
    };
    const plain = (status: number, body: string, shapedBy?: GitRequestRecord["fault"]) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(status, {
          "content-type": "text/plain; charset=utf-8",
          "content-length": String(Buffer.byteLength(body)),
          "cache-control": "no-cache",
        });
        res.end(body);
      }
      record(status, shapedBy);
    };

    const serve = (shapedBy?: GitRequestRecord["fault"]) => {
      if (closed || res.destroyed) return record(0, shapedBy);
      if (fault.status !== undefined) {
        return plain(fault.status, `git server fault: answering ${fault.status}\n`, "status");
      }
      // Keep requests inside the project root: http-backend checks too, but say it plainly here.
      if (pathInfo.split("/").includes("..")) return plain(400, "path may not contain ..\n", shapedBy);
      runBackend(req, res, (status) => record(status, shapedBy));
    };

    const delay = fault.delayMs ?? 0;
    if (delay > 0) {
      // Hold the request body until the delay is over; it is consumed by http-backend afterwards.
      req.pause();
      const timer = setTimeout(() => {
        timers.delete(timer);
        serve("delay");
      }, delay);
      timers.add(timer);
      return;
    }
    serve();
  };

  const runBackend = (req: IncomingMessage, res: ServerResponse, done: (status: number) => void): void => {
    const env = cgiEnvironment(
      {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        remoteAddress: stripV4Mapped(req.socket.remoteAddress),
      },
      projectRoot,
    );
    const child = spawn(gitBinary, ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    children.add(child);
    let stderr = "";
    let head = Buffer.alloc(0);
    let headerDone = false;
    let finished = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const finish = (status: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(status);
    };
    const fail = (why: string) => {
      if (!res.headersSent && !res.destroyed) {
        const body = `git http-backend failed: ${why}\n`;
        res.writeHead(500, {
          "content-type": "text/plain; charset=utf-8",
          "content-length": String(Buffer.byteLength(body)),
        });
        res.end(body);
        finish(500);
      } else {
        // Headers already went out: the only honest signal left is a broken connection.
        res.destroy();
        finish(res.statusCode);
      }
    };

    child.on("error", (e) => {
      children.delete(child);
      fail(`cannot run ${gitBinary}: ${e.message}`);
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString("utf8");
    });
    child.stdin.on("error", () => {}); // http-backend may exit before reading the whole body
    req.pipe(child.stdin);
    req.resume();

    child.stdout.on("data", (chunk: Buffer) => {
      if (headerDone) return;
      head = Buffer.concat([head, chunk]);
      const split = splitCgiHeaders(head);
      if (!split) {
        if (head.length > MAX_CGI_HEADER) {
          child.kill("SIGKILL");
          fail("no end of CGI headers");
        }
        return;
      }
      headerDone = true;
      let parsed: ReturnType<typeof parseCgiHeaders>;
      try {
        parsed = parseCgiHeaders(split.head);
      } catch (e) {
        child.kill("SIGKILL");
        fail((e as Error).message);
        return;
      }
      if (res.destroyed) {
        child.kill("SIGKILL");
        finish(0);
        return;
      }
      res.statusCode = parsed.status;
      if (parsed.statusText) res.statusMessage = parsed.statusText;
      const grouped = new Map<string, string[]>();
      for (const [n, v] of parsed.headers) grouped.set(n, [...(grouped.get(n) ?? []), v]);
      for (const [n, vs] of grouped) res.setHeader(n, vs.length === 1 ? vs[0]! : vs);
      if (split.body.length > 0) res.write(split.body);
      // The rest of stdout streams straight through (pack data can be large).
      child.stdout.pipe(res);
    });

    child.on("close", (code, signal) => {
      children.delete(child);
      if (!headerDone) {
        const why = stderr.trim().split("\n").pop() || (signal ? `killed by ${signal}` : `exit code ${code}`);
        fail(why);
        return;
      }
      if (code !== 0 && code !== null) {
        // A failure after the headers: the body is incomplete, so break the connection.
        if (!res.writableEnded) res.destroy();
        finish(res.statusCode);
        return;
      }
      if (signal && !res.writableEnded) res.destroy();
      finish(res.statusCode);
    });
    res.on("close", () => {
      if (!finished && !child.killed && child.exitCode === null) {
        // The client went away: nothing will read the answer.
        child.kill("SIGKILL");
      }
    });
  };

  const server: Server = createServer(handle);
  server.keepAliveTimeout = 1000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  const listen = async (port: number): Promise<number> => {
    const bound = await listenOn(server, host, port, "git server");
    listening = true;
    return bound;
  };

  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!listening) {
        for (const s of sockets) s.destroy();
        return resolve();
      }
      listening = false;
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  const port = await listen(opts.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  return {
    url,
    host,
    port,
    projectRoot,
    requests,
    repoUrl(name: string) {
      return `${url}/${name.replace(/^\/+/, "")}`;
    },
    get fault() {
      return { ...fault };
    },
    async setFault(next) {
      const f = { ...(next ?? {}) };
      validateFault(f);
      fault = f;
      if (closed) return;
      if (f.down && listening) await stopListening();
      else if (!f.down && !listening) await listen(port);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const c of children) c.kill("SIGKILL");
      await stopListening();
    },
  };
}
