/**
 * `muster demo`: the local fleet on a fresh clone. It starts a fleet of two `web` instances from
 * the example repositories (a detached `muster fleet up`, driven over its control socket as the
 * CLI drives it), shows the instances move through their lifecycle states, and then shows the
 * six promises:
 *   1. a new app commit plus a scale-out gives a new instance that serves the new revision;
 *   2. with the git server down, a new instance never gets a request and is replaced (ABANDON),
 *      and once git is back the replacement goes InService;
 *   3. under steady traffic the load balancer answers every request while instances come and go;
 *   4. that scale-in drains: each departing instance's `muster watch` runs the shutdown run list
 *      and completes the terminate hook with CONTINUE;
 *   5. a config change rolls out as an instance refresh with a checkpoint, no request failing;
 *   6. a config change that breaks the role is rolled back by itself (AutoRollback), and no
 *      instance on it ever goes in service.
 * It ends with a summary and stops everything it started, or leaves the fleet up with --keep.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { style, useColour } from "../cli/human-report.ts";
import { musterPackageRoot } from "../cli/package-root.ts";
import { startFleetDaemon, stopFleet } from "../cli/run-fleet.ts";
import { errorMessage, InputError } from "../core/errors.ts";
import { startTraffic } from "../fleet/balancing/traffic.ts";
import { controlRequest } from "../fleet/control/control.ts";
import {
  type FleetEvent,
  type FleetStatus,
  formatEvent,
  type InstanceStatus,
} from "../fleet/control/controller.ts";
import { EMBEDDED_FLEET_YAML } from "../fleet/control/fleet-config.ts";
import { statusLines } from "../fleet/control/status-table.ts";
import { commitTo, examplesDir } from "./example-repos.ts";

/** A live view: on a TTY the status table is redrawn in place under the story; else plain lines. */
class Display {
  private drawn = 0;
  private table: string[] = [];
  constructor(
    private readonly tty: boolean,
    private readonly write: (s: string) => void,
  ) {}

  private clear(): void {
    if (this.tty && this.drawn > 0) this.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.tty) return;
    for (const l of this.table) this.write(`${l}\n`);
    this.drawn = this.table.length;
  }

  say(line = ""): void {
    this.clear();
    this.write(`${line}\n`);
    this.draw();
  }

  update(lines: string[]): void {
    // on a terminal a wrapped row would throw the redraw off: cut rows at its width
    const cols = (process.stdout.columns ?? 0) - 1;
    this.table = this.tty && cols > 20 ? lines.map((l) => cut(l, cols)) : lines;
    if (!this.tty) return;
    this.clear();
    this.draw();
  }

  /** Leave the last table on screen (the TTY) or print it once (plain output). */
  settle(): void {
    if (this.tty) {
      this.drawn = 0;
      return;
    }
    for (const l of this.table) this.write(`${l}\n`);
  }
}

export async function runFleetDemo(opts: { keep: boolean }): Promise<number> {
  const started = Date.now();
  const s = style(useColour(process.stdout));
  const display = new Display(Boolean(process.stdout.isTTY) && process.env.TERM !== "dumb", (t) =>
    process.stdout.write(t),
  );
  const pkg = musterPackageRoot();
  if (!existsSync(examplesDir(pkg)))
    throw new InputError(
      "muster demo runs muster's examples/, which a release archive does not carry: run it from a clone of muster, or try your own fleet with `muster init DIR` and `muster fleet up --config DIR/fleet.yaml`",
    );
  const stateDir = mkdtempSync(path.join(tmpdir(), "muster-demo-"));
  // an address block of its own, so a demo never meets a `muster fleet up` on the default one
  const block = 100 + (process.pid % 150);
  const cfg = YAML.parse(EMBEDDED_FLEET_YAML) as Record<string, any>;
  cfg.repositories.config.dir = path.join(pkg, "examples/config-repo");
  cfg.repositories.app.dir = path.join(pkg, "examples/app");
  cfg.instances = { addresses: `127.77.${block}.1-127.77.${block}.254` };
  // the terminate hook `muster watch` completes as an instance departs; its default result is
  // ABANDON so that a CONTINUE seen can only have come from the instance itself
  cfg.group.terminateHook = { name: "terminate", heartbeatTimeout: 30, defaultResult: "ABANDON" };
  const configFile = path.join(stateDir, "fleet.yaml");
  writeFileSync(configFile, YAML.stringify(cfg));

  const status = () => controlRequest<FleetStatus>(stateDir, "GET", "/status");
  let last: FleetStatus | undefined;
  let seq = 0;
  let polling = true;
  const poll = async () => {
    while (polling) {
      try {
        last = await status();
        display.update(statusLines(last, { style: s, history: 3 }));
        const ev = await controlRequest<{ events: FleetEvent[] }>(stateDir, "GET", `/events?after=${seq}`);
        for (const e of ev.events) {
          seq = Math.max(seq, e.seq);
          // plain output: the lifecycle as lines (on a TTY the table shows it)
          if (!process.stdout.isTTY && ["transition", "boot", "fault", "desired", "note"].includes(e.kind))
            display.say(s.dim(`  ${formatEvent(e)}`));
        }
      } catch {
        // the fleet is starting or stopping
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const until = async (
    what: string,
    ok: (st: FleetStatus) => boolean,
    timeoutMs = 45_000,
  ): Promise<FleetStatus> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await status();
      if (ok(st)) return st;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  const inService = (st: FleetStatus) =>
    st.instances.filter((i) => i.state === "InService" && i.targetState === "healthy");
  const stable = (n: number) => (st: FleetStatus) =>
    inService(st).length === n &&
    st.instances.every((i) => i.state === "InService" || i.state === "Terminated");
  const refreshEnded = (id: string) => (st: FleetStatus) =>
    st.instanceRefresh?.id === id && !ACTIVE_REFRESH.includes(st.instanceRefresh.status);
  const results: { title: string; ok: boolean; detail: string }[] = [];
  const check = (title: string, ok: boolean, detail: string) => {
    results.push({ title, ok, detail });
    display.say(`${ok ? s.green("  ✓") : s.red("  ✗")} ${detail}`);
  };

  display.say(s.green("muster demo: an auto-scaled fleet rehearsed on this machine, loopback only"));
  display.say(`  example config repo and app (examples/), state in ${stateDir}`);
  let poller: Promise<void> | undefined;
  let code = 1;
  try {
    const info = await startFleetDaemon(configFile, stateDir);
    display.say(`  load balancer: ${s.green(info.loadBalancer)}   (try: curl -i ${info.loadBalancer}/)`);
    if (info.dashboard)
      display.say(`  dashboard: ${info.dashboard}   (open it in a browser on this machine)`);
    display.say();
    poller = poll();

    display.say(
      s.green(
        "== two web instances boot: muster boot converges each, opens its gate, completes the launch hook",
      ),
    );
    const first = await until("two instances InService", stable(2), 60_000);
    display.say(
      `  ${inService(first)
        .map((i) => i.id)
        .join(" and ")} are InService behind the load balancer`,
    );

    // 1. new commit + scale-out
    display.say();
    display.say(
      s.green("== promise 1: a new app commit plus a scale-out gives a new instance that serves it"),
    );
    const appGit = path.join(stateDir, "repos/app.git");
    const rev = await commitTo(
      appGit,
      { "public/index.html": "<!doctype html>\n<p>release 2 of the example app: {{revision}}</p>\n" },
      "release 2",
    );
    display.say(`  committed release 2 to the app's master: ${rev.slice(0, 7)}; scaling out to 3`);
    const before = new Set(first.instances.map((i) => i.id));
    await controlRequest(stateDir, "POST", "/scale", { desired: 3 });
    const st1 = await until("the new instance InService", (st) => stable(3)(st));
    const fresh = inService(st1).find((i) => !before.has(i.id));
    const seen = new Set<string>();
    for (let k = 0; k < 12; k++) {
      const res = await fetch(info.loadBalancer);
      await res.arrayBuffer();
      seen.add(res.headers.get("x-app-revision") ?? "?");
    }
    const st1b = await status();
    const f1 = st1b.instances.find((i) => i.id === fresh?.id);
    const gateAt = f1?.gate.openedAt ? Date.parse(f1.gate.openedAt) : undefined;
    const servesNew = f1?.boot.appRevision === rev && [...seen].some((r) => rev.startsWith(r));
    const noEarly =
      f1 !== undefined && gateAt !== undefined && (f1.firstRequestAt ?? Number.POSITIVE_INFINITY) >= gateAt;
    check(
      "new commit + scale-out",
      Boolean(fresh && servesNew && noEarly),
      fresh
        ? `${fresh.id} serves ${rev.slice(0, 7)} through the load balancer (revisions seen: ${[...seen].join(", ")}); ` +
            `its first request came ${f1?.firstRequestAt && gateAt ? `${((f1.firstRequestAt - gateAt) / 1000).toFixed(2)} s after` : "never before"} its gate opened`
        : "no new instance went InService",
    );

    // 2. git down: fail closed, ABANDON, replacement
    display.say();
    display.say(
      s.green("== promise 2: with the git server down, a new instance never gets a request and is replaced"),
    );
    await controlRequest(stateDir, "POST", "/fault", { kind: "git-down" });
    display.say("  git server down; scaling out to 4");
    const before2 = new Set((await status()).instances.map((i) => i.id));
    await controlRequest(stateDir, "POST", "/scale", { desired: 4 });
    const abandonedBy = (i: InstanceStatus) =>
      !before2.has(i.id) && i.state === "Terminated" && /ABANDON/.test(i.cause ?? "");
    const st2 = await until("the new instance to be abandoned", (st) => st.instances.some(abandonedBy));
    const abandoned = st2.instances.find(abandonedBy) as InstanceStatus;
    await controlRequest(stateDir, "POST", "/fault", { kind: "git-up" });
    display.say(
      `  ${abandoned.id} gave up at ${abandoned.boot.failedStage} after ${abandoned.boot.attempts} attempts; git server back up`,
    );
    const st2b = await until("a replacement InService", stable(4), 60_000);
    const replacement = inService(st2b).find((i) => !before2.has(i.id));
    const ab = st2b.instances.find((i) => i.id === abandoned.id)!;
    check(
      "fail closed",
      ab.requests === 0 && ab.boot.lifecycle?.result === "ABANDON" && replacement !== undefined,
      `${ab.id}: 0 requests, lifecycle ABANDON, ${ab.state}; replacement ${replacement?.id ?? "(none)"} InService once git was back`,
    );

    // 3. steady traffic while instances come and go; 4. the scale-in drains and departs
    display.say();
    display.say(s.green("== promise 3: steady traffic while instances come and go: no failed request"));
    const loop = startTraffic(info.loadBalancer, { clients: 4, maxRequests: 20_000 });
    display.say("  4 clients send requests; scaling out to 5, then in to 2 (the oldest drain first)");
    await controlRequest(stateDir, "POST", "/scale", { desired: 5 });
    const st3 = await until("scale-out to 5", stable(5), 60_000);
    const leaving = new Set(inService(st3).map((i) => i.id));
    await controlRequest(stateDir, "POST", "/scale", { desired: 2 });
    const st3b = await until("scale-in to 2", stable(2), 60_000);
    for (const i of inService(st3b)) leaving.delete(i.id);
    const traffic = await loop.stop();
    check(
      "zero errors",
      traffic.failed === 0 && traffic.requests > 0,
      `${traffic.requests} requests, ${traffic.failed} failed${traffic.failures.length ? ` (${traffic.failures.join("; ")})` : ""}, while 1 instance came in and ${leaving.size} drained out`,
    );
    display.say();
    display.say(
      s.green(
        "== promise 4: a scale-in departs cleanly: muster watch drains, runs the shutdown run list, completes the terminate hook",
      ),
    );
    const departures = departuresOf(
      st3b.instances.filter((i) => leaving.has(i.id)),
      await allEvents(stateDir),
    );
    const departedOk = departures.length > 0 && departures.every((d) => d.departed && d.continued);
    check(
      "drained departure",
      departedOk && traffic.failed === 0,
      `${departures.filter((d) => d.departed).length} of ${departures.length} departed instances wrote var/log/app/departed (shutdown run list) and ` +
        `${departures.filter((d) => d.continued).length} completed the terminate hook with CONTINUE; ${traffic.failed} failed requests during the scale-in`,
    );

    // 5. a config change as an instance refresh with a checkpoint
    display.say();
    display.say(
      s.green(
        "== promise 5: a config change rolls out as an instance refresh with a checkpoint, no failed request",
      ),
    );
    const configGit = path.join(stateDir, "repos/config.git");
    const previous = (await status()).group.launchTemplate.commit;
    const good = await commitTo(
      configGit,
      { "roles/base.yaml": releasedBase(path.join(pkg, "examples/config-repo/roles/base.yaml")) },
      "release 2 of the config: a new message of the day",
    );
    display.say(
      `  committed a new motd to the config repo: ${good.slice(0, 7)}; refresh: 50% healthy, warmup 0.5 s, checkpoints 50,100 (1 s)`,
    );
    const loop5 = startTraffic(info.loadBalancer, { clients: 2, maxRequests: 20_000 });
    const r5 = await controlRequest<{ id: string }>(stateDir, "POST", "/refresh", {
      ref: good,
      preferences: {
        minHealthyPercentage: 50,
        instanceWarmupMs: 500,
        checkpointPercentages: [50, 100],
        checkpointDelayMs: 1000,
      },
    });
    const end5 = await until("the refresh to end", refreshEnded(r5.id), 90_000);
    const st5 = await until("two instances InService", stable(2), 30_000);
    const traffic5 = await loop5.stop();
    const onGood = inService(st5).filter((i) => i.boot.configRevision === good);
    const checkpoint = (await allEvents(stateDir)).some((e) => /Checkpoint 1 of 2 reached/.test(e.message));
    check(
      "instance refresh",
      end5.instanceRefresh?.status === "Successful" &&
        onGood.length === 2 &&
        checkpoint &&
        traffic5.failed === 0 &&
        traffic5.requests > 0,
      `refresh ${end5.instanceRefresh?.status}${checkpoint ? " after pausing at its 50% checkpoint" : " (no checkpoint seen)"}: ` +
        `${onGood.length} of ${inService(st5).length} instances on ${good.slice(0, 7)} (was ${previous?.slice(0, 7) ?? "?"}); ` +
        `${traffic5.requests} requests, ${traffic5.failed} failed${traffic5.failures.length ? ` (${traffic5.failures.join("; ")})` : ""}`,
    );

    // 6. a bad config change rolled back by itself
    display.say();
    display.say(
      s.green("== promise 6: a config change that breaks the role is rolled back by itself (AutoRollback)"),
    );
    const bad = await commitTo(
      configGit,
      { "roles/web.json": `${JSON.stringify({ name: "web", run_list: ["recipe[no-such-recipe]"] })}\n` },
      "a broken role: its run list names a recipe that does not exist",
    );
    display.say(`  committed a broken web role: ${bad.slice(0, 7)}; refresh with AutoRollback`);
    const loop6 = startTraffic(info.loadBalancer, { clients: 2, maxRequests: 20_000 });
    const r6 = await controlRequest<{ id: string }>(stateDir, "POST", "/refresh", {
      ref: bad,
      preferences: { minHealthyPercentage: 50, instanceWarmupMs: 500, autoRollback: true },
    });
    // an instance the rollback took out before its boot ended may still sit in Terminating:Wait
    // until its terminate hook times out: the promise is about the ones in service, so no wait for it
    const st6 = await until(
      "the rollback to end with two instances on the previous commit",
      (st) =>
        refreshEnded(r6.id)(st) &&
        inService(st).length === 2 &&
        inService(st).every((i) => i.boot.configRevision === good),
      90_000,
    );
    const traffic6 = await loop6.stop();
    const end6 = st6.instanceRefresh;
    const onBad = st6.instances.filter((i) => i.boot.configRevision === bad);
    const badServed = onBad.filter((i) => i.inServiceAt !== undefined || i.gate.openedAt || i.requests > 0);
    const backOnGood = inService(st6).filter((i) => i.boot.configRevision === good);
    check(
      "auto rollback",
      end6?.id === r6.id &&
        end6.status === "RollbackSuccessful" &&
        st6.group.launchTemplate.commit === good &&
        backOnGood.length === 2 &&
        onBad.length > 0 &&
        badServed.length === 0 &&
        traffic6.failed === 0,
      `refresh ${end6?.status}: ${onBad.length} instance${onBad.length === 1 ? "" : "s"} tried ${bad.slice(0, 7)} and ${badServed.length} went in service; ` +
        `${backOnGood.length} of ${inService(st6).length} instances on ${good.slice(0, 7)}, the previous commit; ` +
        `${traffic6.requests} requests, ${traffic6.failed} failed${traffic6.failures.length ? ` (${traffic6.failures.join("; ")})` : ""}`,
    );
    code = results.every((r) => r.ok) ? 0 : 1;
  } catch (err) {
    display.say(s.red(`muster demo: ${errorMessage(err)}`));
    code = 1;
  } finally {
    polling = false;
    await poller;
    try {
      last = await status();
      display.update(statusLines(last, { style: s, history: 3 }));
    } catch {}
    display.settle();
  }

  out();
  out(
    `${code === 0 ? s.green("demo finished") : s.red("demo FAILED")} in ${((Date.now() - started) / 1000).toFixed(1)} s:`,
  );
  for (const r of results) out(`  ${r.ok ? s.green("✓") : s.red("✗")} ${r.title}`);
  if (opts.keep) {
    out(`the fleet keeps running: load balancer ${last?.loadBalancer.url ?? "?"}`);
    out(`  muster fleet status --state-dir ${stateDir}`);
    out(`  muster fleet down --state-dir ${stateDir}`);
    return code;
  }
  const down = await stopFleet(stateDir);
  out(
    down.left.length === 0
      ? `stopped: ${down.started.length} processes were started, none is left (checked by pid)`
      : s.red(
          `stopped, but ${down.left.length} processes had to be killed: ${down.left.map((p) => p.pid).join(", ")}`,
        ),
  );
  rmSync(stateDir, { recursive: true, force: true });
  return down.left.length === 0 ? code : 1;
}

const ACTIVE_REFRESH = ["Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"];

/** Every event the fleet still holds, oldest first. */
async function allEvents(stateDir: string): Promise<FleetEvent[]> {
  return (await controlRequest<{ events: FleetEvent[] }>(stateDir, "GET", "/events?after=0")).events;
}

/**
 * How each departed instance left: its shutdown run list wrote var/log/app/departed under its
 * root (the example web role's departure recipe), and its terminate hook was completed with
 * CONTINUE (the hook's default result is ABANDON, so only `muster watch` sends CONTINUE).
 */
export function departuresOf(
  gone: InstanceStatus[],
  events: FleetEvent[],
  read: (file: string) => string | undefined = readIfThere,
): { id: string; departed: boolean; continued: boolean }[] {
  return gone.map((i) => ({
    id: i.id,
    departed: read(path.join(i.root, "var/log/app/departed"))?.startsWith(`${i.id} departed`) === true,
    continued: events.some(
      (e) =>
        e.instanceId === i.id &&
        e.from === "Terminating:Wait" &&
        /lifecycle action completed: CONTINUE/.test(e.message),
    ),
  }));
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The example's roles/base.yaml with a new message of the day: a harmless config change. */
function releasedBase(file: string): string {
  const text = readFileSync(file, "utf8");
  const changed = text.replace(
    /^(\s*motd:).*$/m,
    '$1 "This server is managed by muster (config release 2)."',
  );
  if (changed === text) throw new Error(`${file}: no motd attribute to change`);
  return changed;
}

/** At most `cols` visible characters of a line with ANSI colour codes (codes kept, colour reset). */
export function cut(line: string, cols: number): string {
  let visible = 0;
  let outText = "";
  for (let i = 0; i < line.length; i++) {
    const m = /^\x1b\[[0-9;]*m/.exec(line.slice(i));
    if (m) {
      outText += m[0];
      i += m[0].length - 1;
      continue;
    }
    if (visible >= cols) return `${outText}\x1b[0m`;
    outText += line[i];
    visible++;
  }
  return outText;
}

function out(line = ""): void {
  process.stdout.write(`${line}\n`);
}
