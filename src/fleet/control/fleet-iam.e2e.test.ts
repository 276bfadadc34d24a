/**
 * Permissions as on AWS, in a real fleet: the instances' role (fleet.yaml instances.iamRole)
 * may send heartbeats but not CompleteLifecycleAction. Each boot converges and opens its gate,
 * but its CONTINUE is refused with AccessDenied; the hook's heartbeat timeout then applies the
 * default result (ABANDON) and the group replaces the instance. The boot's record, `muster
 * status` and `fleet status` all name AccessDenied.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanupTmp } from "../../test-support/tmp.ts";
import { FleetController } from "./controller.ts";
import { shutdownLeftovers, testFleetConfig, until } from "./fleet-testing.ts";
import { statusLines } from "./status-table.ts";

let c: FleetController | undefined;

afterAll(async () => {
  try {
    if (c) expect(await shutdownLeftovers(c)).toEqual({ reported: [], started: [], found: [] });
  } finally {
    cleanupTmp();
  }
}, 60_000);

describe("an instance role without CompleteLifecycleAction", () => {
  it("times the hook out, applies ABANDON, replaces the instance, and says AccessDenied", async () => {
    const cfg = testFleetConfig(7, {
      group: { desired: 1, launchHook: { name: "launch", heartbeatTimeout: 6, defaultResult: "ABANDON" } },
      instances: {
        iamRole: {
          name: "heartbeat-only",
          policy: {
            Version: "2012-10-17",
            Statement: [
              { Effect: "Allow", Action: "autoscaling:RecordLifecycleActionHeartbeat", Resource: "*" },
            ],
          },
        },
      },
    });
    c = await FleetController.start(cfg, { musterBin: BIN });
    const first = (await until("the first instance", () => c!.status().instances[0]))!.id;
    const failed = await until(
      "the first boot's refused CONTINUE",
      () => {
        const i = c!.status().instances.find((x) => x.id === first);
        // the boot's process has ended too: the status line shows a finished boot's lifecycle
        return i?.boot.lifecycle && !i.boot.lifecycle.ok && !i.boot.running ? i : undefined;
      },
      90_000,
    );
    expect(failed.boot.lifecycle).toMatchObject({ result: "CONTINUE", ok: false });
    expect(failed.boot.lifecycle?.error).toContain("AccessDenied");
    expect(failed.boot.lifecycle?.error).toContain(
      `assumed-role/heartbeat-only/${first} is not authorized to perform: autoscaling:CompleteLifecycleAction`,
    );
    expect(statusLines(c.status(), {}).join("\n")).toMatch(/CONTINUE NOT sent \(AccessDenied\)/);
    const status = spawnSync(
      process.execPath,
      [BIN, "status", "--root", path.join(cfg.stateDir, "instances", first, "root")],
      { encoding: "utf8" },
    ).stdout;
    expect(status).toContain("AccessDenied");
    // the hook's timeout decides: ABANDON, and a new instance replaces it
    await until(
      "ABANDON by the heartbeat timeout and a replacement",
      () => c!.status().instances.some((i) => i.id !== first),
      60_000,
    );
    const events = c.eventsAfter(0).map((e) => `${e.instanceId ?? ""} ${e.message}`);
    expect(events.some((e) => e.startsWith(first) && /ABANDON/.test(e) && /timeout/.test(e))).toBe(true);
    expect(events.some((e) => e.startsWith(first) && e.includes("AccessDenied"))).toBe(true);
    expect(events.some((e) => /CompleteLifecycleAction CONTINUE \(hook/.test(e))).toBe(false);
  }, 180_000);
});
