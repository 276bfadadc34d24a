/**
 * The local supervisor: one long-lived process per root (`muster supervise --root DIR`) that runs
 * the root's services as its children, the way systemd runs units on a host. A converge run is
 * short-lived, so it starts this process detached on first need and talks to it over a unix
 * socket (supervisor-client.ts). It keeps each service's pid, state and log under the root,
 * restarts a crashed service with a bounded backoff, and stops every child when it stops: on
 * SIGTERM/SIGINT, on a "shutdown" request, and when its root (or its run/muster/supervisor.json)
 * disappears. Children are spawned through `setpriv --pdeathsig SIGKILL` when it exists, so even
 * a supervisor killed with SIGKILL leaves no orphan behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { errorMessage, RunError } from "../core/errors.ts";
import { resolveCommand } from "../host/command-path.ts";
import { idResolver } from "../host/ids.ts";
import { listensOnTcp } from "../host/listening.ts";
import { openDirUnder, type PinnedDir } from "../host/pinned-dir.ts";
import { replaceFile } from "../host/replace-file.ts";
import { RootFs } from "../host/root-fs.ts";
import { acquireLock, type Lock } from "../runner/lock.ts";
import { openRunLog, type RunLog } from "../runner/run-log.ts";
import type { RunningBuiltin } from "./supervisor-builtins.ts";
import {
  newServiceMachine,
  type ServiceAction,
  type ServiceEvent,
  type ServiceMachine,
  serviceStep,
} from "./supervisor-machine.ts";
import {
  DEFAULT_RESTART_LIMITS,
  definitionPath,
  logPath,
  parseEnvFile,
  type RestartLimits,
  type ServiceDefinition,
  type ServiceStatus,
  SUPERVISOR_PATHS,
  type SupervisorRequest,
  type SupervisorResponse,
  serviceEnvironment,
  statePath,
  tellingLogLine,
} from "./supervisor-policy.ts";
import { supervisorSocketPath } from "./supervisor-socket-path.ts";

export interface SupervisorOptions {
  root: string;
  limits?: RestartLimits;
  /** how long a stopped service gets between SIGTERM and SIGKILL */
  stopTimeoutMs?: number;
  /** a start succeeds when the program listens on a TCP port, or is still alive this long after it was spawned */
  startSettleMs?: number;
  /** how often the supervisor checks that its root still exists */
  watchIntervalMs?: number;
  /** where a deep root's socket directory goes (/tmp; another in tests) */
  socketBase?: string;
}

const SETPRIV = "/usr/bin/setpriv";
const MAX_PIDS = 20;
/** how often a starting service is looked at for a listening socket */
const LISTEN_POLL_MS = 10;

interface Supervised {
  /** what its state machine decided (supervisor-machine.ts); `status` carries a copy of it */
  machine: ServiceMachine;
  status: ServiceStatus;
  def?: ServiceDefinition;
  child?: ChildProcess;
  /** a builtin service running in this process (supervisor-builtins.ts) */
  builtin?: RunningBuiltin;
  /** resolves when the current child has exited */
  exited?: Promise<void>;
  /** the restart timer of a crashed service */
  backoff?: NodeJS.Timeout;
  /** operations on one service run one after another */
  queue: Promise<unknown>;
  /** /proc/<pid>/stat start time of the child, to recognise it after a supervisor restart */
  procStart?: string;
}

/** Run until shut down. Resolves when every child has stopped and the socket is gone. */
export async function runSupervisor(opts: SupervisorOptions): Promise<void> {
  const rootFs = new RootFs(opts.root);
  const root = rootFs.root;
  const limits = opts.limits ?? DEFAULT_RESTART_LIMITS;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  const settleMs = opts.startSettleMs ?? 300;
  // before anything else: a socket directory another user made first refuses the start
  const socketPath = supervisorSocketPath(root, opts.socketBase);
  for (const d of [SUPERVISOR_PATHS.runDir, SUPERVISOR_PATHS.stateDir, SUPERVISOR_PATHS.logDir])
    fs.mkdirSync(rootFs.hostPath(d), { recursive: true });
  let lock: Lock;
  try {
    lock = await acquireLock(rootFs.hostPath(SUPERVISOR_PATHS.lock), 0, "muster supervisor");
  } catch (err) {
    throw new RunError(
      `${errorMessage(err).replace(/; waited 0 s.*$/, "")}: a supervisor already runs for ${root}`,
    );
  }
  const log: RunLog = openRunLog(root, "supervisor.log", { supervisor: process.pid });
  const services = new Map<string, Supervised>();
  const infoFile = rootFs.hostPath(SUPERVISOR_PATHS.info);
  let shuttingDown: Promise<void> | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });

  const svc = (name: string): Supervised => {
    let s = services.get(name);
    if (!s) {
      s = {
        machine: newServiceMachine(),
        status: {
          name,
          state: "stopped",
          starts: 0,
          crashes: 0,
          pids: [],
          logFile: rootFs.hostPath(logPath(name)),
        },
        queue: Promise.resolve(),
      };
      services.set(name, s);
    }
    return s;
  };

  /** Serialise operations on one service (a stop must not interleave with a start). */
  const enqueue = <T>(s: Supervised, fn: () => Promise<T>): Promise<T> => {
    const next = s.queue.then(fn, fn);
    s.queue = next.catch(() => {});
    return next;
  };

  // run state (/run: a tmpfs on a host), written at every change of every service: no fsync
  const persist = (s: Supervised) => {
    const { name } = s.status;
    try {
      replaceFile(
        rootFs,
        statePath(name, "json"),
        `${JSON.stringify({ ...s.status, procStart: s.procStart }, null, 2)}\n`,
      );
      if (s.status.pid && s.child) replaceFile(rootFs, statePath(name, "pid"), `${s.status.pid}\n`);
      else rootFs.remove(statePath(name, "pid"));
    } catch {
      // the root is going away; the watchdog shuts the supervisor down
    }
  };

  const loadDefinition = (name: string): ServiceDefinition => {
    const text = rootFs.readText(definitionPath(name));
    if (text === undefined)
      throw new RunError(
        `service ${name} has no definition (${root}${definitionPath(name)}): give the service resource a unit with execStart`,
      );
    try {
      return JSON.parse(text) as ServiceDefinition;
    } catch (err) {
      throw new RunError(`${root}${definitionPath(name)} is not valid JSON: ${errorMessage(err)}`);
    }
  };

  /**
   * Feed the service's state machine an event and do the effects it says that take no waiting
   * (save, timers, log lines); the caller does the spawn or kill among the returned actions.
   */
  const dispatch = (s: Supervised, event: ServiceEvent): ServiceAction[] => {
    const { service, actions } = serviceStep(s.machine, event);
    s.machine = service;
    const { state, crashes, error, lastExit } = service;
    Object.assign(s.status, { state, crashes, error, lastExit });
    for (const a of actions) {
      if (a.do === "persist") persist(s);
      else if (a.do === "log") log.event(a.event, { name: s.status.name, ...a.fields });
      else if (a.do === "cancel-timer") {
        clearTimeout(s.backoff);
        s.backoff = undefined;
      } else if (a.do === "arm-timer")
        s.backoff = setTimeout(() => {
          s.backoff = undefined;
          void enqueue(s, () => restartAfterCrash(s));
        }, a.delayMs);
    }
    return actions;
  };
  const says = (actions: ServiceAction[], what: ServiceAction["do"]) => actions.some((a) => a.do === what);

  /** Start a builtin service in this process; its pid is the supervisor's. */
  const startBuiltinService = async (s: Supervised, env: Record<string, string>): Promise<void> => {
    const name = s.status.name;
    const { startBuiltin } = await import("./supervisor-builtins.ts");
    const b = await startBuiltin(name, s.def!, env);
    s.builtin = b;
    s.status.pid = process.pid;
    s.status.starts++;
    s.status.pids = [...s.status.pids, process.pid].slice(-MAX_PIDS);
    s.status.startedAt = new Date().toISOString();
    s.procStart = undefined; // nothing to reap after a restart: it went with the old supervisor
    s.exited = b.exited.then(() => {});
    void b.exited.then((r) => onBuiltinExit(s, b, r.error));
    dispatch(s, { type: "spawned" });
    log.event("service.started", { name, pid: process.pid, builtin: s.def!.builtin, serving: b.describe });
  };

  const spawnChild = async (s: Supervised): Promise<void> => {
    const def = s.def!;
    const name = s.status.name;
    if (def.builtin !== undefined) {
      const env = serviceEnvironment(process.env, {}, def, { MUSTER_ROOT: root, MUSTER_SERVICE: name });
      return startBuiltinService(s, env);
    }
    const cwd = def.workingDirectory ? rootFs.hostPath(def.workingDirectory) : root;
    if (!fs.statSync(cwd, { throwIfNoEntry: false })?.isDirectory())
      throw new RunError(
        `service ${name}: working directory ${def.workingDirectory} does not exist under ${root}`,
      );
    let fromFile: Record<string, string> = {};
    if (def.environmentFile) {
      const text = rootFs.readText(def.environmentFile);
      if (text === undefined)
        throw new RunError(
          `service ${name}: environment file ${def.environmentFile} does not exist under ${root}`,
        );
      fromFile = parseEnvFile(text);
    }
    const env = serviceEnvironment(process.env, fromFile, def, { MUSTER_ROOT: root, MUSTER_SERVICE: name });
    const cmd = resolveCommand(def.command[0], env.PATH);
    if (!cmd) throw new RunError(`service ${name}: command not found: ${def.command[0]}`);
    const { uid, gid } = await credentials(def);
    const out = openServiceLog(root, name);
    const argv = fs.existsSync(SETPRIV)
      ? [SETPRIV, "--pdeathsig", "SIGKILL", "--", cmd, ...def.command.slice(1)]
      : [cmd, ...def.command.slice(1)];
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd,
        env,
        stdio: ["ignore", out, out],
        detached: true, // its own process group: stopping it stops what it started
        uid,
        gid,
      });
    } finally {
      fs.closeSync(out);
    }
    return new Promise<void>((resolve, reject) => {
      child.once("error", (err) =>
        reject(new RunError(`service ${name}: cannot start ${cmd}: ${err.message}`)),
      );
      child.once("spawn", () => {
        s.child = child;
        s.status.pid = child.pid;
        s.status.starts++;
        s.status.pids = [...s.status.pids, child.pid!].slice(-MAX_PIDS);
        s.status.startedAt = new Date().toISOString();
        s.procStart = procStartOf(child.pid!);
        s.exited = new Promise<void>((done) => child.once("exit", () => done()));
        child.once("exit", (code, signal) => onExit(s, child, code, signal));
        dispatch(s, { type: "spawned" });
        log.event("service.started", { name, pid: child.pid, command: def.command });
        resolve();
      });
    });
  };

  const credentials = async (def: ServiceDefinition): Promise<{ uid?: number; gid?: number }> => {
    if (def.user === undefined && def.group === undefined) return {};
    const ids = idResolver(root);
    const uid = def.user === undefined ? undefined : ids.uid(def.user);
    // with a user and no group: the user's primary group, as systemd's User= gives it
    const gid =
      def.group !== undefined ? ids.gid(def.group) : uid !== undefined ? ids.account?.(uid)?.gid : undefined;
    // only ask for what differs from the supervisor's own: a non-root supervisor cannot switch
    return {
      uid: uid === process.getuid?.() ? undefined : uid,
      gid: gid === process.getgid?.() ? undefined : gid,
    };
  };

  const onExit = (s: Supervised, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) => {
    killGroup(child.pid!, "SIGKILL"); // whatever it started goes with it
    if (s.child !== child) return;
    s.child = undefined;
    afterExit(s, code, signal, undefined, { pid: child.pid, code, signal });
  };

  /** A builtin stopped: asked to (stop, shutdown), or failed on its own (then as an exit with 1). */
  const onBuiltinExit = (s: Supervised, b: RunningBuiltin, error?: string) => {
    if (s.builtin !== b) return;
    s.builtin = undefined;
    afterExit(s, error === undefined ? 0 : 1, null, error, { builtin: s.def?.builtin, error });
  };

  /** After the service's process (or builtin) is gone: its state machine says stopped or restart. */
  const afterExit = (
    s: Supervised,
    code: number | null,
    signal: NodeJS.Signals | null,
    error: string | undefined,
    fields: Record<string, unknown>,
  ) => {
    s.status.pid = undefined;
    log.event("service.exited", { name: s.status.name, ...fields });
    const policy = s.def?.restart ?? "on-failure";
    dispatch(s, { type: "exited", code, signal, error, now: Date.now(), policy, limits });
  };

  /** The restart timer of a crashed service fired and its turn in the service's queue came. */
  const restartAfterCrash = async (s: Supervised): Promise<void> => {
    if (!says(dispatch(s, { type: "timer" }), "spawn")) return; // stopped or started meanwhile
    try {
      s.def = loadDefinition(s.status.name);
      await spawnChild(s);
    } catch (err) {
      dispatch(s, { type: "start-failed", error: errorMessage(err) });
    }
  };

  const start = async (s: Supervised): Promise<void> => {
    if (!says(dispatch(s, { type: "start" }), "spawn")) return; // already running
    // no definition: the start fails as asked, and the service stays as it was
    s.def = loadDefinition(s.status.name);
    dispatch(s, { type: "spawning" });
    try {
      await spawnChild(s);
      // alive after a moment, or listening already: started. Dead by then: the start failed (no
      // crash restarts). A builtin is started once it listens: nothing to wait for
      const exitedEarly = s.builtin ? false : await exitedBeforeSettling(s.exited!, s.child!.pid!, settleMs);
      if (exitedEarly) {
        const e = s.status.lastExit!;
        const how = e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
        throw new RunError(
          `service ${s.status.name} ${how} right after it started${lastLogLine(s.status.logFile)} (log: ${s.status.logFile})`,
        );
      }
      dispatch(s, { type: "settled" });
    } catch (err) {
      dispatch(s, { type: "start-failed", error: errorMessage(err) });
      throw err;
    }
  };

  const stop = async (s: Supervised): Promise<void> => {
    if (!says(dispatch(s, { type: "stop" }), "kill")) return; // nothing runs
    if (s.builtin) {
      await s.builtin.stop();
      await s.exited;
    } else if (s.child) {
      const child = s.child;
      killGroup(child.pid!, "SIGTERM");
      const exited = s.exited!;
      const inTime = await within(exited, stopTimeoutMs);
      if (!inTime) {
        log.event("service.kill", { name: s.status.name, pid: child.pid, afterMs: stopTimeoutMs });
        killGroup(child.pid!, "SIGKILL");
        await exited;
      }
    }
    dispatch(s, { type: "stopped" });
  };

  const reload = async (s: Supervised): Promise<void> => {
    const def = loadDefinition(s.status.name);
    if (!s.child || !def.reloadSignal || def.builtin !== undefined) {
      await stop(s);
      await start(s);
      return;
    }
    process.kill(s.child.pid!, def.reloadSignal);
    log.event("service.reloaded", { name: s.status.name, pid: s.child.pid, signal: def.reloadSignal });
  };

  const knownNames = (): string[] => {
    const names = new Set(services.keys());
    for (const f of rootFs.readDir(SUPERVISOR_PATHS.definitions))
      if (f.endsWith(".json")) names.add(f.slice(0, -5));
    return [...names].sort();
  };

  const statusOf = (names: string[]): Record<string, ServiceStatus> =>
    Object.fromEntries(names.map((n) => [n, { ...svc(n).status }]));

  const handle = async (req: SupervisorRequest): Promise<SupervisorResponse> => {
    const reply = (names: string[]): SupervisorResponse => ({
      ok: true,
      pid: process.pid,
      services: statusOf(names),
    });
    switch (req.op) {
      case "ping":
        return reply([]);
      case "status":
        return reply(req.name ? [req.name] : knownNames());
      case "shutdown":
        setImmediate(() => void shutdown("asked to shut down"));
        return reply([]);
      case "start":
      case "stop":
      case "restart":
      case "reload": {
        if (shuttingDown) return { ok: false, error: "the supervisor is shutting down" };
        if (!/^[A-Za-z0-9][A-Za-z0-9:_.@-]*$/.test(req.name))
          return { ok: false, error: `bad service name ${req.name}` };
        const s = svc(req.name);
        const op = req.op;
        await enqueue(s, async () => {
          if (op === "start") await start(s);
          else if (op === "stop") await stop(s);
          else if (op === "restart") {
            await stop(s);
            await start(s);
          } else await reload(s);
        });
        log.event(`service.${op}`, { name: req.name, pid: s.status.pid });
        return reply([req.name]);
      }
      default:
        return { ok: false, error: `unknown request ${JSON.stringify(req)}` };
    }
  };

  const server = net.createServer((sock) => {
    let buf = "";
    sock.on("error", () => {});
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = "";
      let req: SupervisorRequest;
      try {
        req = JSON.parse(line) as SupervisorRequest;
      } catch {
        sock.end(`${JSON.stringify({ ok: false, error: "bad request: not JSON" })}\n`);
        return;
      }
      handle(req).then(
        (res) => sock.end(`${JSON.stringify(res)}\n`),
        (err) => sock.end(`${JSON.stringify({ ok: false, error: errorMessage(err) })}\n`),
      );
    });
  });

  const shutdown = (why: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log.event("supervisor.stopping", { why });
      clearInterval(watchdog);
      for (const s of services.values()) dispatch(s, { type: "shutdown" });
      await Promise.all([...services.values()].map((s) => enqueue(s, () => stop(s)).catch(() => {})));
      await new Promise<void>((r) => server.close(() => r()));
      for (const f of [socketPath, infoFile]) fs.rmSync(f, { force: true });
      log.event("supervisor.stopped", { why });
      log.close();
      lock.release();
      resolveDone();
    })();
    return shuttingDown;
  };

  reapLeftovers(rootFs, log);
  fs.rmSync(socketPath, { force: true }); // a socket file from a supervisor that died
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
  replaceFile(
    rootFs,
    SUPERVISOR_PATHS.info,
    `${JSON.stringify({ pid: process.pid, socket: socketPath, root, startedAt: new Date().toISOString() })}\n`,
  );
  log.event("supervisor.started", { root, socket: socketPath });

  // the instance is gone when its root (or our info file in it) is: stop everything
  watchdog = setInterval(() => {
    if (!fs.existsSync(infoFile)) void shutdown(`${infoFile} disappeared`);
  }, opts.watchIntervalMs ?? 1000);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(sig, () => void shutdown(sig));

  // enabled services start with the supervisor, as enabled units start at boot
  for (const f of rootFs.readDir(SUPERVISOR_PATHS.enabled)) {
    const s = svc(f);
    enqueue(s, () => start(s)).catch((err) =>
      log.event("service.start-failed", { name: f, error: errorMessage(err) }),
    );
  }
  return done;
}

/** Children a killed supervisor left running (only when setpriv was not there to kill them). */
function reapLeftovers(rootFs: RootFs, log: RunLog): void {
  for (const f of rootFs.readDir(SUPERVISOR_PATHS.stateDir)) {
    if (!f.endsWith(".json")) continue;
    try {
      const st = JSON.parse(rootFs.readText(`${SUPERVISOR_PATHS.stateDir}/${f}`) ?? "{}") as {
        pid?: number;
        procStart?: string;
      };
      // the pid is ours only if the process started when we recorded it (pids get reused)
      if (st.pid && st.procStart && procStartOf(st.pid) === st.procStart) {
        killGroup(st.pid, "SIGKILL");
        log.event("service.reaped", { file: f, pid: st.pid });
      }
      rootFs.remove(`${SUPERVISOR_PATHS.stateDir}/${f.replace(/\.json$/, ".pid")}`);
    } catch {}
  }
}

/**
 * Did a child that was just spawned exit before it settled? It has settled once it listens on a
 * TCP port (a server that listens is past its start: waiting longer says nothing more), or when
 * it is still alive `settleMs` after it was spawned. Without the first, every start of a web app
 * took the whole settle time (300 ms of a first boot's converge of about 0.45 s).
 */
async function exitedBeforeSettling(exited: Promise<void>, pid: number, settleMs: number): Promise<boolean> {
  const until = Date.now() + settleMs;
  const known = new Set<string>(); // its sockets already found not listening
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) return false;
    if (await within(exited, Math.min(LISTEN_POLL_MS, left))) return true;
    if (listensOnTcp(pid, known)) return false;
  }
}

/** True when `p` settles within `ms`; the timer is cleared either way (it must not keep us alive). */
function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {}
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function procStartOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/**
 * The service's log, opened for appending in var/log/muster/services held by descriptor (see
 * pinned-dir.ts), never through a link: /var/log is group-writable on some systems (syslog), and
 * a member could put their own directory in place of var/log/muster with services/app.log a
 * link to /etc/cron.d/x; root would then append the service's output there at its next start.
 */
function openServiceLog(root: string, name: string): number {
  const dir = openDirUnder(root, "var/log/muster", { create: true, mode: 0o755, ownOnly: true });
  let services: PinnedDir | undefined;
  try {
    services = openDirUnder(dir.path(""), "services", { create: true, mode: 0o755, ownOnly: true });
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    const fd = fs.openSync(
      services.path(`${name}.log`),
      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK,
      0o640,
    );
    if (!fs.fstatSync(fd).isFile()) {
      fs.closeSync(fd);
      throw new RunError(
        `${services.shown}/${name}.log is not a regular file: remove it (muster makes it again)`,
      );
    }
    return fd;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP")
      throw new RunError(
        `${dir.shown}/services/${name}.log is a symbolic link: muster does not write through it; remove it`,
      );
    throw err;
  } finally {
    services?.close();
    dir.close();
  }
}

function lastLogLine(file: string): string {
  try {
    // never a link's target, never a FIFO's wait: this line goes into an error and the run log
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 4096);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      const line = tellingLogLine(buf.toString("utf8"));
      return line ? `: ${line.slice(0, 200)}` : "";
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return "";
  }
}
