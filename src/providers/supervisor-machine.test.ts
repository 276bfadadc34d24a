import { describe, expect, it } from "vitest";
import {
  newServiceMachine,
  type ServiceAction,
  type ServiceEvent,
  type ServiceMachine,
  serviceStep,
} from "./supervisor-machine.ts";
import { DEFAULT_RESTART_LIMITS, type RestartPolicy } from "./supervisor-policy.ts";

const now = 1_000_000;
const at = new Date(now).toISOString();
const limits = DEFAULT_RESTART_LIMITS;
const m = (over: Partial<ServiceMachine>): ServiceMachine => ({ ...newServiceMachine(), ...over });
const exit = (
  code: number | null,
  signal: string | null = null,
  policy: RestartPolicy = "on-failure",
  error?: string,
): ServiceEvent => ({ type: "exited", code, signal, error, now, policy, limits });
const persist: ServiceAction = { do: "persist" };
const cancel: ServiceAction = { do: "cancel-timer" };
const spawn: ServiceAction = { do: "spawn" };
const kill: ServiceAction = { do: "kill" };
const arm = (delayMs: number): ServiceAction => ({ do: "arm-timer", delayMs });
const gaveUp = (reason: string): ServiceAction => ({
  do: "log",
  event: "service.gave-up",
  fields: { reason },
});
const fiveRecent = [now - 5000, now - 4000, now - 3000, now - 2000, now - 1000];

/** [what happens, the service before, the event, the service after (only what changed), the actions] */
const table: [string, ServiceMachine, ServiceEvent, Partial<ServiceMachine>, ServiceAction[]][] = [
  // start
  ["start of a stopped service spawns it", m({}), { type: "start" }, {}, [spawn]],
  ["start of a failed service spawns it", m({ state: "failed", error: "x" }), { type: "start" }, {}, [spawn]],
  [
    "start while backing off cancels the restart timer and spawns",
    m({ state: "backoff" }),
    { type: "start" },
    {},
    [cancel, spawn],
  ],
  [
    "start of a running service does nothing",
    m({ state: "running", alive: true }),
    { type: "start" },
    {},
    [],
  ],
  ["its definition found, it is starting", m({}), { type: "spawning" }, { state: "starting" }, []],
  [
    "spawned during a start: alive, waiting to settle, no error left",
    m({ state: "starting", error: "old" }),
    { type: "spawned" },
    { alive: true, error: undefined },
    [],
  ],
  [
    "settled: running, and the crash count for restarts starts over",
    m({ state: "starting", alive: true, crashTimes: [now - 1] }),
    { type: "settled" },
    { state: "running", crashTimes: [] },
    [persist],
  ],
  [
    "a start that fails is failed with why",
    m({ state: "starting" }),
    { type: "start-failed", error: "command not found: x" },
    { state: "failed", error: "command not found: x" },
    [persist],
  ],
  [
    "dying while starting fails the start (the start says so), no crash and no restart",
    m({ state: "starting", alive: true }),
    exit(1),
    { alive: false, lastExit: { code: 1, signal: null, at } },
    [persist],
  ],
  [
    "dying while starting during a shutdown: still the start's to fail",
    m({ state: "starting", alive: true, shuttingDown: true }),
    exit(null, "SIGTERM"),
    { alive: false, lastExit: { code: null, signal: "SIGTERM", at } },
    [persist],
  ],
  // exits nobody asked for
  [
    "a crash restarts after the first backoff",
    m({ state: "running", alive: true }),
    exit(1),
    {
      state: "backoff",
      alive: false,
      crashes: 1,
      crashTimes: [now],
      lastExit: { code: 1, signal: null, at },
    },
    [persist, arm(100)],
  ],
  [
    "each crash in the window doubles the backoff; old crash times drop out",
    m({ state: "running", alive: true, crashes: 3, crashTimes: [now - 60_000, now - 2000, now - 1000] }),
    exit(null, "SIGKILL"),
    {
      state: "backoff",
      alive: false,
      crashes: 4,
      crashTimes: [now - 2000, now - 1000, now],
      lastExit: { code: null, signal: "SIGKILL", at },
    },
    [persist, arm(400)],
  ],
  [
    "too many crashes in the window: failed, given up",
    m({ state: "running", alive: true, crashes: 5, crashTimes: fiveRecent }),
    exit(3),
    {
      state: "failed",
      alive: false,
      crashes: 6,
      error: "exited with code 3; restarted 5 times within 30 s, giving up",
      lastExit: { code: 3, signal: null, at },
    },
    [gaveUp("exited with code 3; restarted 5 times within 30 s, giving up"), persist],
  ],
  [
    "a clean exit with restart on-failure: stopped, not failed",
    m({ state: "running", alive: true }),
    exit(0),
    { state: "stopped", alive: false, crashes: 1, lastExit: { code: 0, signal: null, at } },
    [gaveUp("exited with code 0"), persist],
  ],
  [
    "a crash with restart no: failed",
    m({ state: "running", alive: true }),
    exit(2, null, "no"),
    {
      state: "failed",
      alive: false,
      crashes: 1,
      error: "exited with code 2",
      lastExit: { code: 2, signal: null, at },
    },
    [gaveUp("exited with code 2"), persist],
  ],
  [
    "a clean exit with restart always: restarted",
    m({ state: "running", alive: true }),
    exit(0, null, "always"),
    {
      state: "backoff",
      alive: false,
      crashes: 1,
      crashTimes: [now],
      lastExit: { code: 0, signal: null, at },
    },
    [persist, arm(100)],
  ],
  [
    "a builtin that fails on its own keeps its reason while it is restarted",
    m({ state: "running", alive: true }),
    exit(1, null, "on-failure", "listen EADDRINUSE"),
    {
      state: "backoff",
      alive: false,
      crashes: 1,
      crashTimes: [now],
      error: "listen EADDRINUSE",
      lastExit: { code: 1, signal: null, at },
    },
    [persist, arm(100)],
  ],
  [
    "an exit during a shutdown is no crash: stopped",
    m({ state: "running", alive: true, shuttingDown: true }),
    exit(1),
    { state: "stopped", alive: false, lastExit: { code: 1, signal: null, at } },
    [persist],
  ],
  // the restart timer
  [
    "the timer fires while backing off: spawn again",
    m({ state: "backoff", crashes: 1, crashTimes: [now] }),
    { type: "timer" },
    {},
    [spawn],
  ],
  ["the timer fires after a stop: nothing", m({ state: "stopped" }), { type: "timer" }, {}, []],
  ["the timer fires after a start: nothing", m({ state: "running", alive: true }), { type: "timer" }, {}, []],
  [
    "the timer fires during a shutdown: nothing",
    m({ state: "backoff", shuttingDown: true }),
    { type: "timer" },
    {},
    [],
  ],
  [
    "spawned again after a crash: running at once",
    m({ state: "backoff", crashes: 1, crashTimes: [now], error: "x" }),
    { type: "spawned" },
    { state: "running", alive: true, error: undefined },
    [persist],
  ],
  [
    "the restart cannot spawn: failed with why",
    m({ state: "backoff", crashes: 1 }),
    { type: "start-failed", error: "service app has no definition" },
    { state: "failed", error: "service app has no definition" },
    [persist],
  ],
  // stop
  [
    "stop of a running service kills it",
    m({ state: "running", alive: true }),
    { type: "stop" },
    { state: "stopping" },
    [kill],
  ],
  [
    "stop while backing off cancels the restart: stopped",
    m({ state: "backoff", crashes: 1 }),
    { type: "stop" },
    { state: "stopped" },
    [cancel, persist],
  ],
  ["stop of a stopped service: stopped", m({}), { type: "stop" }, {}, [persist]],
  [
    "stop of a failed service: stopped",
    m({ state: "failed" }),
    { type: "stop" },
    { state: "stopped" },
    [persist],
  ],
  [
    "the exit a stop asked for is no crash",
    m({ state: "stopping", alive: true }),
    exit(null, "SIGTERM"),
    { state: "stopped", alive: false, lastExit: { code: null, signal: "SIGTERM", at } },
    [persist],
  ],
  [
    "the stop is over: stopped",
    m({ state: "stopping" }),
    { type: "stopped" },
    { state: "stopped" },
    [persist],
  ],
  // shutdown
  [
    "a shutdown only marks it: its stop comes in its turn",
    m({ state: "running", alive: true }),
    { type: "shutdown" },
    { shuttingDown: true },
    [],
  ],
];

describe("serviceStep", () => {
  it.each(table)("%s", (_what, before, event, changed, actions) => {
    const step = serviceStep(before, event);
    expect(step.service).toEqual({ ...before, ...changed });
    expect(step.actions).toEqual(actions);
  });

  it("leaves the state it was given as it was", () => {
    const before = m({ state: "running", alive: true, crashTimes: [now - 1] });
    const copy = structuredClone(before);
    serviceStep(before, exit(1));
    expect(before).toEqual(copy);
  });

  it("a service that keeps crashing backs off longer each time, then gives up", () => {
    let s = m({ state: "running", alive: true });
    const delays: number[] = [];
    for (let i = 0; i < 10 && s.state !== "failed"; i++) {
      const crashed = serviceStep(s, exit(1));
      s = crashed.service;
      const armed = crashed.actions.find((a) => a.do === "arm-timer");
      if (!armed) break;
      delays.push(armed.delayMs);
      expect(serviceStep(s, { type: "timer" }).actions).toEqual([spawn]);
      s = serviceStep(s, { type: "spawned" }).service;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600]);
    expect(s.state).toBe("failed");
    expect(s.crashes).toBe(6);
  });
});
