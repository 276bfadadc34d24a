/**
 * The service resource: its plan (pure), and notifications for real: files that change notify a
 * service run by the supervisor, and restarts are counted by the service's pid changes.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { ServiceState } from "../providers/service-provider.ts";
import { stopStartedSupervisors, supervisorStatus } from "../providers/supervisor-client.ts";
import { convergeDecls, type Decl } from "../test-support/harness.ts";
import { cleanupTmp, tmpDir, treeHash } from "../test-support/tmp.ts";
import { planService, service } from "./service.ts";
import type { ServiceProps } from "./service-schema.ts";

afterEach(stopStartedSupervisors);
afterAll(cleanupTmp);

describe("planService", () => {
  const props = (p: Record<string, unknown>): ServiceProps => service.schema.parse({ name: "app", ...p });
  const state = (s: Partial<ServiceState>): ServiceState => ({
    provider: "supervisor",
    definitionPath: "/etc/muster/services/app.json",
    active: false,
    enabled: false,
    ...s,
  });
  const whats = (p: ServiceProps, s: ServiceState) => planService(p, s).changes.map((c) => c.what);

  it("a new service: write its unit, enable, start", () => {
    const p = props({ running: true, enabled: true });
    expect(whats(p, state({ desiredDefinition: "{}\n" }))).toEqual([
      "create file /etc/muster/services/app.json",
      "enable app",
      "start app",
    ]);
  });

  it("nothing to do when everything matches; unset running/enabled are left alone", () => {
    expect(
      whats(props({ running: true }), state({ desiredDefinition: "x", definition: "x", active: true })),
    ).toEqual([]);
    expect(whats(props({}), state({ active: true, enabled: true }))).toEqual([]);
    expect(whats(props({}), state({ active: false, enabled: false }))).toEqual([]);
  });

  it("a changed unit restarts a running service, but not one meant to stay stopped", () => {
    const changed = state({ desiredDefinition: "new", definition: "old", active: true });
    expect(whats(props({ running: true }), changed)).toEqual([
      "update content of /etc/muster/services/app.json",
      "restart app (its unit changed)",
    ]);
    expect(whats(props({}), changed)[1]).toBe("restart app (its unit changed)");
    expect(whats(props({}), { ...changed, active: false })).toEqual([
      "update content of /etc/muster/services/app.json",
    ]);
  });

  it("actions: stop, restart, reload (a start when it is not running), enable, disable", () => {
    expect(whats(props({ action: "stop" }), state({ active: true }))).toEqual(["stop app"]);
    expect(whats(props({ action: "restart" }), state({ active: true }))).toEqual(["restart app"]);
    expect(whats(props({ action: "reload" }), state({ active: true }))).toEqual(["reload app"]);
    expect(whats(props({ action: "reload" }), state({ active: false }))).toEqual(["start app"]);
    expect(whats(props({ action: "disable" }), state({ enabled: true }))).toEqual(["disable app"]);
    expect(service.runsEveryTime!(props({ action: "restart" }))).toBe(true);
    expect(service.runsEveryTime!(props({}))).toBe(false);
  });

  it("an action that contradicts a prop is bad input", () => {
    const r = service.schema.safeParse({ name: "app", action: "stop", running: true });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toBe("action stop contradicts running: true");
  });
});

describe("notifications restart a supervised service", () => {
  const SLEEPER = { execStart: ["sleep", "1000"] };
  const marker = `cat "$MUSTER_ROOT/run/muster/services/app.pid" > "$MUSTER_ROOT/pid-seen"`;

  /** two config files that notify the service, then a step that records the pid it sees */
  function decls(a: string, b: string, timing: "delayed" | "immediate" = "delayed"): Decl[] {
    const notify = { resource: "service[app]", timing };
    return [
      { kind: "directory", name: "/etc/app", props: { recursive: true } },
      { kind: "service", name: "app", props: { running: true, enabled: true, unit: SLEEPER } },
      { kind: "file", name: "/etc/app/a.conf", props: { content: a }, common: { notifies: notify } },
      { kind: "file", name: "/etc/app/b.conf", props: { content: b }, common: { notifies: notify } },
      { kind: "execute", name: marker },
    ];
  }
  const pids = async (root: string) => (await supervisorStatus(root))?.app?.pids ?? [];
  const seen = (root: string) => Number(readFileSync(path.join(root, "pid-seen"), "utf8"));

  it("delayed: once at the end however many notified; an unchanged run restarts nothing", async () => {
    const root = tmpDir();
    const first = await convergeDecls(root, decls("a1", "b1"));
    expect(first.outcome, first.error).toBe("converged");
    const afterFirst = await pids(root);
    expect(afterFirst.length).toBeGreaterThan(0);

    const unchanged = await convergeDecls(root, decls("a1", "b1"));
    expect(unchanged.resources.filter((r) => r.status !== "up-to-date").map((r) => r.id)).toEqual([
      `execute[${marker}]`,
    ]);
    expect(await pids(root)).toEqual(afterFirst);

    const changed = await convergeDecls(root, decls("a2", "b2"));
    expect(changed.outcome, changed.error).toBe("converged");
    const afterChange = await pids(root);
    expect(afterChange).toEqual([...afterFirst, afterChange[afterChange.length - 1]]); // one new pid
    expect(afterChange[afterChange.length - 1]).not.toBe(afterFirst[afterFirst.length - 1]);
    // the refresh ran once, last, after the step that looked at the pid
    const refreshes = changed.resources.filter((r) => r.id === "service[app]" && r.status === "updated");
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0].note).toBe("notified by file[/etc/app/a.conf]");
    expect(changed.resources[changed.resources.length - 1]).toBe(refreshes[0]);
    expect(seen(root)).toBe(afterFirst[afterFirst.length - 1]);
  });

  it("a service started after its config changed is not restarted for it; a change after its start still restarts it", async () => {
    const root = tmpDir();
    const notify = { resource: "service[app]" };
    const around = (before: string, after?: string): Decl[] => [
      { kind: "directory", name: "/etc/app", props: { recursive: true } },
      { kind: "file", name: "/etc/app/a.conf", props: { content: before }, common: { notifies: notify } },
      { kind: "service", name: "app", props: { running: true, unit: SLEEPER } },
      ...(after === undefined
        ? []
        : [
            {
              kind: "file",
              name: "/etc/app/b.conf",
              props: { content: after },
              common: { notifies: notify },
            },
          ]),
    ];
    // a first boot: the config is written, then the service starts with it: one process
    const first = await convergeDecls(root, around("a1"));
    expect(first.outcome, first.error).toBe("converged");
    expect(first.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "directory[/etc/app] updated",
      "file[/etc/app/a.conf] updated",
      "service[app] updated",
    ]);
    expect(first.resources[2].note).toBe(
      "no refresh for file[/etc/app/a.conf]: it started after that change",
    );
    expect(await pids(root)).toHaveLength(1);

    // running already: the changed config restarts it, once, at the end
    const changed = await convergeDecls(root, around("a2"));
    expect(changed.resources.at(-1)).toMatchObject({ id: "service[app]", status: "updated" });
    expect(changed.resources.at(-1)?.note).toBe("notified by file[/etc/app/a.conf]");
    expect(await pids(root)).toHaveLength(2);

    // started in this run, but a file after it changed: that refresh still runs
    const other = tmpDir();
    const withAfter = await convergeDecls(other, around("a1", "b1"));
    expect(withAfter.outcome, withAfter.error).toBe("converged");
    expect(withAfter.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "directory[/etc/app] updated",
      "file[/etc/app/a.conf] updated",
      "service[app] updated",
      "file[/etc/app/b.conf] updated",
      "service[app] updated",
    ]);
    expect(withAfter.resources.at(-1)?.note).toBe("notified by file[/etc/app/b.conf]");
    expect(await pids(other)).toHaveLength(2);

    // a dry run of a first boot says the same: a start, no refresh
    const dry = await convergeDecls(tmpDir(), around("a1"), { dryRun: true });
    expect(dry.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "directory[/etc/app] would-update",
      "file[/etc/app/a.conf] would-update",
      "service[app] would-update",
    ]);
    expect(dry.resources[2].note).toBe(
      "no refresh for file[/etc/app/a.conf]: it would start after that change",
    );
  });

  it("a refresh notified to a service kept stopped changes nothing, and says so", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "file", name: "/a.conf", props: { content: "1" }, common: { notifies: "service[app]" } },
      { kind: "service", name: "app", props: { running: false, unit: SLEEPER } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    const refresh = report.resources.at(-1)!;
    expect(refresh).toMatchObject({ id: "service[app]", status: "up-to-date", changes: [] });
    expect(refresh.note).toBe("notified by file[/a.conf]; nothing to refresh: running is false");
    expect(await pids(root)).toHaveLength(0);
  });

  it("an immediate restart after a config change drops the delayed refresh that change queued", async () => {
    const root = tmpDir();
    const decls = (a: string, b: string): Decl[] => [
      { kind: "file", name: "/a.conf", props: { content: a }, common: { notifies: "service[app]" } },
      { kind: "service", name: "app", props: { running: true, unit: SLEEPER } },
      {
        kind: "file",
        name: "/b.conf",
        props: { content: b },
        common: { notifies: { resource: "service[app]", action: "restart", timing: "immediate" } },
      },
    ];
    expect((await convergeDecls(root, decls("a1", "b1"))).outcome).toBe("converged");
    const running = (await pids(root)).length;
    // both change: the immediate restart comes after a.conf's change, so it took it in already
    const report = await convergeDecls(root, decls("a2", "b2"));
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "file[/a.conf] updated",
      "service[app] up-to-date",
      "file[/b.conf] updated",
      "service[app] ran",
    ]);
    expect(report.resources.at(-1)?.note).toBe(
      "notified by file[/b.conf]; no refresh for file[/a.conf]: it restarted after that change",
    );
    expect(await pids(root)).toHaveLength(running + 1);
  });

  it("a service restarted for its changed unit is not restarted again for a config change before it", async () => {
    const root = tmpDir();
    const decls = (conf: string, sleep: string): Decl[] => [
      { kind: "file", name: "/a.conf", props: { content: conf }, common: { notifies: "service[app]" } },
      { kind: "service", name: "app", props: { running: true, unit: { execStart: ["sleep", sleep] } } },
    ];
    expect((await convergeDecls(root, decls("1", "1000"))).outcome).toBe("converged");
    expect(await pids(root)).toHaveLength(1);
    const report = await convergeDecls(root, decls("2", "1001"));
    expect(report.outcome, report.error).toBe("converged");
    expect(report.resources.map((r) => `${r.id} ${r.status}`)).toEqual([
      "file[/a.conf] updated",
      "service[app] updated",
    ]);
    expect(report.resources[1].changes.map((c) => c.what)).toContain("restart app (its unit changed)");
    expect(report.resources[1].note).toBe("no refresh for file[/a.conf]: it restarted after that change");
    expect(await pids(root)).toHaveLength(2);
  });

  it("immediate: the restart happens right after the change, before the next resource", async () => {
    const root = tmpDir();
    await convergeDecls(root, decls("a1", "b1", "immediate"));
    const before = await pids(root);
    const changed = await convergeDecls(root, decls("a2", "b1", "immediate"));
    expect(changed.outcome, changed.error).toBe("converged");
    const after = await pids(root);
    expect(after).toHaveLength(before.length + 1);
    expect(seen(root)).toBe(after[after.length - 1]); // the step after it already saw the new pid
    const ids = changed.resources.map((r) => `${r.id} ${r.status}`);
    expect(ids.indexOf("service[app] updated")).toBe(ids.indexOf("file[/etc/app/a.conf] updated") + 1);
  });

  it("a notification naming an action runs that action", async () => {
    const root = tmpDir();
    const withRestart = (content: string): Decl[] => [
      { kind: "service", name: "app", props: { running: true, unit: SLEEPER } },
      {
        kind: "file",
        name: "/a.conf",
        props: { content },
        common: { notifies: { resource: "service[app]", action: "restart" } },
      },
    ];
    await convergeDecls(root, withRestart("1"));
    const before = await pids(root);
    const report = await convergeDecls(root, withRestart("2"));
    expect(report.resources.at(-1)).toMatchObject({
      id: "service[app]",
      status: "ran",
      changes: [{ what: "restart app" }],
    });
    expect(await pids(root)).toHaveLength(before.length + 1);
  });

  it("a dry run reports the refresh it would do, and restarts nothing", async () => {
    const root = tmpDir();
    await convergeDecls(root, decls("a1", "b1"));
    const before = await pids(root);
    const tree = treeHash(path.join(root, "etc"));
    const dry = await convergeDecls(root, decls("a2", "b2"), { dryRun: true });
    expect(dry.resources.at(-1)).toMatchObject({
      id: "service[app]",
      status: "would-update",
      changes: [{ what: "refresh" }],
      note: "notified by file[/etc/app/a.conf]",
    });
    expect(await pids(root)).toEqual(before);
    expect(treeHash(path.join(root, "etc"))).toBe(tree);
  });

  it("a service meant to be stopped is not started by a notification", async () => {
    const root = tmpDir();
    const report = await convergeDecls(root, [
      { kind: "service", name: "app", props: { running: false, unit: SLEEPER } },
      { kind: "file", name: "/a.conf", props: { content: "x" }, common: { notifies: "service[app]" } },
    ]);
    expect(report.outcome, report.error).toBe("converged");
    expect((await supervisorStatus(root))?.app?.state ?? "stopped").toBe("stopped");
  });
});
