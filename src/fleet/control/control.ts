/**
 * The fleet daemon's control endpoint: HTTP over a unix socket in the state directory (mode
 * 0600, so only its owner can drive the fleet), and the client the CLI uses. STATE/fleet.json
 * says where the socket is and which process serves it.
 *
 *   GET  /status                    FleetStatus
 *   GET  /events?after=SEQ&wait=MS  events after SEQ (waits up to MS for one when there is none)
 *   POST /scale   {"desired": N}
 *   POST /refresh {"ref": REV, "preferences": {...}}: a new launch template version and a refresh to it
 *   POST /fault   FleetFault
 *   POST /down                      answers, then the daemon stops everything and exits
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import * as path from "node:path";
import { errorMessage, InputError, RunError, TimeoutError } from "../../core/errors.ts";
import { privateRuntimeDir } from "../../host/private-dir.ts";
import { isRunning } from "../instances/processes.ts";
import type { FleetController, FleetEvent, FleetFault } from "./controller.ts";
import { fleetCommand } from "./fleet-config.ts";
import { FLEET_FILES } from "./state-dir.ts";

/** STATE/fleet.json: the running daemon. */
export interface FleetInfo {
  pid: number;
  pidStart?: string;
  startedAt: string;
  stoppedAt?: string;
  stateDir: string;
  source: string;
  socket: string;
  loadBalancer: string;
  /** the dashboard's URL (with the fleet's key in its fragment), unless it is off */
  dashboard?: string;
}

/**
 * The control socket: in the state directory, or, when that path is too long for a unix socket,
 * in this user's private runtime directory (never a shared name in /tmp another user could take
 * first, or put a link at).
 */
export function controlSocketPath(stateDir: string, runtimeDir: () => string = privateRuntimeDir): string {
  const p = path.join(stateDir, "control.sock");
  if (Buffer.byteLength(p) <= 100) return p;
  return path.join(
    runtimeDir(),
    `fleet-${createHash("sha256").update(stateDir).digest("hex").slice(0, 16)}.sock`,
  );
}

export function readFleetInfo(stateDir: string): FleetInfo | undefined {
  try {
    return JSON.parse(readFileSync(path.join(stateDir, FLEET_FILES.info), "utf8")) as FleetInfo;
  } catch {
    return undefined;
  }
}

/** The daemon of this state dir, when one runs. */
export function runningFleet(stateDir: string): FleetInfo | undefined {
  const info = readFleetInfo(stateDir);
  return info && !info.stoppedAt && isRunning(info.pid, info.pidStart) ? info : undefined;
}

/**
 * The actions the CLI and the dashboard both take, one path for both: `scale` {"desired": N},
 * `fault` FleetFault. An unknown action or a bad value is an InputError.
 */
export async function controlAction(
  c: FleetController,
  action: string,
  input: Record<string, unknown>,
): Promise<unknown> {
  if (action === "scale") return c.scale(Number(input.desired));
  if (action === "fault") return { message: await c.fault(input as unknown as FleetFault) };
  if (action === "refresh")
    return c.startRefresh(String(input.ref ?? ""), (input.preferences ?? {}) as Record<string, never>);
  throw new InputError(`no such action: ${action}`);
}

export interface ControlServer {
  socket: string;
  close(): Promise<void>;
}

export async function startControlServer(
  c: FleetController,
  socket: string,
  onDown: () => void,
): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      const text = `${JSON.stringify(body)}\n`;
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
    };
    const url = new URL(req.url ?? "/", "http://fleet");
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      void (async () => {
        try {
          const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
          if (req.method === "GET" && url.pathname === "/status") return send(200, c.status());
          if (req.method === "GET" && url.pathname === "/events") {
            const after = Number(url.searchParams.get("after") ?? 0);
            const wait = Math.min(30_000, Number(url.searchParams.get("wait") ?? 0));
            let events = c.eventsAfter(after);
            if (events.length === 0 && wait > 0) {
              await new Promise<void>((resolve) => {
                const t = setTimeout(done, wait);
                function done() {
                  clearTimeout(t);
                  c.off("event", done);
                  resolve();
                }
                c.on("event", done);
                req.socket.once("close", done);
              });
              events = c.eventsAfter(after);
            }
            return send(200, { events, lastSeq: c.lastSeq });
          }
          if (req.method === "POST" && ["/scale", "/fault", "/refresh"].includes(url.pathname))
            return send(200, await controlAction(c, url.pathname.slice(1), input));
          if (req.method === "POST" && url.pathname === "/down") {
            send(200, { stopping: true, pid: process.pid });
            setImmediate(onDown);
            return;
          }
          send(404, { error: `no such request: ${req.method} ${url.pathname}` });
        } catch (err) {
          send(err instanceof InputError ? 400 : 500, {
            error: errorMessage(err),
            input: err instanceof InputError,
          });
        }
      })();
    });
  });
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => resolve());
  });
  chmodSync(socket, 0o600);
  return {
    socket,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(socket, { force: true });
      }),
  };
}

/** One request to the daemon of `stateDir`. An error answer becomes an InputError or RunError. */
export function controlRequest<T>(
  stateDir: string,
  method: "GET" | "POST",
  pathAndQuery: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<T> {
  const info = runningFleet(stateDir);
  const recorded = info ? undefined : readFleetInfo(stateDir);
  if (recorded && !recorded.stoppedAt)
    // it was not stopped: it died, and what it started may still run
    return Promise.reject(
      new RunError(
        `the fleet daemon of ${stateDir} (pid ${recorded.pid}) is gone without being stopped; ${fleetCommand("down", stateDir)} stops what it left running`,
      ),
    );
  if (!info)
    return Promise.reject(
      new RunError(
        `no fleet runs with state directory ${stateDir}; start one with ${fleetCommand("up", stateDir)}`,
      ),
    );
  if (!existsSync(info.socket))
    return Promise.reject(
      new RunError(`the fleet (pid ${info.pid}) has no control socket at ${info.socket}`),
    );
  return new Promise<T>((resolve, reject) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    const req = request(
      {
        socketPath: info.socket,
        method,
        path: pathAndQuery,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
        timeout: timeoutMs,
      },
      (res) => {
        let out = "";
        res.on("data", (d) => (out += d));
        res.on("end", () => {
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(out) as Record<string, unknown>;
          } catch {
            return reject(new RunError(`the fleet answered ${res.statusCode} with no JSON`));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const msg = String(data.error ?? `status ${res.statusCode}`);
            return reject(data.input ? new InputError(msg) : new RunError(msg));
          }
          resolve(data as T);
        });
      },
    );
    req.on("timeout", () =>
      req.destroy(new TimeoutError(`the fleet did not answer ${pathAndQuery} within ${timeoutMs} ms`)),
    );
    req.on("error", (err) =>
      reject(err instanceof RunError ? err : new RunError(`fleet control: ${err.message}`)),
    );
    req.end(text);
  });
}

export type { FleetEvent };
