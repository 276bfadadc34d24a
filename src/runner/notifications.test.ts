import { describe, expect, it } from "vitest";
import type { DeclaredResource } from "../core/declared.ts";
import type { CommonProps } from "../core/resource.ts";
import {
  afterNotifiedRun,
  enqueue,
  loopError,
  notificationGraph,
  notificationsOf,
  notifiesImmediately,
  type Pending,
  refreshActions,
  unscheduledNote,
  unscheduleRefreshes,
} from "./notifications.ts";

const res = (id: string, common: CommonProps = {}): DeclaredResource => ({
  kind: id.slice(0, id.indexOf("[")),
  name: id,
  props: {},
  common,
  id,
  recipe: "test",
});
const defaults: Record<string, string> = { service: "refresh", execute: "run" };
const graphOf = (rs: DeclaredResource[]) => notificationGraph(rs, (r) => defaults[r.kind] ?? "create");
const pending = (target: string, action: string, by = "file[/a]"): Pending => ({
  target: res(target),
  action,
  timing: "delayed",
  by,
  chain: [by, target],
});
const brief = (ps: Pending[]) => ps.map((p) => `${p.target.id} ${p.action} ${p.timing} by ${p.by}`);

describe("whom a change notifies", () => {
  const app = res("service[app]");
  const build = res("execute[build]", { subscribes: { resource: "file[/a]", timing: "immediate" } });
  const log = res("execute[log]", { subscribes: "file[/a]" });
  it.each([
    ["nothing", {}, []],
    [
      "a string: delayed, the target's default action",
      { notifies: "service[app]" },
      ["service[app] refresh delayed by file[/a]"],
    ],
    [
      "an object: its action and timing",
      { notifies: { resource: "service[app]", action: "restart", timing: "immediate" as const } },
      ["service[app] restart immediate by file[/a]"],
    ],
    [
      "several, in order",
      { notifies: ["execute[build]", { resource: "service[app]", action: "reload" }] },
      ["execute[build] run delayed by file[/a]", "service[app] reload delayed by file[/a]"],
    ],
  ])("%s", (_, common: CommonProps, expected: string[]) => {
    const source = res("file[/a]", common);
    expect(brief(notificationsOf(graphOf([source, app, res("execute[build]")]), source))).toEqual(expected);
  });

  it("notifies first, then those that subscribe, with their own action and timing", () => {
    const source = res("file[/a]", { notifies: "service[app]" });
    const g = graphOf([source, app, build, log]);
    expect(brief(notificationsOf(g, source))).toEqual([
      "service[app] refresh delayed by file[/a]",
      "execute[build] run immediate by file[/a]",
      "execute[log] run delayed by file[/a]",
    ]);
  });

  it("the chain grows by the target", () => {
    const source = res("file[/a]", { notifies: "service[app]" });
    const [p] = notificationsOf(graphOf([source, app]), source, ["execute[x]", "file[/a]"]);
    expect(p.chain).toEqual(["execute[x]", "file[/a]", "service[app]"]);
  });

  it.each([
    ["no notification", {}, [], false],
    ["a delayed one", { notifies: "service[app]" }, [], false],
    ["an immediate one", { notifies: { resource: "service[app]", timing: "immediate" as const } }, [], true],
    ["an immediate subscriber", {}, [build], true],
    ["a delayed subscriber", {}, [log], false],
  ])("notifies immediately with %s: %s", (_, common: CommonProps, others: DeclaredResource[], expected) => {
    const source = res("file[/a]", common);
    expect(notifiesImmediately(graphOf([source, app, ...others]), source)).toBe(expected);
  });
});

describe("the delayed queue", () => {
  it.each([
    ["a new target", [pending("service[app]", "refresh")], pending("execute[x]", "run"), 2],
    [
      "the same target and action again",
      [pending("service[app]", "refresh")],
      pending("service[app]", "refresh", "file[/b]"),
      1,
    ],
    [
      "the same target, another action",
      [pending("service[app]", "refresh")],
      pending("service[app]", "restart"),
      2,
    ],
  ])("%s", (_, queue: Pending[], p: Pending, length: number) => {
    const after = enqueue(queue, p);
    expect(after).toHaveLength(length);
    expect(after[0]).toBe(queue[0]); // first notified stays first
    expect(queue).toHaveLength(1); // the old queue is left as it was
  });
});

describe("after a notified run", () => {
  it.each([
    [["file[/a]", "service[app]"], true, false, "notify-on"],
    [["file[/a]", "service[app]"], false, false, "end"],
    [["a[1]", "b[2]", "a[1]"], false, false, "end"], // back at a resource that is up to date by then
    [["a[1]", "b[2]", "a[1]"], true, false, "loop"],
    [["a[1]", "b[2]", "a[1]"], true, true, "end"], // a dry run cannot tell: it shows no more
    [["a[1]", "a[1]"], true, false, "loop"],
  ] as const)("chain %j, changed %s, dry run %s: %s", (chain, changed, dryRun, expected) => {
    expect(afterNotifiedRun(chain, changed, dryRun)).toBe(expected);
  });

  it("a loop's error names the chain", () => {
    expect(loopError(["a[1]", "b[2]", "a[1]"])).toBe(
      "notification loop: a[1] -> b[2] -> a[1] changed it again; break the loop (notify one way only)",
    );
  });
});

describe("refreshes a resource's own apply made unnecessary", () => {
  const queue = [
    pending("service[app]", "refresh", "file[/a]"),
    pending("execute[x]", "run"),
    pending("service[app]", "restart", "file[/b]"),
    pending("service[app]", "stop"),
    pending("service[web]", "refresh"),
  ];
  it.each([
    ["service[app]", "refresh", ["execute[x] run", "service[app] stop", "service[web] refresh"], 2],
    [
      "execute[x]",
      "run",
      ["service[app] refresh", "service[app] restart", "service[app] stop", "service[web] refresh"],
      1,
    ],
    ["service[none]", "refresh", queue.map((p) => `${p.target.id} ${p.action}`), 0],
  ])("%s (default %s)", (id, defaultAction, kept, dropped) => {
    const out = unscheduleRefreshes(queue, id, refreshActions(defaultAction));
    expect(out.queue.map((p) => `${p.target.id} ${p.action}`)).toEqual(kept);
    expect(out.dropped).toHaveLength(dropped);
  });

  it.each([
    ["start", false, "no refresh for file[/a], file[/b]: it started after that change"],
    ["restart", false, "no refresh for file[/a], file[/b]: it restarted after that change"],
    ["start", true, "no refresh for file[/a], file[/b]: it would start after that change"],
  ] as const)("the note for %s (dry run %s)", (verb, dryRun, expected) => {
    const dropped = [
      pending("service[app]", "refresh", "file[/a]"),
      pending("service[app]", "restart", "file[/b]"),
      pending("service[app]", "reload", "file[/a]"),
    ];
    expect(unscheduledNote(dropped, verb, dryRun)).toBe(expected);
  });
});
