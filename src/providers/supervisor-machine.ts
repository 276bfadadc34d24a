/**
 * PURE: one supervised service's life as a state machine. The supervisor daemon feeds it what was
 * asked (start, stop), what happened (spawned, settled, exited, a backoff timer fired) and
 * whether it is shutting down; `serviceStep` answers with the next state and the effects to do
 * (spawn, kill, save the state, arm or cancel the restart timer). The daemon only does those
 * effects, so every decision about a service is here and tested from tables.
 */
import {
  DEFAULT_RESTART_LIMITS,
  type RestartLimits,
  type RestartPolicy,
  restartDecision,
  type ServiceRunState,
  type ServiceStatus,
} from "./supervisor-policy.ts";

export interface ServiceMachine {
  state: ServiceRunState;
  /** a process (or builtin) of the service is alive */
  alive: boolean;
  /** unexpected exits since the supervisor started */
  crashes: number;
  /** times of the crash restarts still inside the restart window */
  crashTimes: number[];
  /** why it is failed */
  error?: string;
  lastExit?: ServiceStatus["lastExit"];
  /** the supervisor is stopping: no exit is a crash and nothing restarts */
  shuttingDown: boolean;
}

export type ServiceEvent =
  /** a start was asked for */
  | { type: "start" }
  /** the start found the service's definition and spawns it now */
  | { type: "spawning" }
  /** its process (or builtin) runs */
  | { type: "spawned" }
  /** a start saw the process settle (listening, or alive long enough) */
  | { type: "settled" }
  /** a start (or a restart after a crash) could not run the service */
  | { type: "start-failed"; error: string }
  /** the restart timer of a crashed service fired (and its turn in the service's queue came) */
  | { type: "timer" }
  /** a stop was asked for */
  | { type: "stop" }
  /** the kill that a stop asked for is over: the process is gone */
  | { type: "stopped" }
  /** its process (or builtin) exited; `error` is a builtin's own reason */
  | {
      type: "exited";
      code: number | null;
      signal: string | null;
      error?: string;
      now: number;
      policy: RestartPolicy;
      limits?: RestartLimits;
    }
  /** the supervisor is shutting down */
  | { type: "shutdown" };

export type ServiceAction =
  /** run the service (a start then waits for it to settle; a restart after a crash does not) */
  | { do: "spawn" }
  /** stop its process: SIGTERM, SIGKILL after the stop timeout (a builtin: its own stop) */
  | { do: "kill" }
  /** write its run state */
  | { do: "persist" }
  /** arm the restart timer: a "timer" event after this long */
  | { do: "arm-timer"; delayMs: number }
  | { do: "cancel-timer" }
  | { do: "log"; event: string; fields: Record<string, unknown> };

export interface ServiceStep {
  service: ServiceMachine;
  actions: ServiceAction[];
}

export function newServiceMachine(): ServiceMachine {
  return { state: "stopped", alive: false, crashes: 0, crashTimes: [], shuttingDown: false };
}

export function serviceStep(service: ServiceMachine, event: ServiceEvent): ServiceStep {
  const s = service;
  const to = (next: Partial<ServiceMachine>, ...actions: ServiceAction[]): ServiceStep => ({
    service: { ...s, ...next },
    actions,
  });
  // a timer is armed exactly while the service waits in backoff
  const cancelTimer: ServiceAction[] = s.state === "backoff" ? [{ do: "cancel-timer" }] : [];
  switch (event.type) {
    case "start":
      if (s.alive) return to({}); // already running
      return to({}, ...cancelTimer, { do: "spawn" });
    case "spawning":
      return to({ state: "starting" });
    case "spawned":
      // a restart after a crash is running once spawned; a start waits for it to settle
      return s.state === "backoff"
        ? to({ alive: true, error: undefined, state: "running" }, { do: "persist" })
        : to({ alive: true, error: undefined });
    case "settled":
      return to({ state: "running", crashTimes: [] }, { do: "persist" });
    case "start-failed":
      return to({ state: "failed", error: event.error }, { do: "persist" });
    case "timer":
      if (s.state !== "backoff" || s.shuttingDown) return to({}); // stopped or started meanwhile
      return to({}, { do: "spawn" });
    case "stop":
      if (!s.alive) return to({ state: "stopped" }, ...cancelTimer, { do: "persist" });
      return to({ state: "stopping" }, ...cancelTimer, { do: "kill" });
    case "stopped":
      return to({ state: "stopped" }, { do: "persist" });
    case "shutdown":
      return to({ shuttingDown: true });
    case "exited":
      return afterExit(s, event);
  }
}

/** After the service's process (or builtin) is gone: stopped as asked, or a crash to restart. */
function afterExit(s: ServiceMachine, e: Extract<ServiceEvent, { type: "exited" }>): ServiceStep {
  const exited: ServiceMachine = {
    ...s,
    alive: false,
    lastExit: { code: e.code, signal: e.signal, at: new Date(e.now).toISOString() },
    error: e.error ?? s.error,
  };
  // a start that sees its process die fails the start itself: no crash, no restart
  if (s.state === "starting") return { service: exited, actions: [{ do: "persist" }] };
  if (s.state === "stopping" || s.shuttingDown)
    return { service: { ...exited, state: "stopped" }, actions: [{ do: "persist" }] };
  const limits = e.limits ?? DEFAULT_RESTART_LIMITS;
  const crashed = { ...exited, crashes: s.crashes + 1 };
  const decision = restartDecision(e.policy, { code: e.code, signal: e.signal }, s.crashTimes, e.now, limits);
  if (!decision.restart) {
    const failed = e.signal !== null || e.code !== 0;
    return {
      service: failed
        ? { ...crashed, state: "failed", error: decision.reason }
        : { ...crashed, state: "stopped" },
      actions: [
        { do: "log", event: "service.gave-up", fields: { reason: decision.reason } },
        { do: "persist" },
      ],
    };
  }
  return {
    service: {
      ...crashed,
      state: "backoff",
      crashTimes: [...s.crashTimes.filter((t) => e.now - t < limits.intervalMs), e.now],
    },
    actions: [{ do: "persist" }, { do: "arm-timer", delayMs: decision.delayMs }],
  };
}
