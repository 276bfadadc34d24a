/**
 * Talking to a root's supervisor (supervisor-daemon.ts): find it through the root's
 * run/muster/supervisor.json, send one JSON request a connection over its unix socket, start it
 * detached when it is not running, stop it with every service it runs.
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { RunError, TimeoutError } from "../core/errors.ts";
import { processAlive } from "../host/process-alive.ts";
import { replaceFile } from "../host/replace-file.ts";
import { RootFs } from "../host/root-fs.ts";
import { removeOwnSocketFile } from "../host/socket-file.ts";
import {
  type ServiceStatus,
  SOCKET_FALLBACK_DIR,
  SUPERVISOR_PATHS,
  type SupervisorRequest,
  type SupervisorResponse,
  socketPathFor,
} from "./supervisor-policy.ts";
import { parseSupervisorReply, unfinishedReplyProblem } from "./supervisor-reply.ts";

/** The supervisor is not running (or not answering): a state, not an error, for readers. */
export class SupervisorDown extends Error {
  override name = "SupervisorDown";
}

interface SupervisorInfo {
  pid: number;
  socket: string;
}

/** What the root's info file says, whether or not its supervisor still runs. */
function recorded(hostRoot: string): SupervisorInfo | undefined {
  try {
    const text = new RootFs(hostRoot).readText(SUPERVISOR_PATHS.info);
    return text ? (JSON.parse(text) as SupervisorInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** The running supervisor; one found dead has its socket file removed. */
function info(hostRoot: string): SupervisorInfo | undefined {
  const i = recorded(hostRoot);
  if (i && processAlive(i.pid)) return i;
  if (i) removeDeadSupervisorSocket(hostRoot);
  return undefined;
}

/**
 * A supervisor that was killed (SIGKILL, the OOM killer) left its socket file: remove it once no
 * supervisor runs (its info file is gone, or names a process that is gone). The path is the one the root's supervisor would use,
 * not the one the info file names (a file in the root is no authority to delete elsewhere).
 * Returns whether a socket file was removed.
 */
export function removeDeadSupervisorSocket(hostRoot: string): boolean {
  const i = recorded(hostRoot);
  if (i && processAlive(i.pid)) return false;
  return removeOwnSocketFile(socketPathFor(new RootFs(hostRoot).root, SOCKET_FALLBACK_DIR));
}

type Ok = Extract<SupervisorResponse, { ok: true }>;

/**
 * One request; an { ok: false } answer becomes a RunError carrying the supervisor's message, and
 * so does an answer that is not the protocol (not JSON, the wrong shape, no end): whatever
 * listens on the socket is checked, not trusted.
 */
export async function supervisorRequest(
  hostRoot: string,
  req: SupervisorRequest,
  timeoutMs = 60_000,
): Promise<Ok> {
  const i = info(hostRoot);
  if (!i) throw new SupervisorDown(`no supervisor runs for ${hostRoot}`);
  const res = await new Promise<SupervisorResponse>((resolve, reject) => {
    let buf = "";
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const notProtocol = (problem: string) => finish(() => reject(new RunError(problem)));
    const sock = net.createConnection(i.socket);
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new TimeoutError(
              `the supervisor of ${hostRoot} did not answer "${req.op}" within ${timeoutMs} ms`,
            ),
          ),
        ),
      timeoutMs,
    );
    sock.on("connect", () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0) {
        const problem = unfinishedReplyProblem(buf, i.socket, false);
        if (problem) notProtocol(problem);
        return;
      }
      const reply = parseSupervisorReply(buf.slice(0, nl), i.socket);
      if ("problem" in reply) notProtocol(reply.problem);
      else finish(() => resolve(reply.response));
    });
    sock.on("error", (err) => finish(() => reject(new SupervisorDown(err.message))));
    sock.on("close", () => {
      const problem = unfinishedReplyProblem(buf, i.socket, true);
      if (problem) notProtocol(problem);
      else finish(() => reject(new SupervisorDown("the supervisor closed the connection")));
    });
  });
  if (!res.ok) throw new RunError(res.error);
  return res;
}

/** Every service the supervisor knows, or undefined when no supervisor runs for the root. */
export async function supervisorStatus(hostRoot: string): Promise<Record<string, ServiceStatus> | undefined> {
  try {
    return (await supervisorRequest(hostRoot, { op: "status" }, 10_000)).services;
  } catch (err) {
    if (err instanceof SupervisorDown) return undefined;
    throw err;
  }
}

/** A `muster supervise` process (a pid from an info file left by a dead one may be reused). */
function isSupervisorProcess(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("supervise");
  } catch {
    return true; // no /proc: trust the pid
  }
}

/**
 * Record a supervisor that was just spawned for the root, before it listens: whoever starts one
 * writes its info file (pid and socket) at once, so that a converge needing the supervisor
 * meanwhile waits for this one instead of starting a second (which would lose the race for its
 * lock, or win it and make this one exit). The supervisor rewrites the file once it listens.
 */
export function noteStartingSupervisor(hostRoot: string, pid: number): void {
  const rootFs = new RootFs(hostRoot);
  fs.mkdirSync(rootFs.hostPath(SUPERVISOR_PATHS.runDir), { recursive: true });
  replaceFile(
    rootFs,
    SUPERVISOR_PATHS.info,
    `${JSON.stringify({ pid, socket: socketPathFor(rootFs.root, SOCKET_FALLBACK_DIR), root: rootFs.root, starting: true })}\n`,
  );
}

/** Roots whose supervisor this process started (tests stop them all at the end). */
const startedHere = new Set<string>();

/**
 * Make sure the root's supervisor runs: start `muster supervise --root ROOT` detached (its own
 * session, output to the root's supervisor log) and wait until it answers.
 */
export async function ensureSupervisor(hostRoot: string, progress?: (msg: string) => void): Promise<void> {
  if (await ping(hostRoot)) return;
  const starting = info(hostRoot);
  if (starting && isSupervisorProcess(starting.pid)) {
    // one is starting (the instance's init, started at the same time as this boot): wait for it
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && isSupervisorProcess(starting.pid)) {
      if (await ping(hostRoot)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (isSupervisorProcess(starting.pid))
      throw new TimeoutError(
        `the supervisor (pid ${starting.pid}) of ${hostRoot} did not answer within 15 s (log: ${new RootFs(hostRoot).hostPath(SUPERVISOR_PATHS.log)})`,
      );
    // it died while starting: start one here
  }
  const rootFs = new RootFs(hostRoot);
  const logFile = rootFs.hostPath(SUPERVISOR_PATHS.log);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  progress?.(`supervisor: starting muster's service supervisor for ${rootFs.root}`);
  const { musterPackageRoot } = await import("../cli/package-root.ts");
  const bin = path.join(musterPackageRoot(), "bin/muster.js");
  const out = fs.openSync(logFile, "a");
  let exited: number | null = null;
  try {
    const child = spawn(process.execPath, [bin, "supervise", "--root", rootFs.root], {
      cwd: "/",
      detached: true, // survives this (short-lived) converge run
      stdio: ["ignore", out, out],
      env: process.env,
    });
    child.on("exit", (code) => {
      exited = code ?? 1;
    });
    child.unref();
    if (child.pid) noteStartingSupervisor(rootFs.root, child.pid);
  } finally {
    fs.closeSync(out);
  }
  startedHere.add(rootFs.root);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await ping(hostRoot)) return;
    if (exited !== null)
      throw new RunError(
        `the supervisor for ${rootFs.root} exited with code ${exited}${tail(logFile)} (log: ${logFile})`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new TimeoutError(`the supervisor for ${rootFs.root} did not start within 15 s (log: ${logFile})`);
}

async function ping(hostRoot: string): Promise<boolean> {
  try {
    await supervisorRequest(hostRoot, { op: "ping" }, 5_000);
    return true;
  } catch (err) {
    if (err instanceof SupervisorDown || err instanceof TimeoutError) return false;
    throw err;
  }
}

/**
 * Stop the root's supervisor and every service it runs; returns false when none was running.
 * A supervisor that does not answer is sent SIGTERM (it stops its children on that too).
 */
export async function stopSupervisor(hostRoot: string, timeoutMs = 30_000): Promise<boolean> {
  const i = info(hostRoot);
  if (!i) return false;
  try {
    await supervisorRequest(hostRoot, { op: "shutdown" }, 10_000);
  } catch (err) {
    // a pid whose process is not a supervisor (reused, or named by whatever answered) is not
    // ours to signal or to wait for: why the request failed is the answer
    if (!isSupervisorProcess(i.pid)) throw err;
    try {
      process.kill(i.pid, "SIGTERM");
    } catch {}
  }
  const deadline = Date.now() + timeoutMs;
  while (processAlive(i.pid)) {
    if (Date.now() > deadline)
      throw new TimeoutError(
        `the supervisor (pid ${i.pid}) of ${hostRoot} did not stop within ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  removeDeadSupervisorSocket(hostRoot); // one that died on SIGTERM before it removed its own
  return true;
}

/** Stop every supervisor this process started. */
export async function stopStartedSupervisors(): Promise<void> {
  const roots = [...startedHere];
  startedHere.clear();
  await Promise.all(roots.map((r) => (fs.existsSync(r) ? stopSupervisor(r).catch(() => false) : false)));
}

function tail(file: string): string {
  try {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    const last = lines[lines.length - 1]?.trim();
    return last ? `: ${last.slice(0, 300)}` : "";
  } catch {
    return "";
  }
}

export { processAlive };
