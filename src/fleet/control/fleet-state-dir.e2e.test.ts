/**
 * The fleet's state directory against another local user (muster runs as root): one they made
 * first open to all, or own, is refused by every fleet command (exit 2, one line, nothing started
 * or written), and links they put in place of the event log and the pid list of a running fleet
 * never have a file outside rewritten or appended to.
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { BIN, cleanupTmp, muster, tmpDir } from "../../test-support/tmp.ts";
import { FleetController } from "./controller.ts";
import { testFleetConfig, testFleetYaml, until } from "./fleet-testing.ts";
import { FLEET_FILES } from "./state-dir.ts";

const isRoot = process.geteuid?.() === 0;
let c: FleetController | undefined;
afterEach(async () => {
  if (c) await c.shutdown();
  c = undefined;
  cleanupTmp();
}, 60_000);

type Prepared = "open" | "theirs" | "open-parent" | "theirs-above";

/**
 * A state directory another user prepared, and a fleet.yaml naming it. "theirs-above": in a
 * directory of root's, in one another user owns (who could rename the one between away).
 */
function prepared(how: Prepared): { file: string; stateDir: string } {
  const dir = tmpDir("muster-fleet-statedir-");
  const stateDir = path.join(dir, "x/state");
  const file = path.join(dir, "fleet.yaml");
  writeFileSync(file, YAML.stringify({ ...testFleetYaml(8), stateDir: "x/state" }));
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(path.dirname(stateDir), 0o755);
  if (how === "open") chmodSync(stateDir, 0o777);
  else if (how === "open-parent") chmodSync(path.dirname(stateDir), 0o777);
  else if (how === "theirs-above") chownSync(dir, 65534, 65534);
  else chownSync(stateDir, 65534, 65534);
  return { file, stateDir };
}

async function refusedEverywhere(how: Prepared, why: RegExp): Promise<void> {
  const { file, stateDir } = prepared(how);
  for (const args of [
    ["fleet", "up", "--config", file],
    ["fleet", "scale", "3", "--state-dir", stateDir],
    ["fleet", "down", "--state-dir", stateDir],
    ["fleet", "status", "--config", file],
  ]) {
    const r = await muster(args, { timeoutMs: 30_000 });
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^muster: state directory ${stateDir}: ${why.source}`));
    expect(readdirSync(stateDir)).toEqual([]); // nothing written, no daemon log, no socket
  }
}

describe("a state directory another user prepared", () => {
  it("one open to all (mode 777) is refused by up, scale, down and status: exit 2, one line, nothing written", async () => {
    await refusedEverywhere("open", /is writable by its group \(mode 777\); /);
  }, 120_000);

  it("one in a directory open to all (mode 777, not sticky) is refused the same way: its parent's writers could swap it", async () => {
    await refusedEverywhere(
      "open-parent",
      /\S+\/x, above it, is writable by its group and not sticky \(mode 777\), /,
    );
  }, 120_000);

  it.runIf(isRoot)(
    "one two levels below a directory another user owns (as root: chown to nobody) is refused the same way",
    async () => {
      await refusedEverywhere(
        "theirs-above",
        /\S+, above it, is owned by uid 65534, neither this user \(uid 0\) nor root, /,
      );
    },
    120_000,
  );

  it.runIf(isRoot)(
    "one another user owns (as root: chown to nobody) is refused the same way",
    async () => {
      await refusedEverywhere("theirs", /is owned by uid 65534, not by this user \(uid 0\); /);
    },
    120_000,
  );
});

describe("links put in place of a running fleet's files", () => {
  it("events.jsonl and pids.json as links to a file outside: a scale-out never writes through them", async () => {
    const cfg = testFleetConfig(8, { group: { min: 0, desired: 0, max: 1 } });
    c = await FleetController.start(cfg, { musterBin: BIN });
    const pids = path.join(cfg.stateDir, FLEET_FILES.pids);
    const events = path.join(cfg.stateDir, FLEET_FILES.events);
    await until("pids.json written", () => lstatSync(pids, { throwIfNoEntry: false })?.isFile());
    const victim = path.join(tmpDir("muster-victim-"), "shadow");
    writeFileSync(victim, "root:x:0:0\n", { mode: 0o600 });
    for (const f of [pids, events]) {
      rmSync(f);
      symlinkSync(victim, f);
    }
    const ctl = c;
    ctl.scale(1); // an event, and an instance whose processes are recorded in pids.json
    await until("the instance's processes recorded", () => ctl.startedProcesses().length > 1, 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // pids.json is saved 200 ms after a change
    expect(readFileSync(victim, "utf8")).toBe("root:x:0:0\n");
    // the pid list is rewritten in the link's place; the event log is not written through the link
    expect(lstatSync(pids).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(pids, "utf8")).length).toBeGreaterThan(1);
    expect(lstatSync(events).isSymbolicLink()).toBe(true);
    // the events it could not write are not lost in silence: one error says so, once
    const unwritten = ctl.eventsAfter(0).filter((e) => e.kind === "error" && e.message.includes("event log"));
    expect(unwritten.map((e) => e.message)).toEqual([
      `the event log ${events} cannot be written (a symbolic link is in its place); events are kept in memory only`,
    ]);
    expect(ctl.eventsAfter(unwritten[0]!.seq).length).toBeGreaterThan(0); // later events, no second one
  }, 120_000);
});
