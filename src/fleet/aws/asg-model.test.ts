import { describe, expect, it } from "vitest";
import { InputError } from "../../core/errors.ts";
import {
  type AsgAction,
  type AsgConfig,
  type AsgEvent,
  type AsgState,
  activeInstances,
  countByState,
  createGroup,
  globalTimeoutMs,
  instanceIdFor,
  launchBackoffMs,
  MAX_GLOBAL_TIMEOUT_MS,
  nextDeadline,
  step,
} from "./asg-model.ts";

const I1 = instanceIdFor(1);
const I2 = instanceIdFor(2);
const I3 = instanceIdFor(3);
const I4 = instanceIdFor(4);

const HOOKED: AsgConfig = {
  name: "web",
  min: 1,
  max: 4,
  healthCheckType: "ELB",
  healthCheckGracePeriodMs: 10_000,
  launchHook: { name: "boot", heartbeatTimeoutMs: 60_000, defaultResult: "ABANDON" },
};

const PLAIN: AsgConfig = { name: "web", min: 1, max: 4, healthCheckType: "ELB", healthCheckGracePeriodMs: 0 };

/** Actions in a compact, readable form. */
function brief(actions: AsgAction[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case "transition":
        return `${a.instanceId} ${a.from ?? "-"} -> ${a.to}`;
      case "start-lifecycle-action":
        return `start-lifecycle-action ${a.instanceId} ${a.hook} until ${a.timeoutAt}`;
      case "end-lifecycle-action":
        return `end-lifecycle-action ${a.instanceId} ${a.hook} ${a.result} via ${a.via}`;
      case "desired-changed":
        return `desired ${a.from} -> ${a.to}`;
      case "note":
        return `note: ${a.message}`;
      default:
        return `${a.type} ${a.instanceId}`;
    }
  });
}

/** A small driver: feed events at times, keep every action. */
class Group {
  state: AsgState;
  log: AsgAction[] = [];
  last: AsgAction[] = [];
  constructor(config: AsgConfig, desired?: number, now = 0) {
    const r = createGroup(config, now, desired);
    this.state = r.state;
    this.last = r.actions;
    this.log.push(...r.actions);
  }
  send(event: AsgEvent, now: number): string[] {
    const r = step(this.state, event, now);
    this.state = r.state;
    this.last = r.actions;
    this.log.push(...r.actions);
    return brief(r.actions);
  }
  inst(id: string) {
    const i = this.state.instances.find((x) => x.id === id);
    if (!i) throw new Error(`no ${id}`);
    return i;
  }
  states(): Record<string, string> {
    return Object.fromEntries(this.state.instances.map((i) => [i.id, i.state]));
  }
  /** Launch and CONTINUE an instance at `now` (for groups with a launch hook). */
  bringUp(id: string, now: number): void {
    this.send({ type: "instance-launched", instanceId: id }, now);
    if (this.state.config.launchHook) {
      this.send({ type: "lifecycle-action-completed", instanceId: id, result: "CONTINUE" }, now);
    }
    this.send({ type: "target-health", instanceId: id, state: "healthy" }, now);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe("creating a group", () => {
  it("starts at min (or the given desired) and launches that many Pending instances", () => {
    const g = new Group(HOOKED, undefined, 1000);
    expect(g.state.desired).toBe(1);
    expect(brief(g.last)).toEqual([`launch ${I1}`, `${I1} - -> Pending`]);
    expect(g.inst(I1)).toMatchObject({
      state: "Pending",
      launchedAt: 1000,
      health: "Healthy",
      registered: false,
    });
    const g3 = new Group(HOOKED, 3);
    expect(activeInstances(g3.state).map((i) => i.id)).toEqual([I1, I2, I3]);
  });

  it("clamps the initial desired capacity to [min, max] and says so", () => {
    const g = new Group(HOOKED, 9);
    expect(g.state.desired).toBe(4);
    expect(brief(g.last)[0]).toBe("note: desired capacity 9 is outside [1, 4]: using 4");
  });

  it("gives EC2-style instance ids", () => {
    expect(I1).toBe("i-00000000000000001");
    expect(instanceIdFor(255)).toBe("i-000000000000000ff");
  });

  it("step is pure: the state passed in is never changed", () => {
    const g = new Group(HOOKED, 2);
    const frozen = deepFreeze(structuredClone(g.state));
    const before = JSON.stringify(frozen);
    const r = step(frozen, { type: "instance-launched", instanceId: I1 }, 5);
    expect(JSON.stringify(frozen)).toBe(before);
    expect(r.state.instances[0]!.state).toBe("Pending:Wait");
    // Same input, same output.
    expect(step(frozen, { type: "instance-launched", instanceId: I1 }, 5)).toEqual(r);
  });
});

describe("desired capacity", () => {
  it("set-desired launches the difference, clamped to [min, max]", () => {
    const g = new Group(PLAIN);
    expect(g.send({ type: "set-desired", desired: 3 }, 10)).toEqual([
      "desired 1 -> 3",
      `launch ${I2}`,
      `${I2} - -> Pending`,
      `launch ${I3}`,
      `${I3} - -> Pending`,
    ]);
    expect(g.send({ type: "set-desired", desired: 10 }, 20)).toEqual([
      "note: desired capacity 10 is outside [1, 4]: using 4",
      "desired 3 -> 4",
      `launch ${I4}`,
      `${I4} - -> Pending`,
    ]);
    expect(g.send({ type: "set-desired", desired: 0 }, 30)[0]).toBe(
      "note: desired capacity 0 is outside [1, 4]: using 1",
    );
    expect(g.state.desired).toBe(1);
  });

  it("rejects a desired capacity that is not a whole number >= 0", () => {
    const g = new Group(PLAIN);
    expect(() => g.send({ type: "set-desired", desired: -1 }, 0)).toThrow(InputError);
    expect(() => g.send({ type: "set-desired", desired: 1.5 }, 0)).toThrow(/whole number >= 0 \(got 1.5\)/);
  });

  it("an unchanged desired capacity does nothing", () => {
    const g = new Group(PLAIN);
    expect(g.send({ type: "set-desired", desired: 1 }, 0)).toEqual([]);
  });
});

describe("launch lifecycle hook", () => {
  it("Pending -> Pending:Wait -> CONTINUE -> Pending:Proceed -> InService, registered", () => {
    const g = new Group(HOOKED, 1, 0);
    expect(g.send({ type: "instance-launched", instanceId: I1 }, 2000)).toEqual([
      `${I1} Pending -> Pending:Wait`,
      `start-lifecycle-action ${I1} boot until 62000`,
    ]);
    expect(g.last[1]).toMatchObject({
      transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      heartbeatTimeoutMs: 60_000,
      defaultResult: "ABANDON",
    });
    expect(g.inst(I1).lifecycleAction).toMatchObject({
      startedAt: 2000,
      timeoutAt: 62_000,
      globalDeadline: 2000 + 6_000_000,
    });
    expect(g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }, 5000)).toEqual([
      `end-lifecycle-action ${I1} boot CONTINUE via api`,
      `${I1} Pending:Wait -> Pending:Proceed`,
      `${I1} Pending:Proceed -> InService`,
      `register-target ${I1}`,
    ]);
    expect(g.inst(I1)).toMatchObject({ state: "InService", inServiceAt: 5000, registered: true });
    expect(g.inst(I1).lifecycleAction).toBeUndefined();
  });

  it("without a launch hook: Pending -> InService at once", () => {
    const g = new Group(PLAIN);
    expect(g.send({ type: "instance-launched", instanceId: I1 }, 100)).toEqual([
      `${I1} Pending -> InService`,
      `register-target ${I1}`,
    ]);
  });

  it("ABANDON terminates the instance and launches a replacement", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 1000);
    expect(g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "ABANDON" }, 3000)).toEqual([
      `end-lifecycle-action ${I1} boot ABANDON via api`,
      `${I1} Pending:Wait -> Terminating`,
      `terminate ${I1}`,
      `launch ${I2}`,
      `${I2} - -> Pending`,
    ]);
    expect(g.inst(I1).cause).toBe("launch lifecycle action completed: ABANDON");
    // Never registered: nothing to deregister.
    expect(g.log.some((a) => a.type === "register-target" || a.type === "deregister-target")).toBe(false);
    expect(g.send({ type: "instance-died", instanceId: I1 }, 3500)).toEqual([
      `${I1} Terminating -> Terminated`,
    ]);
    expect(g.inst(I1).terminatedAt).toBe(3500);
    expect(countByState(g.state)).toMatchObject({ Pending: 1, Terminated: 1 });
  });

  it("the heartbeat timeout applies the default result ABANDON, and the group replaces the instance", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    expect(nextDeadline(g.state)).toBe(60_000);
    expect(g.send({ type: "tick" }, 59_999)).toEqual([]);
    expect(g.send({ type: "tick" }, 60_000)).toEqual([
      `end-lifecycle-action ${I1} boot ABANDON via timeout`,
      `${I1} Pending:Wait -> Terminating`,
      `terminate ${I1}`,
      `launch ${I2}`,
      `${I2} - -> Pending`,
    ]);
    expect(g.inst(I1).cause).toBe("launch heartbeat timeout reached: default result ABANDON");
    // A CONTINUE that arrives too late changes nothing.
    expect(
      g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }, 61_000),
    ).toEqual([
      `note: CompleteLifecycleAction CONTINUE while Terminating: no lifecycle action pending, ignored`,
    ]);
  });

  it("a due timeout is applied before any later event (time passed in counts, not only ticks)", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    const out = g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }, 70_000);
    expect(out[0]).toBe(`end-lifecycle-action ${I1} boot ABANDON via timeout`);
    expect(out).toContain(
      `note: CompleteLifecycleAction CONTINUE while Terminating: no lifecycle action pending, ignored`,
    );
    expect(g.inst(I1).state).toBe("Terminating");
  });

  it("default result CONTINUE puts the instance in service on timeout", () => {
    const g = new Group({ ...HOOKED, launchHook: { ...HOOKED.launchHook!, defaultResult: "CONTINUE" } }, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    expect(g.send({ type: "tick" }, 60_000)).toEqual([
      `end-lifecycle-action ${I1} boot CONTINUE via timeout`,
      `${I1} Pending:Wait -> Pending:Proceed`,
      `${I1} Pending:Proceed -> InService`,
      `register-target ${I1}`,
    ]);
  });

  it("a heartbeat restarts the heartbeat timeout from now", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    const out = g.send({ type: "lifecycle-heartbeat", instanceId: I1 }, 50_000);
    expect(out).toEqual([`note: heartbeat 1: boot now times out at ${new Date(110_000).toISOString()}`]);
    expect(g.inst(I1).lifecycleAction).toMatchObject({ timeoutAt: 110_000, heartbeats: 1 });
    expect(g.send({ type: "tick" }, 100_000)).toEqual([]);
    expect(g.inst(I1).state).toBe("Pending:Wait");
    expect(g.send({ type: "tick" }, 110_000)[0]).toBe(`end-lifecycle-action ${I1} boot ABANDON via timeout`);
  });

  it("heartbeats never extend past the global timeout (100 x heartbeat timeout)", () => {
    const cfg = {
      ...HOOKED,
      launchHook: { name: "boot", heartbeatTimeoutMs: 1000, defaultResult: "ABANDON" as const },
    };
    const g = new Group(cfg, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    expect(g.inst(I1).lifecycleAction!.globalDeadline).toBe(100_000);
    for (let t = 900; t < 100_000; t += 900) {
      g.send({ type: "lifecycle-heartbeat", instanceId: I1 }, t);
      expect(g.inst(I1).state).toBe("Pending:Wait");
    }
    expect(g.inst(I1).lifecycleAction!.timeoutAt).toBe(100_000);
    expect(g.last.at(-1)).toMatchObject({
      type: "note",
      message: expect.stringContaining("(the global timeout)"),
    });
    const out = g.send({ type: "tick" }, 100_000);
    expect(out[0]).toBe(`end-lifecycle-action ${I1} boot ABANDON via timeout`);
    expect(g.inst(I1).cause).toBe("launch global timeout reached: default result ABANDON");
  });

  it("the global timeout is 100 x the heartbeat timeout or 48 h, whichever is smaller", () => {
    expect(globalTimeoutMs(60_000)).toBe(6_000_000);
    expect(globalTimeoutMs(3600_000)).toBe(48 * 3600_000);
    expect(globalTimeoutMs(7200_000)).toBe(MAX_GLOBAL_TIMEOUT_MS);
  });

  it("a heartbeat or completion with no pending action is ignored with a note", () => {
    const g = new Group(PLAIN);
    expect(g.send({ type: "lifecycle-heartbeat", instanceId: I1 }, 0)).toEqual([
      "note: heartbeat while Pending: no lifecycle action pending, ignored",
    ]);
    expect(g.send({ type: "lifecycle-heartbeat", instanceId: "i-nope" }, 0)).toEqual([
      "note: RecordLifecycleActionHeartbeat: no instance i-nope in group web",
    ]);
  });

  it("the fail-closed story: git down, every boot ABANDONs and is replaced; git back, the replacement serves", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "ABANDON" }, 5000);
    g.send({ type: "instance-died", instanceId: I1 }, 5100);
    g.send({ type: "instance-launched", instanceId: I2 }, 6000);
    g.send({ type: "lifecycle-action-completed", instanceId: I2, result: "CONTINUE" }, 9000);
    expect(g.states()).toEqual({ [I1]: "Terminated", [I2]: "InService" });
    const registered = g.log
      .filter((a) => a.type === "register-target")
      .map((a) => (a as { instanceId: string }).instanceId);
    expect(registered).toEqual([I2]);
  });
});

describe("ELB health checks and the grace period", () => {
  function inService(config: AsgConfig = HOOKED) {
    const g = new Group(config, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "CONTINUE" }, 1000); // InService at 1000
    return g;
  }

  it("unhealthy after the grace period: marked Unhealthy, deregistered, drained, replaced", () => {
    const g = inService();
    expect(g.send({ type: "target-health", instanceId: I1, state: "unhealthy" }, 11_000)).toEqual([
      `${I1} InService -> Terminating`,
      `deregister-target ${I1}`,
      `launch ${I2}`,
      `${I2} - -> Pending`,
    ]);
    expect(g.inst(I1)).toMatchObject({ health: "Unhealthy", cause: "ELB health check: target unhealthy" });
    // Stopped only once the load balancer has drained it.
    expect(g.send({ type: "target-removed", instanceId: I1 }, 13_000)).toEqual([`terminate ${I1}`]);
    expect(g.send({ type: "instance-died", instanceId: I1 }, 13_500)).toEqual([
      `${I1} Terminating -> Terminated`,
    ]);
  });

  it("unhealthy inside the grace period is tolerated; still unhealthy when it ends: replaced", () => {
    const g = inService();
    const out = g.send({ type: "target-health", instanceId: I1, state: "unhealthy" }, 5000);
    expect(out).toEqual([
      `note: target unhealthy within the health check grace period (ends ${new Date(11_000).toISOString()}): not replaced yet`,
    ]);
    expect(g.inst(I1).state).toBe("InService");
    expect(nextDeadline(g.state)).toBe(11_000);
    expect(g.send({ type: "tick" }, 10_999)).toEqual([]);
    expect(g.send({ type: "tick" }, 11_000)).toEqual([
      `${I1} InService -> Terminating`,
      `deregister-target ${I1}`,
      `launch ${I2}`,
      `${I2} - -> Pending`,
    ]);
    expect(g.inst(I1).cause).toBe("ELB health check: target unhealthy after the grace period");
  });

  it("unhealthy inside the grace period, healthy again before it ends: kept", () => {
    const g = inService();
    g.send({ type: "target-health", instanceId: I1, state: "unhealthy" }, 5000);
    g.send({ type: "target-health", instanceId: I1, state: "healthy" }, 8000);
    expect(nextDeadline(g.state)).toBeUndefined();
    expect(g.send({ type: "tick" }, 20_000)).toEqual([]);
    expect(g.inst(I1)).toMatchObject({ state: "InService", health: "Healthy" });
  });

  it("grace 0: replaced at the first unhealthy report", () => {
    const g = inService({ ...HOOKED, healthCheckGracePeriodMs: 0 });
    expect(g.send({ type: "target-health", instanceId: I1, state: "unhealthy" }, 1000)[0]).toBe(
      `${I1} InService -> Terminating`,
    );
  });

  it("health check type EC2 ignores the load balancer's view", () => {
    const g = inService({ ...HOOKED, healthCheckType: "EC2" });
    expect(g.send({ type: "target-health", instanceId: I1, state: "unhealthy" }, 50_000)).toEqual([]);
    expect(g.send({ type: "tick" }, 100_000)).toEqual([]);
    expect(g.inst(I1)).toMatchObject({ state: "InService", targetState: "unhealthy" });
  });

  it("only InService instances are judged by ELB health", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    expect(g.send({ type: "target-health", instanceId: I1, state: "unhealthy" }, 50_000)).toEqual([]);
    expect(g.inst(I1).state).toBe("Pending:Wait");
  });
});

describe("instances that die", () => {
  it("an InService instance that dies is deregistered at once, stopped for good and replaced", () => {
    const g = new Group(PLAIN, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    expect(g.send({ type: "instance-died", instanceId: I1, reason: "killed" }, 5000)).toEqual([
      `${I1} InService -> Terminating`,
      `deregister-target ${I1}`,
      `terminate ${I1}`,
      `${I1} Terminating -> Terminated`,
      `launch ${I2}`,
      `${I2} - -> Pending`,
    ]);
    expect(g.inst(I1)).toMatchObject({
      health: "Unhealthy",
      cause: "instance died: killed",
      registered: false,
    });
    // Reported again (e.g. after the terminate action ran): nothing more happens.
    expect(g.send({ type: "instance-died", instanceId: I1 }, 5100)).toEqual([]);
  });

  it("dying while waiting on the launch hook ends that lifecycle action", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    const out = g.send({ type: "instance-died", instanceId: I1 }, 100);
    expect(out[0]).toBe(`end-lifecycle-action ${I1} boot ABANDON via terminated`);
    expect(g.inst(I1).lifecycleAction).toBeUndefined();
    expect(out).toContain(`launch ${I2}`);
  });

  it("a launch that fails is replaced", () => {
    const g = new Group(PLAIN, 1);
    expect(g.send({ type: "launch-failed", instanceId: I1, reason: "no image" }, 10)).toEqual([
      `${I1} Pending -> Terminating`,
      `terminate ${I1}`,
      `${I1} Terminating -> Terminated`,
      `launch ${I2}`,
      `${I2} - -> Pending`,
    ]);
    expect(g.inst(I1).cause).toBe("launch failed: no image");
    // A late "launched" for it is ignored.
    expect(g.send({ type: "instance-launched", instanceId: I1 }, 20)).toEqual([
      `note: launch finished while Terminated: ignored`,
    ]);
  });
});

describe("launches that keep failing", () => {
  it("the first replacement goes at once, then 1 s, 2 s, 4 s ... up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(launchBackoffMs)).toEqual([
      0, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });

  it("instances that die before InService are replaced ever more slowly; one InService resets it", () => {
    const g = new Group(PLAIN, 1);
    expect(g.send({ type: "instance-died", instanceId: I1, reason: "init exited" }, 100)).toContain(
      `launch ${I2}`,
    );
    const second = g.send({ type: "instance-died", instanceId: I2, reason: "init exited" }, 200);
    expect(second).not.toContain(`launch ${I3}`);
    expect(second).toContain("note: 2 launches in a row ended before InService: the next launch waits 1 s");
    expect(nextDeadline(g.state)).toBe(1200);
    expect(g.send({ type: "tick" }, 1199)).toEqual([]);
    expect(g.send({ type: "tick" }, 1200)).toContain(`launch ${I3}`);
    g.send({ type: "instance-died", instanceId: I3 }, 1300);
    expect(nextDeadline(g.state)).toBe(3300);
    g.send({ type: "tick" }, 3300);
    g.bringUp(I4, 3400);
    expect(g.inst(I4).state).toBe("InService");
    expect(g.state.launchFailures).toBe(0);
    expect(nextDeadline(g.state)).toBeUndefined();
  });

  it("an ABANDONed launch counts as a failed launch", () => {
    const g = new Group(HOOKED, 1);
    g.send({ type: "instance-launched", instanceId: I1 }, 0);
    g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "ABANDON" }, 10);
    g.send({ type: "instance-died", instanceId: I1 }, 20); // the stop it asked for
    g.send({ type: "instance-launched", instanceId: I2 }, 30);
    const out = g.send({ type: "lifecycle-action-completed", instanceId: I2, result: "ABANDON" }, 40);
    expect(out).toContain("note: 2 launches in a row ended before InService: the next launch waits 1 s");
    expect(g.state.launchFailures).toBe(2);
  });
});

describe("scale-in", () => {
  function three(config: AsgConfig) {
    const g = new Group(config, 1, 0);
    g.send({ type: "set-desired", desired: 3 }, 1000);
    for (const [id, t] of [
      [I1, 100],
      [I2, 1100],
      [I3, 1200],
    ] as const) {
      g.bringUp(id, t);
    }
    return g;
  }

  it("terminates the oldest instance first, after deregistration and draining; no replacement", () => {
    const g = three(PLAIN);
    expect(g.states()).toEqual({ [I1]: "InService", [I2]: "InService", [I3]: "InService" });
    expect(g.send({ type: "set-desired", desired: 2 }, 5000)).toEqual([
      "desired 3 -> 2",
      `${I1} InService -> Terminating`,
      `deregister-target ${I1}`,
    ]);
    expect(g.inst(I1).cause).toBe("scale-in to desired capacity 2: oldest instance first");
    expect(g.inst(I1).health).toBe("Healthy");
    // Draining: nothing else happens until the load balancer reports the target removed.
    expect(g.send({ type: "tick" }, 6000)).toEqual([]);
    expect(g.send({ type: "target-removed", instanceId: I1 }, 7000)).toEqual([`terminate ${I1}`]);
    expect(g.send({ type: "instance-died", instanceId: I1 }, 7100)).toEqual([
      `${I1} Terminating -> Terminated`,
    ]);
    expect(activeInstances(g.state).map((i) => i.id)).toEqual([I2, I3]);
    expect(g.log.filter((a) => a.type === "launch")).toHaveLength(3);
  });

  it("scale-in by two takes the two oldest", () => {
    const g = three(PLAIN);
    g.send({ type: "set-desired", desired: 1 }, 5000);
    expect(g.states()).toEqual({ [I1]: "Terminating", [I2]: "Terminating", [I3]: "InService" });
  });

  it("with a terminate hook: Terminating -> Terminating:Wait -> Terminating:Proceed -> stop", () => {
    const g = three({
      ...PLAIN,
      terminateHook: { name: "drain-logs", heartbeatTimeoutMs: 30_000, defaultResult: "CONTINUE" },
    });
    g.send({ type: "set-desired", desired: 2 }, 5000);
    g.send({ type: "target-health", instanceId: I1, state: "draining" }, 5000);
    expect(g.send({ type: "target-removed", instanceId: I1 }, 6000)).toEqual([
      `${I1} Terminating -> Terminating:Wait`,
      `start-lifecycle-action ${I1} drain-logs until 36000`,
    ]);
    // while the hook waits, the target is gone from the load balancer, not still draining
    expect(g.inst(I1)).toMatchObject({ registered: false, targetState: "unused" });
    expect(g.last[1]).toMatchObject({ transition: "autoscaling:EC2_INSTANCE_TERMINATING" });
    expect(g.send({ type: "lifecycle-action-completed", instanceId: I1, result: "ABANDON" }, 8000)).toEqual([
      `end-lifecycle-action ${I1} drain-logs ABANDON via api`,
      `${I1} Terminating:Wait -> Terminating:Proceed`,
      `terminate ${I1}`,
    ]);
    expect(g.send({ type: "instance-died", instanceId: I1 }, 8100)).toEqual([
      `${I1} Terminating:Proceed -> Terminated`,
    ]);
  });

  it("the terminate hook's timeout also lets the instance go", () => {
    const g = three({
      ...PLAIN,
      terminateHook: { name: "drain-logs", heartbeatTimeoutMs: 30_000, defaultResult: "ABANDON" },
    });
    g.send({ type: "set-desired", desired: 2 }, 5000);
    g.send({ type: "target-removed", instanceId: I1 }, 6000);
    expect(g.send({ type: "tick" }, 36_000)).toEqual([
      `end-lifecycle-action ${I1} drain-logs ABANDON via timeout`,
      `${I1} Terminating:Wait -> Terminating:Proceed`,
      `terminate ${I1}`,
    ]);
  });

  it("a Pending instance older than the rest is the one scaled in, and its late launch is ignored", () => {
    const g = new Group(PLAIN, 2, 0); // I1, I2 launched at 0
    g.send({ type: "instance-launched", instanceId: I2 }, 500);
    g.send({ type: "set-desired", desired: 1 }, 1000);
    expect(g.states()).toEqual({ [I1]: "Terminating", [I2]: "InService" });
    expect(g.log.at(-1)).toEqual({ type: "terminate", instanceId: I1 });
    expect(g.send({ type: "instance-launched", instanceId: I1 }, 1100)).toEqual([
      "note: launch finished while Terminating: ignored",
    ]);
  });
});

describe("target tracking on requests per target", () => {
  const TT: AsgConfig = {
    ...PLAIN,
    min: 1,
    max: 6,
    targetTracking: { targetValue: 100, scaleOutCooldownMs: 60_000, scaleInCooldownMs: 300_000 },
  };

  function group(n: number, config: AsgConfig = TT) {
    const g = new Group(config, n, 0);
    for (let k = 1; k <= n; k++) g.bringUp(instanceIdFor(k), 10);
    return g;
  }

  it("scales out above the target to ceil(metric x InService / target)", () => {
    const g = group(2);
    const out = g.send({ type: "metric", requestsPerTarget: 150 }, 1000);
    expect(out.slice(0, 1)).toEqual(["desired 2 -> 3"]);
    expect(out).toContain(`launch ${I3}`);
    expect(g.last[0]).toMatchObject({
      cause: "target tracking: 150 requests per target > target 100 (2 InService)",
    });
    expect(g.state.lastScaleOutAt).toBe(1000);
  });

  it("does not scale out again inside the scale-out cooldown, but does after it", () => {
    const g = group(2);
    g.send({ type: "metric", requestsPerTarget: 150 }, 1000); // -> 3
    const during = g.send({ type: "metric", requestsPerTarget: 250 }, 30_000);
    expect(during).toEqual([
      `note: target tracking: would scale out to 5, scale-out cooldown until ${new Date(61_000).toISOString()}`,
    ]);
    expect(g.state.desired).toBe(3);
    expect(g.send({ type: "metric", requestsPerTarget: 250 }, 61_000)[0]).toBe("desired 3 -> 5");
  });

  it("never scales out past max", () => {
    const g = group(2, { ...TT, max: 3 });
    expect(g.send({ type: "metric", requestsPerTarget: 1000 }, 1000)[0]).toBe("desired 2 -> 3");
    g.bringUp(I3, 1500);
    expect(g.send({ type: "metric", requestsPerTarget: 1000 }, 100_000)).toEqual([
      "note: target tracking: 1000 requests per target > 100, but the group is at max 3",
    ]);
  });

  it("a metric at or just under the target changes nothing", () => {
    const g = group(3);
    expect(g.send({ type: "metric", requestsPerTarget: 100 }, 1000)).toEqual([]);
    // 80 x 3 / 2 = 120 > 100: removing one would overshoot.
    expect(g.send({ type: "metric", requestsPerTarget: 80 }, 2000)).toEqual([]);
    expect(g.state.desired).toBe(3);
  });

  it("scales in by one when well below the target, then waits for the scale-in cooldown", () => {
    const g = group(4);
    const out = g.send({ type: "metric", requestsPerTarget: 30 }, 1000);
    expect(out.slice(0, 3)).toEqual([
      "desired 4 -> 3",
      `${I1} InService -> Terminating`,
      `deregister-target ${I1}`,
    ]);
    expect(g.last[0]).toMatchObject({
      cause: "target tracking: 30 requests per target, well below target 100 (40 with one instance fewer)",
    });
    g.send({ type: "target-removed", instanceId: I1 }, 2000);
    g.send({ type: "instance-died", instanceId: I1 }, 2100);
    expect(g.send({ type: "metric", requestsPerTarget: 10 }, 100_000)).toEqual([
      `note: target tracking: would scale in, scale-in cooldown until ${new Date(301_000).toISOString()}`,
    ]);
    expect(g.send({ type: "metric", requestsPerTarget: 10 }, 301_000)[0]).toBe("desired 3 -> 2");
  });

  it("never scales in below min", () => {
    const g = group(2, { ...TT, min: 2 });
    expect(g.send({ type: "metric", requestsPerTarget: 0 }, 1000)).toEqual([]);
    expect(g.state.desired).toBe(2);
    const one = group(1);
    expect(one.send({ type: "metric", requestsPerTarget: 0 }, 1000)).toEqual([]);
  });

  it("scales to min 0 only with no traffic at all", () => {
    const g = group(1, { ...TT, min: 0 });
    expect(g.send({ type: "metric", requestsPerTarget: 1 }, 1000)).toEqual([]);
    expect(g.send({ type: "metric", requestsPerTarget: 0 }, 2000)[0]).toBe("desired 1 -> 0");
  });

  it("scale-in waits while instances are still launching", () => {
    const g = group(3);
    g.send({ type: "set-desired", desired: 4 }, 100); // I4 Pending
    expect(g.send({ type: "metric", requestsPerTarget: 10 }, 1000)).toEqual([
      "note: target tracking: scale-in waits until every instance is InService",
    ]);
  });

  it("no scale-in during a scale-out cooldown; scale-out is not held back by a scale-in cooldown", () => {
    const g = group(2);
    g.send({ type: "metric", requestsPerTarget: 150 }, 1000); // -> 3
    g.bringUp(I3, 2000);
    expect(g.send({ type: "metric", requestsPerTarget: 10 }, 30_000)).toEqual([
      "note: target tracking: would scale in, a scale-out cooldown runs",
    ]);
    expect(g.send({ type: "metric", requestsPerTarget: 10 }, 61_000)[0]).toBe("desired 3 -> 2");
    // Inside the 300 s scale-in cooldown, a burst still scales out.
    g.send({ type: "target-removed", instanceId: I1 }, 62_000);
    g.send({ type: "instance-died", instanceId: I1 }, 62_100);
    expect(g.send({ type: "metric", requestsPerTarget: 300 }, 70_000)[0]).toBe("desired 2 -> 6");
  });

  it("disableScaleIn only ever scales out", () => {
    const g = group(3, { ...TT, targetTracking: { ...TT.targetTracking!, disableScaleIn: true } });
    expect(g.send({ type: "metric", requestsPerTarget: 0 }, 1000)).toEqual([]);
  });

  it("ignores samples it cannot use, saying why", () => {
    expect(new Group(PLAIN).send({ type: "metric", requestsPerTarget: 500 }, 0)).toEqual([
      "note: metric sample ignored: no target tracking policy",
    ]);
    const pending = new Group(TT, 1);
    expect(pending.send({ type: "metric", requestsPerTarget: 500 }, 0)).toEqual([
      "note: metric sample ignored: no InService instance to measure",
    ]);
    const g = group(1);
    expect(g.send({ type: "metric", requestsPerTarget: Number.NaN }, 0)).toEqual([
      "note: metric sample ignored: null is not a number >= 0",
    ]);
  });
});

describe("nextDeadline", () => {
  it("is the earliest lifecycle timeout or grace end, and undefined with nothing due", () => {
    const g = new Group(HOOKED, 2, 0);
    expect(nextDeadline(g.state)).toBeUndefined();
    g.send({ type: "instance-launched", instanceId: I1 }, 1000); // times out at 61000
    g.send({ type: "instance-launched", instanceId: I2 }, 500); // 60500
    expect(nextDeadline(g.state)).toBe(60_500);
  });
});

describe("a launch version with a fallback (an instance refresh's)", () => {
  it("the replacement of a launch that failed on the new version is launched from the fallback, in the same step", () => {
    const g = new Group(HOOKED, 1);
    g.bringUp(I1, 1000);
    // the refresh starts: new launches take version 2, and version 1 once one of them fails
    g.send({ type: "set-launch-version", version: 2, fallback: 1 }, 2000);
    g.send({ type: "refresh-replace", instanceId: I1, cause: "instance refresh" }, 2000);
    expect(g.inst(I2).version).toBe(2);
    g.send({ type: "instance-launched", instanceId: I2 }, 2500);
    // the canary's boot fails: its replacement must not boot the version that just failed
    expect(g.send({ type: "lifecycle-action-completed", instanceId: I2, result: "ABANDON" }, 3000)).toEqual([
      `end-lifecycle-action ${I2} boot ABANDON via api`,
      `${I2} Pending:Wait -> Terminating`,
      `terminate ${I2}`,
      `note: launch template version 2 failed on ${I2}: new launches take version 1`,
      `launch ${I3}`,
      `${I3} - -> Pending`,
    ]);
    expect(g.inst(I3).version).toBe(1);
    expect(g.state.launchVersion).toBe(1);
    expect(g.state.launchFallback).toBeUndefined();
  });

  it("an Unhealthy instance of the new version sends launches back too; one launched before the version was set does not", () => {
    const g = new Group(PLAIN, 2);
    g.bringUp(I1, 0);
    g.bringUp(I2, 0);
    g.send({ type: "set-launch-version", version: 2, fallback: 1 }, 1000);
    // an instance of the old era that fails says nothing about version 2
    g.send({ type: "target-health", instanceId: I1, state: "unhealthy" }, 1500);
    expect(g.inst(I1).health).toBe("Unhealthy");
    expect(g.inst(I3)).toMatchObject({ version: 2 });
    g.send({ type: "instance-launched", instanceId: I3 }, 1600);
    g.send({ type: "target-health", instanceId: I3, state: "unhealthy" }, 2000);
    expect(g.inst(I3).health).toBe("Unhealthy");
    expect(g.inst(I4)).toMatchObject({ version: 1 });
  });

  it("a version set without a fallback (the refresh ended, or rolls back) clears it", () => {
    const g = new Group(PLAIN, 1);
    g.send({ type: "set-launch-version", version: 2, fallback: 1 }, 0);
    g.send({ type: "set-launch-version", version: 1 }, 10);
    expect(g.state.launchFallback).toBeUndefined();
  });
});
